"""Which system owns a failed step: the one the error came from, as the connector kit marked it."""

from __future__ import annotations

from apis.process.steps import owner_of
from core.errors import NotFound, UpstreamUnavailable


def test_the_owner_is_the_errors_system_not_a_vendor_named_in_its_text() -> None:
    from_product = NotFound("No SKU STRATA-TELEPORTER")  # a vendor's own words name no vendor
    from_product.system = "product-platform"
    assert owner_of(from_product, "salesforce") == "product-platform"
    # Text naming a vendor proves nothing: every connector error is marked, so an unmarked one
    # was raised above the connectors, by the step's own system API.
    unmarked = UpstreamUnavailable("Stripe answered 503")
    assert owner_of(unmarked, "netsuite") == "netsuite"
    assert owner_of(ValueError("Salesforce"), None) is None

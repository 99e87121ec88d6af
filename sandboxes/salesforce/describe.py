"""``GET /services/data/vXX.X/sobjects/<Type>/describe``: the org's metadata of one sObject.

The answer is a subset of Salesforce's DescribeSObjectResult: ``name``, ``label``, ``custom``,
``keyPrefix``, ``createable``, ``updateable``, ``queryable`` and ``fields`` — each field with
``name``, ``label``, ``type``, ``custom``, ``externalId``, ``nillable``, ``createable``,
``updateable``, ``restrictedPicklist`` and ``picklistValues`` (``active``, ``defaultValue``,
``label``, ``validFor``, ``value``). Field labels are the API names without ``__c`` and
underscores (guessed: the org's real labels are set by its administrator).

The control API can take a field away from the org (``DELETE /_control/fields/<Type>/<Field>``),
as an org that never had it: ``CurrencyIsoCode`` gone is an org without multi-currency,
``BillingCountryCode`` gone one without state and country picklists. Describe leaves it out, and
a query naming it, a write setting it or a read asking for it fails with ``INVALID_FIELD`` as in
such an org (for a query: the field's name anywhere in a query whose FROM names its object, an
approximation of Salesforce's parser).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sandboxes.salesforce.schema import BOOLEAN, PICKLIST, READ_ONLY, SfError, SObject, get_sobject

STANDARD_PICKLIST_VALUES: dict[str, tuple[str, ...]] = {
    "BillingCountryCode": ("US", "DE", "GB", "FR", "CH", "NL", "AT", "IE", "CA", "AU"),
}
"""Values of standard picklists the seed uses (the real org lists every ISO country)."""


def _label(name: str) -> str:
    return name.removesuffix("__c").replace("_", " ")


def describe_field(sobject: SObject, name: str, kind: str) -> dict[str, Any]:
    """One field as describe shows it."""
    values = sobject.restricted_picklists.get(name) or STANDARD_PICKLIST_VALUES.get(name, ())
    writable = name not in READ_ONLY
    return {
        "name": name,
        "label": _label(name),
        "type": kind,
        "custom": name.endswith("__c"),
        "externalId": name in sobject.external_ids,
        "nillable": name not in sobject.required and kind != BOOLEAN and name != "Id",
        "createable": writable,
        "updateable": writable,
        "restrictedPicklist": name in sobject.restricted_picklists,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": value, "validFor": None, "value": value}
            for value in (values if kind == PICKLIST else ())
        ],
    }


def describe(sobject_name: str, removed: set[str]) -> dict[str, Any]:
    """The DescribeSObjectResult of ``sobject_name`` without the ``removed`` fields (``Type.Field``)."""
    sobject = get_sobject(sobject_name)
    fields = [
        describe_field(sobject, name, kind)
        for name, kind in sobject.fields.items()
        if f"{sobject.name}.{name}" not in removed
    ]
    return {
        "name": sobject.name,
        "label": sobject.name,
        "custom": False,
        "keyPrefix": sobject.key_prefix,
        "createable": True,
        "updateable": True,
        "queryable": True,
        "fields": fields,
    }


def remove_field(sobject_name: str, field_name: str, removed: set[str]) -> None:
    """Take a field away from the org's describe (404 for a field the org never had)."""
    sobject = get_sobject(sobject_name)
    canonical = sobject.canonical_field(field_name)
    if canonical is None:
        raise SfError(404, "NOT_FOUND", f"No field {field_name} on {sobject.name}")
    removed.add(f"{sobject.name}.{canonical}")


def refuse_removed_in_query(soql: str, removed: set[str]) -> None:
    """``INVALID_FIELD`` when the query names a field the org lacks."""
    for qualified in sorted(removed):
        sobject, field = qualified.split(".", 1)
        if re.search(rf"\bFROM\s+{sobject}\b", soql, re.IGNORECASE) and re.search(rf"\b{field}\b", soql, re.IGNORECASE):
            raise SfError(
                400,
                "INVALID_FIELD",
                f"No such column '{field}' on entity '{sobject}'. If you are attempting to use a custom field, be "
                "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )


def refuse_removed_fields(sobject_name: str, names: Iterable[str], removed: set[str]) -> None:
    """``INVALID_FIELD`` when a write or a ``?fields=`` read names a field the org lacks."""
    sobject = get_sobject(sobject_name)
    for name in names:
        canonical = sobject.canonical_field(name) or name
        if f"{sobject.name}.{canonical}" in removed:
            raise SfError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject.name}", fields=[name]
            )

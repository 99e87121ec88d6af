"""Personal data through the portals, from the attacker's side: neither a composed overview nor its cache holds any.

The customer-portal overview is composed from the CRM account (whose tax id and billing address
are personal data) and the billing objects, and cached per customer. A portal caller — bound
or not, without any ``pii`` scope — reads it fresh and from the cache; neither answer carries
a personal value of the account or of its contacts. The experience contracts mark no response
field, so what the portals answer is personal-data-free by contract, not by masking.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import PROJECT_ROOT
from gateway.contracts.loader import bundle, dereference
from policies.pii import response_plans
from tests.apis.experience.conftest import PORTAL, Portal

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _personal_values(account: object, contacts: list[object]) -> set[str]:
    values: set[str] = set()
    tax_id = getattr(account, "tax_id", None)
    if tax_id:
        values.add(tax_id)
    address = getattr(account, "billing_address", None)
    for name in ("line1", "line2", "city", "postal_code"):
        value = getattr(address, name, None) if address is not None else None
        if value:
            values.add(value)
    for contact in contacts:
        for name in ("email", "phone", "last_name"):
            value = getattr(contact, name, None)
            if value and len(value) > 3:
                values.add(value)
    return values


async def test_the_overview_and_its_cached_copy_hold_no_personal_value(portal: Portal) -> None:
    gw, customer = portal.gw, portal.a
    crm = gw.app.state.crm
    account = await crm.get_account(customer.crm_account_id)
    contacts = (await crm.list_contacts(account_id=customer.crm_account_id, limit=50)).items
    secrets = _personal_values(account, contacts)
    assert secrets, "the seeded account should hold personal data for this test to mean anything"
    url = f"{PORTAL}/customers/{customer.crm_account_id}/overview"
    for headers in (portal.reader, await portal.bound(customer)):
        for _ in range(2):  # the second read comes from the cache
            response = await gw.client.get(url, headers=headers)
            assert response.status_code == 200, response.text
            leaked = {value for value in secrets if value in response.text}
            assert not leaked


@pytest.mark.parametrize("api", ["customer-portal", "partner-portal"])
async def test_the_portal_contracts_return_no_marked_field(api: str) -> None:
    document = dereference(bundle(Path(PROJECT_ROOT) / "contracts" / "experience" / api / "v1.yaml"))
    returning = [
        f"{method.upper()} {path}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and response_plans(operation)
    ]
    assert returning == []

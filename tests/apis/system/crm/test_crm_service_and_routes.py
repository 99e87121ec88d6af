"""CrmService over the sandbox, and the /system/crm/v1 routes in a minimal Litestar app."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Request, Response
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from apis.canonical import BillingStatusPatch, CustomerUpsert
from apis.system.crm.routes import router
from apis.system.crm.service import CrmService, build_crm_service
from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.paging import CURSOR_CODEC_OPT
from core.cursors import CursorCodec, InvalidCursor
from core.errors import NotFound, StrataError
from gateway.sandbox_credentials import with_sandbox_credentials
from gateway.settings import load_settings
from gateway.vendors import VendorLinks
from sandboxes.salesforce import SalesforceSandbox

PREFIX = "/system/crm/v1"


async def test_list_accounts_pages_through_everything(sandbox: SalesforceSandbox, service: CrmService) -> None:
    seen, cursor = [], None
    while True:
        page = await service.list_accounts(limit=20, position=cursor)
        seen.extend(customer.id for customer in page.items)
        cursor = page.next_position
        if cursor is None:
            break
    assert seen == sorted(sandbox.store.records["Account"]) and len(seen) == len(set(seen))


async def test_account_filters_and_mapping(sandbox: SalesforceSandbox, service: CrmService) -> None:
    child = next(a for a in sandbox.store.all("Account") if a["ParentId"])
    children = await service.list_accounts(parent_id=child["ParentId"], limit=200)
    assert child["Id"] in {c.id for c in children.items}
    assert all(c.parent_id == child["ParentId"] for c in children.items)
    by_name = await service.list_accounts(name_prefix=child["Name"][:4].lower())
    assert child["Id"] in {c.id for c in by_name.items}
    assert (await service.list_accounts(updated_since=dt.datetime(2100, 1, 1, tzinfo=dt.UTC))).items == []
    customer = await service.get_account(child["Id"])
    assert customer.domain and "://" not in customer.domain and not customer.domain.startswith("www.")
    assert customer.billing_address is not None and customer.billing_address.country == child["BillingCountryCode"]
    assert customer.created_at.tzinfo is not None
    with pytest.raises(NotFound):
        await service.get_account("not-an-id")
    with pytest.raises(InvalidCursor):
        await service.list_accounts(position="garbage!")


async def test_upsert_account_created_then_updated(sandbox: SalesforceSandbox, service: CrmService) -> None:
    upsert = CustomerUpsert(name="Umbrella GmbH", domain="umbrella.de", currency="EUR", billing_status="active")
    created, was_created = await service.upsert_account_by_external_id("cus_01JUMBRELLA", upsert)
    assert was_created and created.external_id == "cus_01JUMBRELLA" and created.domain == "umbrella.de"
    updated, was_created = await service.upsert_account_by_external_id(
        "cus_01JUMBRELLA", CustomerUpsert(name="Umbrella AG")
    )
    assert not was_created and updated.id == created.id and updated.name == "Umbrella AG"
    assert sandbox.faults.requests["POST /services/data/v62.0/composite"] == 2


async def test_opportunities_with_lines_and_billing_write_back(sandbox: SalesforceSandbox, service: CrmService) -> None:
    won = await service.list_opportunities(stage="closed_won", limit=5)
    assert won.items and all(o.stage == "closed_won" and o.lines is None for o in won.items)
    opportunity = await service.get_opportunity(won.items[0].id)
    assert opportunity.lines and opportunity.amount is not None
    total = sum(line.total.decimal() for line in opportunity.lines)
    assert total == opportunity.amount.decimal()
    assert all(line.unit_price.currency == opportunity.amount.currency for line in opportunity.lines)
    patched = await service.patch_opportunity_billing_status(
        opportunity.id, BillingStatusPatch(billing_status="invoiced", invoice_number="INV-0001")
    )
    assert patched.billing_status == "invoiced" and patched.invoice_number == "INV-0001" and patched.lines
    account_id = opportunity.account_id
    assert account_id is not None
    mine = await service.list_opportunities(account_id=account_id, limit=200)
    assert opportunity.id in {o.id for o in mine.items}
    with pytest.raises(NotFound):
        await service.get_opportunity("006Qy0000000000AAA")
    with pytest.raises(NotFound):
        await service.patch_opportunity_billing_status("006Qy0000000000AAA", BillingStatusPatch(billing_status="paid"))


async def test_contacts(sandbox: SalesforceSandbox, service: CrmService) -> None:
    account_id = sandbox.store.all("Contact")[0]["AccountId"]
    contacts = await service.list_contacts(account_id=account_id)
    assert contacts.items and all(c.account_id == account_id for c in contacts.items)
    assert (await service.get_contact(contacts.items[0].id)).email == contacts.items[0].email


async def test_build_crm_service_uses_the_sandbox_under_the_state_dir(tmp_path: Path) -> None:
    # As the composition root does: the sandbox's credentials (random per state) fill the settings.
    settings = with_sandbox_credentials(load_settings({"state_dir": str(tmp_path)}, environ={}))
    links = VendorLinks(settings, sandbox_apps={}, breaker=CircuitBreaker, tracer=None)
    service = build_crm_service(await links.link("salesforce"))
    try:
        page = await service.list_accounts(limit=1)
        assert len(page.items) == 1
    finally:
        await service.aclose()
    assert (tmp_path / "sandboxes" / "salesforce" / "salesforce.json").exists()


# -- routes ------------------------------------------------------------------------------------
def _strata_error(_: Request[Any, Any, Any], error: StrataError) -> Response[dict[str, Any]]:
    """Stand-in for the lead's problem+json handler: the status is all these tests look at."""
    return Response({"title": error.title, "detail": error.detail}, status_code=error.status)


@pytest.fixture
async def api(service: CrmService) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = Litestar(
        route_handlers=[router],
        exception_handlers={StrataError: _strata_error},
        dependencies={"crm": Provide(lambda: service, sync_to_thread=False)},
        opt={CURSOR_CODEC_OPT: CursorCodec("a-test-master-key-of-32-characters")},
    )
    async with AsyncTestClient(app) as client:
        yield client


async def test_routes_happy_paths(api: AsyncTestClient[Litestar]) -> None:
    accounts = await api.get(f"{PREFIX}/accounts", params={"limit": 2})
    assert accounts.status_code == 200 and len(accounts.json()["items"]) == 2
    assert accounts.headers["link"].endswith('rel="next"') and "cursor=" in accounts.headers["link"]
    following = await api.get(accounts.headers["link"].split(">")[0].lstrip("<"))
    assert following.status_code == 200
    assert following.json()["items"][0]["id"] > accounts.json()["items"][1]["id"]
    account_id = accounts.json()["items"][0]["id"]
    assert (await api.get(f"{PREFIX}/accounts/{account_id}")).json()["id"] == account_id

    created = await api.put(f"{PREFIX}/accounts/by-external-id/cus_01JROUTE", json={"name": "Route Co"})
    assert created.status_code == 201 and created.headers["location"].endswith(created.json()["id"])
    again = await api.put(f"{PREFIX}/accounts/by-external-id/cus_01JROUTE", json={"name": "Route Co 2"})
    assert again.status_code == 200 and again.json()["name"] == "Route Co 2"

    contacts = await api.get(f"{PREFIX}/contacts", params={"account_id": account_id})
    assert contacts.status_code == 200 and contacts.json()["next_cursor"] is None
    contact_id = contacts.json()["items"][0]["id"]
    assert (await api.get(f"{PREFIX}/contacts/{contact_id}")).status_code == 200

    opportunities = await api.get(
        f"{PREFIX}/opportunities", params={"stage": "closed_won", "modified_since": "2020-01-01T00:00:00Z"}
    )
    assert opportunities.status_code == 200
    opportunity_id = opportunities.json()["items"][0]["id"]
    detail = await api.get(f"{PREFIX}/opportunities/{opportunity_id}")
    assert detail.status_code == 200 and detail.json()["lines"]
    patched = await api.patch(
        f"{PREFIX}/opportunities/{opportunity_id}/billing-status", json={"billing_status": "paid"}
    )
    assert patched.status_code == 200 and patched.json()["billing_status"] == "paid"


async def test_routes_unhappy_paths(api: AsyncTestClient[Litestar]) -> None:
    assert (await api.get(f"{PREFIX}/accounts/001Qy0000000000AAA")).status_code == 404
    assert (await api.get(f"{PREFIX}/contacts/nope")).status_code == 404
    assert (await api.get(f"{PREFIX}/opportunities/006Qy0000000000AAA")).status_code == 404
    missing = await api.patch(
        f"{PREFIX}/opportunities/006Qy0000000000AAA/billing-status", json={"billing_status": "paid"}
    )
    assert missing.status_code == 404
    unknown_field = await api.put(f"{PREFIX}/accounts/by-external-id/cus_X", json={"name": "x", "colour": "red"})
    assert unknown_field.status_code == 422
    bad_status = await api.patch(
        f"{PREFIX}/opportunities/006Qy0000000000AAA/billing-status", json={"billing_status": "??"}
    )
    assert bad_status.status_code == 422
    assert (await api.put(f"{PREFIX}/accounts/by-external-id/cus_X", content=b"{")).status_code == 400
    assert (await api.get(f"{PREFIX}/accounts", params={"limit": 0})).status_code == 400
    assert (await api.get(f"{PREFIX}/accounts", params={"cursor": "garbage"})).status_code == 422
    assert (await api.get(f"{PREFIX}/opportunities", params={"stage": "won"})).status_code == 422
    parent_missing = await api.put(
        f"{PREFIX}/accounts/by-external-id/cus_Y", json={"name": "x", "parent_id": "001Qy0000000000AAA"}
    )
    assert parent_missing.status_code == 422

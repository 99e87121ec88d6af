"""Deal registration: created in the CRM attributed to the partner, duplicates refused, idempotent, validated."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import pytest

from sandboxes.faults import FaultRule
from tests.apis.experience.partner_portal.conftest import PORTAL, Portal, domain_of, idempotency
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")


def _registration(domain: str | None = None, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "company_name": "Fabrikam Ltd",
        "company_domain": domain or f"fabrikam-{uuid.uuid4().hex[:10]}.example",
        "amount": {"amount": "48000.00", "currency": "EUR"},
        "close_date": (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=60)).isoformat(),
        "contact": {"first_name": "Ada", "last_name": "Lee", "email": "ada.lee@fabrikam.example", "title": "CFO"},
        "product": "STRATA-CORE",
        "notes": "Wants the ERP connector next year.",
    }
    body.update(changes)
    return body


async def test_a_registered_deal_is_an_attributed_opportunity_on_a_new_attributed_account(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    body = _registration()
    response = await gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(a.headers))
    assert response.status_code == 201, response.text
    deal = response.json()
    assert response.headers["location"] == f"{PORTAL}/deals/{deal['id']}"
    assert deal["status"] == "open" and deal["stage"] == "prospecting"
    assert deal["amount"] == {"amount": "48000.00", "currency": "EUR"}
    assert deal["close_date"] == body["close_date"]
    assert deal["description"] == "Product: STRATA-CORE\n\nWants the ERP connector next year."

    crm = gw.app.state.crm
    opportunity = await crm.get_opportunity(deal["id"])
    assert opportunity.partner_id == a.partner_id
    account = await crm.get_account(str(opportunity.account_id))
    assert account.partner_id == a.partner_id and account.domain == body["company_domain"]
    assert account.name == "Fabrikam Ltd" and account.currency == "EUR"
    assert deal["customer_id"] == account.id
    (contact,) = (await crm.list_contacts(account_id=account.id)).items
    assert (contact.last_name, contact.email, contact.title) == ("Lee", "ada.lee@fabrikam.example", "CFO")

    # The partner now sees the deal and the new customer; the other partner sees neither.
    fetched = await gw.client.get(response.headers["location"], headers=a.headers)
    assert fetched.status_code == 200 and fetched.json() == deal
    customer = await gw.client.get(f"{PORTAL}/customers/{account.id}", headers=a.headers)
    assert customer.status_code == 200
    for path in (f"/deals/{deal['id']}", f"/customers/{account.id}"):
        assert (await gw.client.get(PORTAL + path, headers=portal.b.headers)).status_code == 404


async def test_the_same_key_replays_and_a_second_key_is_refused_as_a_duplicate(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    body = _registration()
    headers = idempotency(a.headers)
    first = await gw.client.post(f"{PORTAL}/deals", json=body, headers=headers)
    again = await gw.client.post(f"{PORTAL}/deals", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    opportunities = [o for o in portal.sandbox_records("Opportunity") if o["Id"] == first.json()["id"]]
    assert len(opportunities) == 1
    # The same key with another body is refused; a new key for the same company is a duplicate.
    reused = await gw.client.post(f"{PORTAL}/deals", json={**body, "notes": "changed"}, headers=headers)
    assert reused.status_code == 422 and problem(reused)["type"].endswith("/idempotency-key-reused")
    duplicate = await gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(a.headers))
    assert duplicate.status_code == 409
    assert problem(duplicate)["existing_deal_id"] == first.json()["id"]


async def test_a_missing_idempotency_key_is_a_problem_naming_the_header(portal: Portal) -> None:
    response = await portal.gw.client.post(f"{PORTAL}/deals", json=_registration(), headers=portal.a.headers)
    assert response.status_code == 400
    body = problem(response)
    assert body["type"].endswith("/idempotency-key-invalid")
    assert [e["name"] for e in body["errors"]] == ["Idempotency-Key"]


async def test_the_partners_own_open_deal_is_named(portal: Portal) -> None:
    a = portal.a
    body = _registration(domain=a.open_deal["domain"].upper())
    response = await portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(a.headers))
    assert response.status_code == 409, response.text
    conflict = problem(response)
    assert conflict["type"].endswith("/deal-already-registered")
    assert conflict["existing_deal_id"] == a.open_deal["id"]
    assert a.open_deal["id"] in conflict["detail"]


async def test_another_partners_open_deal_is_not_named(portal: Portal) -> None:
    a, b = portal.a, portal.b
    before = len(portal.sandbox_records("Opportunity"))
    response = await portal.gw.client.post(
        f"{PORTAL}/deals", json=_registration(domain=b.open_deal["domain"]), headers=idempotency(a.headers)
    )
    assert response.status_code == 409, response.text
    conflict = problem(response)
    assert conflict["type"].endswith("/company-already-registered")
    assert "existing_deal_id" not in conflict
    for secret in (b.partner_id, "contoso", b.open_deal["id"], b.open_deal["account_id"], *b.deal_ids):
        assert secret.lower() not in response.text.lower()
    assert len(portal.sandbox_records("Opportunity")) == before  # nothing was written


async def test_a_direct_open_deal_counts_as_registered(portal: Portal) -> None:
    accounts = {a["Id"]: a for a in portal.sandbox_records("Account")}
    direct = next(
        o
        for o in portal.sandbox_records("Opportunity")
        if not o.get("Partner_Id__c")
        and not o["StageName"].startswith("Closed")
        and not accounts[o["AccountId"]].get("Partner_Id__c")
    )
    domain = domain_of(accounts[direct["AccountId"]])
    response = await portal.gw.client.post(
        f"{PORTAL}/deals", json=_registration(domain=f"www.{domain}"), headers=idempotency(portal.a.headers)
    )
    assert response.status_code == 409
    assert problem(response)["type"].endswith("/company-already-registered")
    assert direct["Id"] not in response.text and direct["AccountId"] not in response.text


async def test_a_deal_on_an_existing_account_without_open_deals_keeps_its_attribution(portal: Portal) -> None:
    opportunities = portal.sandbox_records("Opportunity")
    open_accounts = {o["AccountId"] for o in opportunities if not o["StageName"].startswith("Closed")}
    account = next(
        a for a in portal.sandbox_records("Account") if a["Id"] not in open_accounts and not a.get("Partner_Id__c")
    )
    response = await portal.gw.client.post(
        f"{PORTAL}/deals", json=_registration(domain=domain_of(account)), headers=idempotency(portal.a.headers)
    )
    assert response.status_code == 201, response.text
    deal = response.json()
    assert deal["customer_id"] is None  # the customer is not the partner's
    opportunity = await portal.gw.app.state.crm.get_opportunity(deal["id"])
    assert opportunity.account_id == account["Id"] and opportunity.partner_id == portal.a.partner_id
    assert (await portal.gw.app.state.crm.get_account(account["Id"])).partner_id is None
    hidden = await portal.gw.client.get(f"{PORTAL}/customers/{account['Id']}", headers=portal.a.headers)
    assert hidden.status_code == 404


async def test_concurrent_registrations_of_one_company_make_one_deal(portal: Portal) -> None:
    """Slow CRM writes widen the window between "no open deal" and the write: the domain lease closes it."""
    body = _registration()
    faults = portal.gw.app.state.components.sandbox_apps["salesforce"].faults
    faults.add(FaultRule(kind="latency", latency_seconds=0.2, method="POST", path_prefix="/services/data"))
    try:
        responses = await asyncio.gather(
            portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.a.headers)),
            portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.b.headers)),
            portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.a.headers)),
        )
    finally:
        faults.clear()
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409], [r.text for r in responses]
    accounts = [a for a in portal.sandbox_records("Account") if domain_of(a) == body["company_domain"]]
    assert len(accounts) == 1
    deals = [o for o in portal.sandbox_records("Opportunity") if o["AccountId"] == accounts[0]["Id"]]
    assert len(deals) == 1


def _date(days: int) -> str:
    return (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("changes", "pointer"),
    [
        ({"company_name": ""}, "/company_name"),
        ({"company_domain": "not a domain"}, "/company_domain"),
        ({"company_domain": "www.com"}, "/company_domain"),
        ({"amount": {"amount": "0", "currency": "EUR"}}, "/amount/amount"),
        ({"amount": {"amount": "-5", "currency": "EUR"}}, "/amount/amount"),
        ({"amount": {"amount": "10.00", "currency": "JPY"}}, "/amount/currency"),
        ({"amount": {"amount": 10, "currency": "EUR"}}, "/amount/amount"),
        ({"close_date": _date(-1)}, "/close_date"),
        ({"close_date": _date(366 * 6)}, "/close_date"),
        ({"close_date": "next week"}, "/close_date"),
        ({"contact": {"last_name": "Lee"}}, "/contact"),
        ({"contact": {"last_name": "Lee", "email": "nope"}}, "/contact"),
        ({"notes": "x" * 2001}, "/notes"),
        ({"partner_id": "partner-contoso"}, ""),
    ],
)
async def test_a_wrong_field_is_named(portal: Portal, changes: dict[str, Any], pointer: str) -> None:
    before = len(portal.sandbox_records("Opportunity"))
    response = await portal.gw.client.post(
        f"{PORTAL}/deals", json=_registration(**changes), headers=idempotency(portal.a.headers)
    )
    assert response.status_code == 422, response.text
    pointers = [e.get("pointer", "") for e in problem(response)["errors"]]
    assert any(p.startswith(pointer) for p in pointers), pointers
    if not pointer:  # an unknown member: the problem names it
        assert "partner_id" in response.text
    assert len(portal.sandbox_records("Opportunity")) == before


async def test_a_missing_required_field_is_named(portal: Portal) -> None:
    body = _registration()
    del body["company_domain"]
    response = await portal.gw.client.post(f"{PORTAL}/deals", json=body, headers=idempotency(portal.a.headers))
    assert response.status_code == 422
    assert "company_domain" in response.text

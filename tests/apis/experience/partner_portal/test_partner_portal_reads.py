"""The partner portal's reads: only the caller's customers and deals, partner-facing views, who may call."""

from __future__ import annotations

import pytest

from tests.apis.experience.partner_portal.conftest import PORTAL, READ, WRITE, Portal
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")

CUSTOMER_FIELDS = {"id", "name", "domain", "industry", "country", "currency", "billing_status", "created_at"}


async def test_customers_are_exactly_the_partners_own(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await gw.client.get(f"{PORTAL}/customers", params=params, headers=a.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [c["id"] for c in page["items"]]
        if (cursor := page["next_cursor"]) is None:
            break
        assert 'rel="next"' in response.headers["link"]
    assert seen == a.customer_ids
    assert not set(seen) & set(portal.b.customer_ids)


async def test_a_customer_is_a_partner_facing_view(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    response = await gw.client.get(f"{PORTAL}/customers/{a.customer_id}", headers=a.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == CUSTOMER_FIELDS  # no tax id, address, hierarchy, sync ids or partner id
    account = await gw.app.state.crm.get_account(a.customer_id)
    assert account.tax_id and account.tax_id not in response.text
    assert body["name"] == account.name and body["domain"] == account.domain
    assert account.billing_address is not None and body["country"] == account.billing_address.country


async def test_subscriptions_of_a_customer_come_from_billing(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    response = await gw.client.get(f"{PORTAL}/customers/{a.customer_id}/subscriptions", headers=a.headers)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    billing_customer = await gw.app.state.billing.find_customer_by_crm_account(a.customer_id)
    expected = (await gw.app.state.billing.list_subscriptions(customer_id=billing_customer.id)).items
    assert [s["id"] for s in items] == [s.id for s in expected]
    assert a.subscription_id in [s["id"] for s in items]
    (mine,) = [s for s in items if s["id"] == a.subscription_id]
    assert set(mine["items"][0]) == {"product_id", "quantity", "current_period_start", "current_period_end"}
    assert "price" not in response.text  # prices are not shown to partners
    canceled = await gw.client.get(
        f"{PORTAL}/customers/{a.customer_id}/subscriptions", params={"status": "canceled"}, headers=a.headers
    )
    assert canceled.status_code == 200 and canceled.json()["items"] == []


async def test_deals_are_the_partners_opportunities(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    response = await gw.client.get(f"{PORTAL}/deals", params={"limit": "200"}, headers=a.headers)
    assert response.status_code == 200, response.text
    deals = response.json()["items"]
    seeded = [d["id"] for d in deals if d["id"] in a.deal_ids]
    assert seeded == a.deal_ids  # other tests may have registered more of A's
    assert not {d["id"] for d in deals} & set(portal.b.deal_ids)
    one = await gw.client.get(f"{PORTAL}/deals/{a.open_deal['id']}", headers=a.headers)
    assert one.status_code == 200, one.text
    deal = one.json()
    assert deal["status"] == "open" and deal["customer_id"] == a.open_deal["account_id"]
    records = {r["Id"]: r for r in portal.sandbox_records("Opportunity")}
    statuses = {d["id"]: d["status"] for d in deals}
    for deal_id in a.deal_ids:
        stage = records[deal_id]["StageName"]
        assert statuses[deal_id] == {"Closed Won": "won", "Closed Lost": "lost"}.get(stage, "open")


async def test_an_unbound_client_is_refused_with_a_clear_problem(portal: Portal) -> None:
    unbound = await portal.gw.bearer(f"{READ} {WRITE}", tier="internal")
    response = await portal.gw.client.get(f"{PORTAL}/customers", headers=unbound)
    assert response.status_code == 403
    body = problem(response)
    assert body["type"].endswith("/audience-confined")
    assert "partner" in body["detail"]
    assert (await portal.gw.client.get(f"{PORTAL}/customers")).status_code == 401


async def test_scopes_per_operation(portal: Portal) -> None:
    read_only = await portal.gw.bearer(READ, partner_id=portal.a.partner_id)
    listed = await portal.gw.client.get(f"{PORTAL}/deals", headers=read_only)
    assert listed.status_code == 200
    refused = await portal.gw.client.post(
        f"{PORTAL}/deals", json={}, headers={**read_only, "Idempotency-Key": "scope-test"}
    )
    assert refused.status_code == 403
    assert WRITE in problem(refused)["detail"]
    write_only = await portal.gw.bearer(WRITE, partner_id=portal.a.partner_id)
    response = await portal.gw.client.get(f"{PORTAL}/customers", headers=write_only)
    assert response.status_code == 403 and READ in response.json()["detail"]


async def test_a_partner_token_reaches_no_other_api(portal: Portal) -> None:
    """Audience confinement (policies/authorization.py): scopes of other APIs do not help."""
    headers = await portal.gw.bearer(
        f"{READ} system:crm:read experience:customer-portal:read", partner_id=portal.a.partner_id
    )
    for path in (
        f"/system/crm/v1/accounts/{portal.a.customer_id}",
        "/system/crm/v1/accounts",
        f"/experience/customer-portal/v1/customers/{portal.a.customer_id}/overview",
    ):
        response = await portal.gw.client.get(path, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert problem(response)["type"].endswith("/audience-confined")


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/customers", {"limit": "0"}, "limit"),
        ("/customers", {"limit": "201"}, "limit"),
        ("/customers", {"cursor": "not-a-cursor"}, "cursor"),
        ("/deals", {"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
        ("/customers/{a}/subscriptions", {"status": "lost"}, "status"),
    ],
)
async def test_bad_input_names_the_field(portal: Portal, path: str, params: dict[str, str], field: str) -> None:
    url = PORTAL + path.format(a=portal.a.customer_id)
    response = await portal.gw.client.get(url, params=params, headers=portal.a.headers)
    assert response.status_code == 422, response.text
    assert field in [e.get("name") for e in problem(response)["errors"]]


async def test_a_partners_cursor_serves_no_other_partner_and_no_other_list(portal: Portal) -> None:
    gw, a, b = portal.gw, portal.a, portal.b
    first = await gw.client.get(f"{PORTAL}/customers", params={"limit": "2"}, headers=a.headers)
    cursor = first.json()["next_cursor"]
    assert cursor
    own = await gw.client.get(f"{PORTAL}/customers", params={"limit": "2", "cursor": cursor}, headers=a.headers)
    assert own.status_code == 200 and [c["id"] for c in own.json()["items"]] == a.customer_ids[2:4]
    # The position is an account id, which partner B's list could page from: the cursor is bound
    # to the audience it was issued to, and to its list.
    for headers, path in ((b.headers, "/customers"), (a.headers, "/deals")):
        response = await gw.client.get(f"{PORTAL}{path}", params={"limit": "2", "cursor": cursor}, headers=headers)
        assert response.status_code == 422, (path, response.text)
        assert [e.get("name") for e in problem(response)["errors"]] == ["cursor"]
    # ... and the CRM system API's list of accounts (the one the portal reads) does not take it either.
    crm_reader = await gw.bearer("system:crm:read")
    crm = await gw.client.get("/system/crm/v1/accounts", params={"cursor": cursor}, headers=crm_reader)
    assert crm.status_code == 422, crm.text

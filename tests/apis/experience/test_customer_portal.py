"""The customer portal API: composition, ETag/304, cache, confinement, scopes and bad input."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from apis.canonical import BillingCustomerCreate, EntitlementGrant, SubscriptionCreate, SubscriptionItemInput
from apis.process.xref import XrefStore
from tests.apis.experience.conftest import PORTAL, READ, Portal
from tests.support.harness import running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_overview_is_what_the_system_services_say(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    response = await gw.client.get(f"{PORTAL}/customers/{a.crm_account_id}/overview", headers=portal.reader)
    assert response.status_code == 200, response.text
    body = response.json()

    account = await gw.app.state.crm.get_account(a.crm_account_id)
    assert body["customer_id"] == a.crm_account_id
    assert body["account"]["id"] == account.id
    assert body["account"]["name"] == account.name

    billing = gw.app.state.billing
    subscriptions = (await billing.list_subscriptions(customer_id=a.billing_customer_id)).items
    assert [s["id"] for s in body["subscriptions"]] == [s.id for s in subscriptions if s.status == "active"]
    assert a.subscription_id in [s["id"] for s in body["subscriptions"]]

    open_invoices = (await billing.list_invoices(customer_id=a.billing_customer_id, status="open")).items
    assert [i["id"] for i in body["open_invoices"]] == [i.id for i in open_invoices]
    assert a.invoice_id in [i["id"] for i in body["open_invoices"]]
    due = sum(Decimal(i.amount_remaining.amount) for i in open_invoices)
    assert due > 0
    assert body["balance"] == [{"amount": format(due, "f"), "currency": "USD"}]

    recent = (await billing.list_invoices(customer_id=a.billing_customer_id, limit=5)).items
    assert [i["id"] for i in body["recent_invoices"]] == [i.id for i in recent]
    payments = (await gw.app.state.payments.list_intents(customer_id=a.billing_customer_id, limit=5)).items
    assert [p["id"] for p in body["recent_payments"]] == [p.id for p in payments]

    product = gw.app.state.product
    (product_customer,) = (await product.list_customers(crm_account_id=a.crm_account_id, limit=1, position=None)).items
    entitlements = (
        await product.list_entitlements(product_customer.id, status="active", limit=100, position=None)
    ).items
    assert [e["id"] for e in body["entitlements"]] == [e.id for e in entitlements]


async def test_etag_and_if_none_match(portal: Portal) -> None:
    url = f"{PORTAL}/customers/{portal.a.crm_account_id}/overview"
    first = await portal.gw.client.get(url, headers=portal.reader)
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    again = await portal.gw.client.get(url, headers={**portal.reader, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    other = await portal.gw.client.get(url, headers={**portal.reader, "If-None-Match": '"something-else"'})
    assert other.status_code == 200
    assert other.json() == first.json()
    # B's overview is another representation: another tag, and A's tag does not match it.
    url_b = f"{PORTAL}/customers/{portal.b.crm_account_id}/overview"
    b = await portal.gw.client.get(url_b, headers={**portal.reader, "If-None-Match": etag})
    assert b.status_code == 200
    assert b.headers["etag"] != etag


async def _new_subscription(gw: object, billing_customer_id: str) -> str:
    billing = gw.app.state.billing  # type: ignore[attr-defined]
    (price,) = (await billing.list_prices(lookup_key="STRATA-CRM-CONNECTOR-usd")).items
    created = await billing.create_subscription(
        SubscriptionCreate(customer_id=billing_customer_id, items=[SubscriptionItemInput(price_id=price.id)]),
        key=f"portal-cache-{billing_customer_id}-{id(gw)}",
    )
    return str(created.id)


async def test_cache_reuses_then_expires(portal: Portal, tmp_path: Path) -> None:
    # The module's gateway caches for 300 s: a new subscription is not seen yet.
    gw, a = portal.gw, portal.a
    url = f"{PORTAL}/customers/{a.crm_account_id}/overview"
    before = await gw.client.get(url, headers=portal.reader)
    added = await _new_subscription(gw, a.billing_customer_id)
    cached = await gw.client.get(url, headers=portal.reader)
    assert cached.headers["etag"] == before.headers["etag"]
    assert added not in [s["id"] for s in cached.json()["subscriptions"]]
    assert cached.headers["cache-control"] == "private, max-age=300"

    # A gateway caching for 1 s sees it once the second has passed, with a new ETag.
    async with running_gateway(tmp_path, customer_portal_cache_seconds=1) as short:
        headers = await short.bearer(READ, tier="internal")
        first = await short.client.get(url, headers=headers)
        fresh = await _new_subscription(short, a.billing_customer_id)
        still = await short.client.get(url, headers=headers)
        assert fresh not in [s["id"] for s in still.json()["subscriptions"]]
        await asyncio.sleep(1.1)
        later = await short.client.get(url, headers={**headers, "If-None-Match": first.headers["etag"]})
        assert later.status_code == 200
        assert fresh in [s["id"] for s in later.json()["subscriptions"]]
        assert later.headers["etag"] != first.headers["etag"]


async def test_invoices_are_paged_and_one_invoice_has_lines(portal: Portal) -> None:
    gw, a = portal.gw, portal.a
    url = f"{PORTAL}/customers/{a.crm_account_id}/invoices"
    first = await gw.client.get(url, params={"limit": 1}, headers=portal.reader)
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 1
    expected = (await gw.app.state.billing.list_invoices(customer_id=a.billing_customer_id, limit=100)).items
    seen = [i["id"] for i in page["items"]]
    if len(expected) > 1:
        assert page["next_cursor"] and 'rel="next"' in first.headers["link"]
        rest = await gw.client.get(url, params={"limit": 100, "cursor": page["next_cursor"]}, headers=portal.reader)
        seen += [i["id"] for i in rest.json()["items"]]
    assert seen == [i.id for i in expected]

    detail = await gw.client.get(f"{PORTAL}/invoices/{a.invoice_id}", headers=portal.reader)
    assert detail.status_code == 200, detail.text
    invoice = await gw.app.state.billing.get_invoice(a.invoice_id)
    assert detail.json()["total"] == {"amount": invoice.total.amount, "currency": invoice.total.currency}
    assert len(detail.json()["lines"]) == len(invoice.lines) > 0


async def test_usage_per_month(portal: Portal) -> None:
    response = await portal.gw.client.get(
        f"{PORTAL}/subscriptions/{portal.a.subscription_id}/usage", params={"months": 2}, headers=portal.reader
    )
    assert response.status_code == 200, response.text
    periods = response.json()["periods"]
    assert len(periods) == 2
    assert periods[0]["start"] > periods[1]["start"]
    (current,) = periods[0]["usage"]
    assert current["value"] == 1234
    assert periods[1]["usage"][0]["value"] == 0
    b = await portal.gw.client.get(f"{PORTAL}/subscriptions/{portal.b.subscription_id}/usage", headers=portal.reader)
    assert [p["usage"][0]["value"] for p in b.json()["periods"]] == [0, 0, 0]


async def test_a_customer_bound_token_sees_only_its_customer(portal: Portal) -> None:
    a, b = portal.a, portal.b
    headers = await portal.bound(a)
    own = [
        f"/customers/{a.crm_account_id}/overview",
        f"/customers/{a.crm_account_id}/invoices",
        f"/invoices/{a.invoice_id}",
        f"/subscriptions/{a.subscription_id}/usage",
    ]
    for path in own:
        response = await portal.gw.client.get(PORTAL + path, headers=headers)
        assert response.status_code == 200, (path, response.text)
    others_and_unknown = [
        (f"/customers/{b.crm_account_id}/overview", "/customers/001000000000000AAA/overview"),
        (f"/customers/{b.crm_account_id}/invoices", "/customers/001000000000000AAA/invoices"),
        (f"/invoices/{b.invoice_id}", "/invoices/in_NoSuchInvoice000"),
        (f"/subscriptions/{b.subscription_id}/usage", "/subscriptions/sub_NoSuchSubscription0/usage"),
    ]
    for path, unknown_path in others_and_unknown:
        response = await portal.gw.client.get(PORTAL + path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        # The same answer as for an object that does not exist (the id aside): nothing to probe with.
        unknown = await portal.gw.client.get(PORTAL + unknown_path, headers=headers)
        assert unknown.status_code == 404
        got, expected = response.json(), unknown.json()
        assert (got["type"], got["title"]) == (expected["type"], expected["title"])
        assert got["detail"].rsplit(" ", 1)[0] == expected["detail"].rsplit(" ", 1)[0]
    # Even a cached overview of B (the internal reader just read it) stays hidden.
    await portal.gw.client.get(f"{PORTAL}/customers/{b.crm_account_id}/overview", headers=portal.reader)
    hidden = await portal.gw.client.get(f"{PORTAL}/customers/{b.crm_account_id}/overview", headers=headers)
    assert hidden.status_code == 404
    unknown = await portal.gw.client.get(f"{PORTAL}/customers/001000000000000AAA/overview", headers=portal.reader)
    assert unknown.status_code == 404
    assert hidden.json()["title"] == unknown.json()["title"]


async def test_scopes_and_confinement(portal: Portal) -> None:
    url = f"{PORTAL}/customers/{portal.a.crm_account_id}/overview"
    assert (await portal.gw.client.get(url)).status_code == 401
    wrong = await portal.gw.bearer("system:crm:read")
    response = await portal.gw.client.get(url, headers=wrong)
    assert response.status_code == 403
    assert "experience:customer-portal:read" in response.json()["detail"]
    # A customer-bound token reaches no other API, whatever its scopes.
    bound = await portal.gw.bearer(f"{READ} system:crm:read", customer_id=portal.a.crm_account_id)
    crm = await portal.gw.client.get(f"/system/crm/v1/accounts/{portal.a.crm_account_id}", headers=bound)
    assert crm.status_code == 403


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/customers/{a}/invoices", {"limit": "0"}, "limit"),
        ("/customers/{a}/invoices", {"status": "lost"}, "status"),
        ("/subscriptions/{sub}/usage", {"months": "13"}, "months"),
        ("/customers/{a}/invoices", {"cursor": "not-a-cursor"}, "cursor"),
    ],
)
async def test_bad_input_names_the_field(portal: Portal, path: str, params: dict[str, str], field: str) -> None:
    url = PORTAL + path.format(a=portal.a.crm_account_id, sub=portal.a.subscription_id)
    response = await portal.gw.client.get(url, params=params, headers=portal.reader)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e.get("name") for e in response.json()["errors"]]


async def test_the_xref_link_decides_the_billing_customer(portal: Portal) -> None:
    """A customer linked in the xref store is read from the billing customer the link names."""
    gw = portal.gw
    billing = gw.app.state.billing
    listed = (await billing.list_customers(limit=100)).items
    seeded = [c for c in listed if c.crm_account_id and (c.currency or "").upper() == "USD"][2]
    crm_account_id = str(seeded.crm_account_id)
    linked = await billing.create_customer(BillingCustomerCreate(name="Linked billing twin"), key="portal-xref-twin")
    (price,) = (await billing.list_prices(lookup_key="STRATA-CORE-usd")).items
    subscription = await billing.create_subscription(
        SubscriptionCreate(customer_id=linked.id, items=[SubscriptionItemInput(price_id=price.id)]),
        key="portal-xref-subscription",
    )
    xref = XrefStore(gw.app.state.components.engine)
    canonical_id, _ = await xref.canonical_id_for("customer", "salesforce", crm_account_id)
    await xref.link("customer", canonical_id, "stripe", linked.id)

    response = await gw.client.get(f"{PORTAL}/customers/{crm_account_id}/overview", headers=portal.reader)
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["subscriptions"]] == [subscription.id]
    # The bound token of that customer reaches the linked customer's invoice, not the seeded twin's.
    headers = await gw.bearer(READ, customer_id=crm_account_id)
    assert subscription.latest_invoice_id is not None
    invoice = await gw.client.get(f"{PORTAL}/invoices/{subscription.latest_invoice_id}", headers=headers)
    assert invoice.status_code == 200


async def test_a_subscription_lists_the_entitlements_granted_for_it_or_for_its_order(portal: Portal) -> None:
    gw = portal.gw
    billing, product = gw.app.state.billing, gw.app.state.product
    listed = (await billing.list_customers(limit=100)).items
    seeded = [c for c in listed if c.crm_account_id and (c.currency or "").upper() == "USD"][3]
    crm_account_id = str(seeded.crm_account_id)
    opportunity_id = "006Qy00000PortalEnt1"
    (price,) = (await billing.list_prices(lookup_key="STRATA-CORE-usd")).items
    subscription = await billing.create_subscription(
        SubscriptionCreate(
            customer_id=seeded.id, items=[SubscriptionItemInput(price_id=price.id)], external_id=opportunity_id
        ),
        key="portal-entitlements-subscription",
    )
    assert (await billing.get_subscription(subscription.id)).external_id == opportunity_id
    (product_customer,) = (await product.list_customers(crm_account_id=crm_account_id, limit=1, position=None)).items
    granted = {}
    for name, source_ref in (("order", opportunity_id), ("itself", subscription.id), ("other", "006Qy00000Elsewhere")):
        grant = EntitlementGrant(sku_code="STRATA-CORE", source_ref=source_ref)
        entitlement = await product.grant_entitlement(
            product_customer.id, grant, idempotency_key=f"portal-entitlement-{name}"
        )
        granted[name] = entitlement.id

    response = await gw.client.get(f"{PORTAL}/customers/{crm_account_id}/overview", headers=portal.reader)
    assert response.status_code == 200, response.text
    body = response.json()
    [shown] = [s for s in body["subscriptions"] if s["id"] == subscription.id]
    assert sorted(e["id"] for e in shown["entitlements"]) == sorted([granted["order"], granted["itself"]])
    assert set(granted.values()) <= {e["id"] for e in body["entitlements"]}

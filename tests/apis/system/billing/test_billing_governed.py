"""The billing system API through the whole gateway: governance, Stripe connector and sandbox together."""

from __future__ import annotations

import pytest

from apis.system.billing.connectors.stripe import StripeConfig
from apis.system.kit.circuit_breaker import CircuitBreakerConfig
from sandboxes.faults import FaultRule
from tests.support.harness import Gateway, problem
from tests.support.stripe_gateway import seed_customer, speed_up, stripe_sandbox

BILLING = "/system/billing/v1"
RW = "system:billing:read system:billing:write"
pytestmark = pytest.mark.asyncio(loop_scope="package")


async def test_a_token_and_the_right_scope_are_needed(gw: Gateway) -> None:
    anonymous = await gw.client.get(f"{BILLING}/customers")
    assert anonymous.status_code == 401
    problem(anonymous)
    crm_reader = await gw.bearer("system:crm:read")
    wrong_api = await gw.client.get(f"{BILLING}/customers", headers=crm_reader)
    assert wrong_api.status_code == 403
    reader = await gw.bearer("system:billing:read")
    write = await gw.client.post(f"{BILLING}/customers", json={"name": "Acme"}, headers=reader)
    assert write.status_code == 403 and 'scope="system:billing:write"' in write.headers["www-authenticate"]


async def test_customer_created_once_per_key_read_listed_and_changed(gw: Gateway) -> None:
    headers = {**await gw.bearer(RW), "Idempotency-Key": "create-acme-1"}
    body = {
        "name": "Acme GmbH",
        "email": "billing@acme.de",
        "external_id": "cus_01JACME",
        "billing_address": {"country": "DE"},
    }
    before = stripe_sandbox(gw).counts()["writes_applied"].get("customer", 0)
    created = await gw.client.post(f"{BILLING}/customers", json=body, headers=headers)
    assert created.status_code == 201, created.text
    customer = created.json()
    assert customer["id"].startswith("cus_") and customer["external_id"] == "cus_01JACME"
    assert created.headers["location"].endswith(f"/customers/{customer['id']}")
    again = await gw.client.post(f"{BILLING}/customers", json=body, headers=headers)
    assert again.json()["id"] == customer["id"] and again.headers["idempotent-replayed"] == "true"
    assert stripe_sandbox(gw).counts()["writes_applied"]["customer"] == before + 1
    found = await gw.client.get(f"{BILLING}/customers/{customer['id']}", headers=headers)
    assert found.json()["billing_address"]["country"] == "DE"
    pii_reader = await gw.bearer("system:billing:read system:billing:pii")  # email is a filter on personal data
    listed = await gw.client.get(f"{BILLING}/customers", params={"email": "billing@acme.de"}, headers=pii_reader)
    assert [c["id"] for c in listed.json()["items"]] == [customer["id"]]
    headers["Idempotency-Key"] = "rename-acme-1"
    renamed = await gw.client.patch(f"{BILLING}/customers/{customer['id']}", json={"name": "Acme AG"}, headers=headers)
    assert renamed.status_code == 200 and renamed.json()["name"] == "Acme AG"


async def test_input_errors_name_the_field_and_unknown_ids_are_404(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    nameless = await gw.client.post(f"{BILLING}/customers", json={"email": "x@y.z"}, headers=headers)
    assert nameless.status_code == 422
    assert any("name" in (e.get("pointer", "") + e["detail"]) for e in problem(nameless)["errors"])
    unknown = await gw.client.get(f"{BILLING}/customers/cus_doesnotexist", headers=headers)
    assert unknown.status_code == 404
    problem(unknown)
    forged = await gw.client.get(f"{BILLING}/customers", params={"cursor": "Zm9yZ2Vk"}, headers=headers)
    assert forged.status_code == 422 and problem(forged)["errors"][0]["name"] == "cursor"
    customer = await seed_customer(gw, headers)
    bad_price = {"customer_id": customer["id"], "items": [{"price_id": "price_doesnotexist", "quantity": 1}]}
    refused = await gw.client.post(f"{BILLING}/subscriptions", json=bad_price, headers=headers)
    assert refused.status_code == 422, refused.text
    assert problem(refused)["errors"][0]["pointer"] == "/items/0/price_id"


async def test_subscription_invoice_credit_note_lifecycle(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    customer = await seed_customer(gw, headers)
    price = (await gw.client.get(f"{BILLING}/prices", params={"lookup_key": "STRATA-CORE-usd"}, headers=headers)).json()
    assert price["items"][0]["unit_amount"] == {"amount": "12000.00", "currency": "USD"}
    body = {"customer_id": customer["id"], "items": [{"price_id": price["items"][0]["id"], "quantity": 2}]}
    created = await gw.client.post(f"{BILLING}/subscriptions", json=body, headers=headers)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["status"] == "active" and subscription["collection_method"] == "send_invoice"
    invoice_path = f"{BILLING}/invoices/{subscription['latest_invoice_id']}"
    draft = (await gw.client.get(invoice_path, headers=headers)).json()
    assert draft["status"] == "draft" and draft["total"] == {"amount": "24000.00", "currency": "USD"}
    finalized = await gw.client.post(f"{invoice_path}/finalize", headers=headers)
    assert finalized.status_code == 200 and finalized.json()["status"] == "open" and finalized.json()["number"]
    twice = await gw.client.post(f"{invoice_path}/finalize", headers=headers)
    assert twice.status_code == 409
    problem(twice)

    item = subscription["items"][0]["id"]
    amend = {"items": [{"item_id": item, "quantity": 3}], "proration": "prorate_and_invoice"}
    amended = await gw.client.post(f"{BILLING}/subscriptions/{subscription['id']}/amend", json=amend, headers=headers)
    assert amended.status_code == 200 and amended.json()["items"][0]["quantity"] == 3
    proration = (
        await gw.client.get(f"{BILLING}/invoices/{amended.json()['latest_invoice_id']}", headers=headers)
    ).json()
    assert proration["status"] == "open" and all(line["proration"] for line in proration["lines"])
    assert [line["amount"]["amount"][0] == "-" for line in proration["lines"]] == [True, False]

    note = {"invoice_id": draft["id"], "amount": {"amount": "1000.00", "currency": "USD"}, "reason": "order_change"}
    credited = await gw.client.post(f"{BILLING}/credit-notes", json=note, headers=headers)
    assert credited.status_code == 201 and credited.json()["applies_before_payment"] is True
    after = (await gw.client.get(invoice_path, headers=headers)).json()
    assert after["amount_due"]["amount"] == "23000.00"
    notes = (await gw.client.get(f"{BILLING}/credit-notes", params={"invoice_id": draft["id"]}, headers=headers)).json()
    assert [n["id"] for n in notes["items"]] == [credited.json()["id"]]
    too_much = {**note, "amount": {"amount": "99000.00", "currency": "USD"}}
    refused = await gw.client.post(f"{BILLING}/credit-notes", json=too_much, headers=headers)
    assert refused.status_code == 422 and problem(refused)["errors"][0]["pointer"] == "/amount/amount"

    voided = await gw.client.post(f"{invoice_path}/void", headers=headers)
    assert voided.status_code == 200 and voided.json()["status"] == "void"
    assert (await gw.client.post(f"{invoice_path}/void", headers=headers)).status_code == 409
    listed = await gw.client.get(f"{BILLING}/invoices", params={"subscription_id": subscription["id"]}, headers=headers)
    assert {i["status"] for i in listed.json()["items"]} == {"void", "open"}
    canceled = await gw.client.post(f"{BILLING}/subscriptions/{subscription['id']}/cancel", headers=headers)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    default_list = await gw.client.get(
        f"{BILLING}/subscriptions", params={"customer_id": customer["id"]}, headers=headers
    )
    assert default_list.json()["items"] == []


async def test_usage_events_are_counted_once_per_identifier(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    customer = await seed_customer(gw, headers)
    meters = (await gw.client.get(f"{BILLING}/meters", headers=headers)).json()["items"]
    meter = next(m for m in meters if m["event_name"] == "api_calls")
    event = {
        "event_name": "api_calls",
        "customer_id": customer["id"],
        "value": 1200,
        "identifier": "usage-2026-12-01-a",
    }
    first = await gw.client.post(f"{BILLING}/usage-events", json=event, headers=headers)
    assert first.status_code == 201 and first.json()["duplicate"] is False
    repeated = await gw.client.post(f"{BILLING}/usage-events", json=event, headers=headers)
    assert repeated.status_code == 200 and repeated.json()["duplicate"] is True
    window = {"customer_id": customer["id"], "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
    usage = await gw.client.get(f"{BILLING}/meters/{meter['id']}/usage", params=window, headers=headers)
    assert usage.json()["value"] == 1200
    unknown = {**event, "event_name": "no_such_meter", "identifier": "usage-x"}
    refused = await gw.client.post(f"{BILLING}/usage-events", json=unknown, headers=headers)
    assert refused.status_code == 422 and problem(refused)["errors"][0]["pointer"] == "/event_name"


async def test_vendor_outages_are_retryable_problems(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    sandbox = stripe_sandbox(gw)
    sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix="/v1/customers"))
    down = await gw.client.get(f"{BILLING}/customers", headers=headers)
    assert down.status_code == 503
    problem(down)
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=7, path_prefix="/v1/products"))
    throttled = await gw.client.get(f"{BILLING}/products", headers=headers)
    assert throttled.status_code == 503 and throttled.headers["retry-after"] == "7"
    sandbox.faults.clear()
    speed_up(gw, config=StripeConfig(timeout_seconds=0.2, max_retries=1, backoff_base_seconds=0.001))
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.4, path_prefix="/v1/prices"))
    slow = await gw.client.get(f"{BILLING}/prices", headers=headers)
    assert slow.status_code == 504
    problem(slow)


async def test_an_open_circuit_answers_503_without_calling_stripe(gw: Gateway) -> None:
    speed_up(gw, breaker=CircuitBreakerConfig(failure_threshold=1, open_seconds=30))
    headers = await gw.bearer(RW)
    sandbox = stripe_sandbox(gw)
    sandbox.faults.add(FaultRule(kind="status", status=500, count=1))
    assert (await gw.client.get(f"{BILLING}/meters", headers=headers)).status_code == 503
    before = sandbox.counts()["requests"]
    refused = await gw.client.get(f"{BILLING}/meters", headers=headers)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) > 0
    assert sandbox.counts()["requests"] == before

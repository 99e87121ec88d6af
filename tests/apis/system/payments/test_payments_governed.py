"""The payments system API through the whole gateway: intents, refunds, and webhooks from the sandbox."""

from __future__ import annotations

import httpx
import pytest

from sandboxes.faults import FaultRule
from tests.support.harness import Gateway, problem
from tests.support.stripe_gateway import seed_customer, stripe_sandbox

PAYMENTS = "/system/payments/v1"
RW = "system:payments:read system:payments:write"
WEBHOOK = f"{PAYMENTS}/webhooks/stripe"
pytestmark = pytest.mark.asyncio(loop_scope="package")


async def _intent(gw: Gateway, headers: dict[str, str], **body: object) -> httpx.Response:
    payload = {"amount": {"amount": "250.00", "currency": "EUR"}, **body}
    return await gw.client.post(f"{PAYMENTS}/payment-intents", json=payload, headers=headers)


async def test_scopes_are_enforced(gw: Gateway) -> None:
    assert (await gw.client.get(f"{PAYMENTS}/refunds")).status_code == 401
    reader = await gw.bearer("system:payments:read")
    refused = await _intent(gw, reader, payment_method="pm_card_visa", confirm=True)
    assert refused.status_code == 403
    problem(refused)


async def test_a_confirmed_intent_is_charged_once_per_key(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    billing = await gw.bearer("system:billing:read")
    customer = await seed_customer(gw, billing)
    keyed = {**headers, "Idempotency-Key": "pay-order-1"}
    created = await _intent(gw, keyed, customer_id=customer["id"], payment_method="pm_card_visa", confirm=True)
    assert created.status_code == 201, created.text
    intent = created.json()
    assert intent["status"] == "succeeded" and intent["amount_received"] == {"amount": "250.00", "currency": "EUR"}
    again = await _intent(gw, keyed, customer_id=customer["id"], payment_method="pm_card_visa", confirm=True)
    assert again.json()["id"] == intent["id"]
    found = await gw.client.get(f"{PAYMENTS}/payment-intents/{intent['id']}", headers=headers)
    assert found.json()["status"] == "succeeded"
    listed = await gw.client.get(f"{PAYMENTS}/payment-intents", params={"customer_id": customer["id"]}, headers=headers)
    assert [i["id"] for i in listed.json()["items"]] == [intent["id"]]


async def test_declines_states_and_field_errors(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    declined = await _intent(gw, headers, payment_method="pm_card_chargeDeclinedInsufficientFunds", confirm=True)
    assert declined.status_code == 422
    body = problem(declined)
    assert body["type"].endswith("/payment-declined") and "declined" in body["detail"]
    fractional = await _intent(gw, headers, amount={"amount": "1.001", "currency": "EUR"})
    assert fractional.status_code == 422 and problem(fractional)["errors"][0]["pointer"] == "/amount/amount"
    blind = await _intent(gw, headers, confirm=True)
    assert blind.status_code == 422 and problem(blind)["errors"][0]["pointer"] == "/payment_method"
    pending = (await _intent(gw, headers)).json()
    assert pending["status"] == "requires_payment_method" and pending["client_secret"].startswith(pending["id"])
    path = f"{PAYMENTS}/payment-intents/{pending['id']}"
    confirmed = await gw.client.post(f"{path}/confirm", json={"payment_method": "pm_card_mastercard"}, headers=headers)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"
    assert (await gw.client.post(f"{path}/confirm", headers=headers)).status_code == 409
    assert (await gw.client.post(f"{path}/cancel", headers=headers)).status_code == 409
    fresh = (await _intent(gw, headers)).json()
    canceled = await gw.client.post(
        f"{PAYMENTS}/payment-intents/{fresh['id']}/cancel", json={"reason": "abandoned"}, headers=headers
    )
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    missing = await gw.client.get(f"{PAYMENTS}/payment-intents/pi_doesnotexist", headers=headers)
    assert missing.status_code == 404


async def test_refunds_partial_then_rest_then_nothing_left(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    intent = (await _intent(gw, headers, payment_method="pm_card_visa", confirm=True)).json()
    refunds = f"{PAYMENTS}/refunds"
    part = {
        "payment_intent_id": intent["id"],
        "amount": {"amount": "100.00", "currency": "EUR"},
        "reason": "requested_by_customer",
    }
    first = await gw.client.post(refunds, json=part, headers=headers)
    assert first.status_code == 201 and first.json()["amount"]["amount"] == "100.00"
    too_much = await gw.client.post(
        refunds, json={**part, "amount": {"amount": "200.00", "currency": "EUR"}}, headers=headers
    )
    assert too_much.status_code == 422 and problem(too_much)["errors"][0]["pointer"] == "/amount/amount"
    wrong_currency = await gw.client.post(
        refunds, json={**part, "amount": {"amount": "1.00", "currency": "USD"}}, headers=headers
    )
    assert wrong_currency.status_code == 422
    rest = await gw.client.post(refunds, json={"payment_intent_id": intent["id"]}, headers=headers)
    assert rest.status_code == 201 and rest.json()["amount"]["amount"] == "150.00"
    nothing = await gw.client.post(refunds, json={"payment_intent_id": intent["id"]}, headers=headers)
    assert nothing.status_code == 409
    listed = await gw.client.get(refunds, params={"payment_intent_id": intent["id"]}, headers=headers)
    assert sorted(r["amount"]["amount"] for r in listed.json()["items"]) == ["100.00", "150.00"]
    one = await gw.client.get(f"{refunds}/{first.json()['id']}", headers=headers)
    assert one.json()["payment_intent_id"] == intent["id"]


async def test_sandbox_webhooks_land_in_the_inbox_once(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    sandbox = stripe_sandbox(gw)
    intent = (await _intent(gw, headers, payment_method="pm_card_visa", confirm=True)).json()
    await gw.client.post(f"{PAYMENTS}/refunds", json={"payment_intent_id": intent["id"]}, headers=headers)
    await sandbox.webhooks.drain(5)
    events = (await gw.client.get("/sandbox/stripe/_control/events")).json()
    succeeded = next(e for e in events if e["type"] == "payment_intent.succeeded" and e["delivered"])
    payments = gw.app.state.payments
    pending = {e.id: e for e in await payments.unprocessed_events(limit=1000)}
    assert succeeded["id"] in pending
    assert {"payment_intent.succeeded", "charge.refunded"} <= {e.type for e in pending.values()}
    assert intent["id"].encode() in pending[succeeded["id"]].payload
    redeliver = await gw.client.post(f"/sandbox/stripe/_control/events/{succeeded['id']}/redeliver")
    assert redeliver.status_code == 202
    await sandbox.webhooks.drain(5)
    attempts = sandbox.webhooks.status(succeeded["id"])["attempts"]
    assert [a["status"] for a in attempts] == [200, 200]  # the duplicate was answered 2xx
    again = [e for e in await payments.unprocessed_events(limit=1000) if e.id == succeeded["id"]]
    assert len(again) == 1
    assert await payments.mark_events_processed([succeeded["id"]]) == 1
    assert succeeded["id"] not in {e.id for e in await payments.unprocessed_events(limit=1000)}
    assert await payments.mark_events_processed([succeeded["id"]]) == 0


async def test_webhook_needs_no_token_but_a_valid_signature(gw: Gateway) -> None:
    from sandboxes.stripe.webhooks import sign

    # The signature scheme carries no OAuth scopes, so the route compiles as public (no bearer
    # check); the handler's signature check is the gate. Every other payments route needs a token.
    routes = {route.operation_id: route for route in gw.app.state.route_table.routes}
    assert routes["receiveStripeWebhook"].security == ()
    assert routes["createPaymentIntent"].security == (frozenset({"system:payments:write"}),)

    payload = b'{"id":"evt_manual1","object":"event","type":"invoice.paid","data":{"object":{}}}'
    content = {"Content-Type": "application/json"}
    unsigned = await gw.client.post(WEBHOOK, content=payload, headers=content)
    assert unsigned.status_code == 400
    assert problem(unsigned)["type"].endswith("/webhook-signature-invalid")
    forged = await gw.client.post(
        WEBHOOK, content=payload, headers={**content, "Stripe-Signature": sign(payload, "whsec_wrong")}
    )
    assert forged.status_code == 400
    secret = gw.app.state.settings.stripe.webhook_secrets[0]  # the sandbox's, random per state
    good = {**content, "Stripe-Signature": sign(payload, secret)}
    first = await gw.client.post(WEBHOOK, content=payload, headers=good)
    assert first.status_code == 200 and first.json() == {
        "received": True,
        "event_id": "evt_manual1",
        "duplicate": False,
    }
    second = await gw.client.post(WEBHOOK, content=payload, headers=good)
    assert second.status_code == 200 and second.json()["duplicate"] is True
    old = {**content, "Stripe-Signature": sign(payload, secret, timestamp=1_000_000_000)}
    stale = await gw.client.post(WEBHOOK, content=payload, headers=old)
    assert stale.status_code == 400 and "tolerance" in problem(stale)["detail"]


async def test_stripe_outage_and_throttling_are_503_with_retry_after(gw: Gateway) -> None:
    headers = await gw.bearer(RW)
    sandbox = stripe_sandbox(gw)
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=5, path_prefix="/v1/refunds"))
    throttled = await gw.client.get(f"{PAYMENTS}/refunds", headers=headers)
    assert throttled.status_code == 503 and throttled.headers["retry-after"] == "5"
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=502, path_prefix="/v1/payment_intents"))
    down = await _intent(gw, headers)
    assert down.status_code == 503
    problem(down)


MALFORMED_PAYLOAD = b'{"id":"evt_malformed","object":"event","type":"invoice.paid","data":{"object":{}}}'


def _malformed_signatures(secret: str = "whsec_any") -> dict[str, bytes]:
    """Stripe-Signature values a caller can send; bytes go out as latin-1, as a server decodes them.

    ``v1`` is the right signature of the payload under ``secret`` (the gateway's, in the test), so only
    the malformation can refuse them.
    """
    from sandboxes.stripe.webhooks import sign

    t, v1 = sign(MALFORMED_PAYLOAD, secret).split(",v1=")
    good, now = v1.encode(), t.removeprefix("t=").encode()
    return {
        "superscript-t": b"t=\xb2,v1=" + good,
        "latin1-v1": b"t=" + now + b",v1=" + b"\xe9" * 64,
        "uppercase-v1": b"t=" + now + b",v1=" + good.upper(),
        "empty-t": b"t=,v1=" + good,
        "negative-t": b"t=-" + now + b",v1=" + good,
        "duplicate-t": b"t=" + now + b",t=" + now + b",v1=" + good,
        "many-commas": b"t=" + now + b",v1=" + good + b"," * 3000,
        "huge": b"t=" + now + b",v1=" + good + b",v0=" + b"a" * 10_000,
    }


@pytest.mark.parametrize("name", list(_malformed_signatures()))
async def test_a_malformed_signature_header_is_a_400_problem_never_a_500(gw: Gateway, name: str) -> None:
    header = _malformed_signatures(gw.app.state.settings.stripe.webhook_secrets[0])[name]
    response = await gw.client.post(
        WEBHOOK, content=MALFORMED_PAYLOAD, headers={"Content-Type": "application/json", "Stripe-Signature": header}
    )
    assert response.status_code == 400, response.text
    body = problem(response)
    assert body["type"].endswith("/webhook-signature-invalid")
    assert "Stripe-Signature" in body["detail"]

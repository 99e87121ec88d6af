"""The official ``stripe`` SDK (16.1), unmodified, against the sandbox on a loopback port.

Every Stripe call the billing and payments connectors make is made here through the SDK, with
the SDK's own pinned ``Stripe-Version``, form encoding, idempotency keys and error classes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import stripe

from sandboxes.stripe import StripeSandbox, create_stripe_sandbox
from sandboxes.stripe.webhooks import sign
from tests.support.loopback import serve_on_loopback
from tests.support.sandbox_access import STRIPE_KEY as DEFAULT_SECRET_KEY


@pytest.fixture(scope="module")
def sandbox() -> StripeSandbox:
    return create_stripe_sandbox(secret_key=DEFAULT_SECRET_KEY)


@pytest.fixture(scope="module")
def client(sandbox: StripeSandbox) -> Iterator[stripe.StripeClient]:
    with serve_on_loopback(sandbox) as url:
        yield stripe.StripeClient(DEFAULT_SECRET_KEY, base_addresses={"api": url}, max_network_retries=2)


def test_customers_create_retrieve_update_list(client: stripe.StripeClient, sandbox: StripeSandbox) -> None:
    options: stripe.RequestOptions = {"idempotency_key": "sdk-customer-1"}
    params: stripe.CustomerCreateParams = {
        "name": "SDK GmbH", "email": "sdk@example.de", "metadata": {"strata_id": "cus_01JSDK"},
        "address": {"country": "DE", "city": "Berlin"},
    }  # fmt: skip
    created = client.v1.customers.create(params, options)
    replayed = client.v1.customers.create(params, options)
    assert replayed.id == created.id and sandbox.counts()["writes_applied"]["customer"] == 1
    assert created.metadata["strata_id"] == "cus_01JSDK" and created.address is not None
    assert client.v1.customers.retrieve(created.id).email == "sdk@example.de"
    updated = client.v1.customers.update(created.id, {"name": "SDK AG"})
    assert updated.name == "SDK AG"
    found = client.v1.customers.list({"email": "sdk@example.de", "limit": 10})
    assert [c.id for c in found.data] == [created.id]
    page = client.v1.customers.list({"limit": 5})
    following = client.v1.customers.list({"limit": 5, "starting_after": page.data[-1].id})
    assert page.has_more and {c.id for c in page.data}.isdisjoint(c.id for c in following.data)
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.customers.retrieve("cus_missing")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.customers.create({"name": "Other"}, options)


def test_catalogue_subscriptions_invoices_credit_notes(client: stripe.StripeClient) -> None:
    products = client.v1.products.list({"limit": 100})
    core = next(p for p in products.data if p.metadata["product_code"] == "STRATA-CORE")
    assert client.v1.products.retrieve(core.id).name == core.name
    prices = client.v1.prices.list({"lookup_keys": ["STRATA-CORE-usd"], "product": core.id, "currency": "usd"})
    price = prices.data[0]
    assert price.unit_amount == 1_200_000 and client.v1.prices.retrieve(price.id).product == core.id
    customer = client.v1.customers.list({"limit": 1}).data[0]
    subscription = client.v1.subscriptions.create(
        {"customer": customer.id, "items": [{"price": price.id, "quantity": 2}], "collection_method": "send_invoice",
         "days_until_due": 30, "metadata": {"strata_id": "sub_01JSDK"}},
        {"idempotency_key": "sdk-sub-1"},
    )  # fmt: skip
    assert subscription.status == "active" and subscription["items"].data[0].quantity == 2
    assert client.v1.subscriptions.retrieve(subscription.id).id == subscription.id
    assert subscription.id in [s.id for s in client.v1.subscriptions.list({"customer": customer.id}).data]
    item = subscription["items"].data[0].id
    amended = client.v1.subscriptions.update(
        subscription.id, {"items": [{"id": item, "quantity": 3}], "proration_behavior": "always_invoice"}
    )
    assert amended["items"].data[0].quantity == 3

    first_invoice = subscription.latest_invoice
    assert isinstance(first_invoice, str)
    draft = client.v1.invoices.retrieve(first_invoice)
    assert draft.status == "draft" and draft.lines.data[0].pricing is not None
    finalized = client.v1.invoices.finalize_invoice(first_invoice)
    assert finalized.status == "open" and finalized.number
    listed = client.v1.invoices.list({"subscription": subscription.id, "status": "open"})
    assert {i.id for i in listed.data} == {first_invoice, amended.latest_invoice}
    note = client.v1.credit_notes.create({"invoice": first_invoice, "amount": 50_000, "reason": "order_change"})
    assert note.amount == 50_000 and client.v1.credit_notes.retrieve(note.id).invoice == first_invoice
    assert [n.id for n in client.v1.credit_notes.list({"invoice": first_invoice}).data] == [note.id]
    voided = client.v1.invoices.void_invoice(first_invoice)
    assert voided.status == "void"
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.invoices.void_invoice(first_invoice)
    assert twice.value.code == "invoice_not_editable"
    canceled = client.v1.subscriptions.cancel(subscription.id, {"prorate": True})
    assert canceled.status == "canceled"


def test_meters_and_meter_events(client: stripe.StripeClient) -> None:
    meter = next(m for m in client.v1.billing.meters.list().data if m.event_name == "api_calls")
    customer = client.v1.customers.list({"limit": 1}).data[0]
    now = int(time.time())
    event = client.v1.billing.meter_events.create(
        {"event_name": "api_calls", "identifier": "sdk-usage-1", "timestamp": now,
         "payload": {"stripe_customer_id": customer.id, "value": "42"}}
    )  # fmt: skip
    assert event.identifier == "sdk-usage-1"
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        client.v1.billing.meter_events.create(
            {
                "event_name": "api_calls",
                "identifier": "sdk-usage-1",
                "payload": {"stripe_customer_id": customer.id, "value": "1"},
            }
        )
    assert duplicate.value.code == "resource_already_exists"
    summaries = client.v1.billing.meters.event_summaries.list(
        meter.id, {"customer": customer.id, "start_time": now - 60, "end_time": now + 60}
    )
    assert summaries.data[0].aggregated_value == 42


def test_payment_intents_refunds_and_card_errors(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 2_000,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "payment_method_types": ["card"],
        },
        {"idempotency_key": "sdk-pi-1"},
    )
    assert intent.status == "succeeded" and client.v1.payment_intents.retrieve(intent.id).amount_received == 2_000
    assert intent.id in [p.id for p in client.v1.payment_intents.list({"limit": 100}).data]
    pending = client.v1.payment_intents.create({"amount": 900, "currency": "eur"})
    confirmed = client.v1.payment_intents.confirm(pending.id, {"payment_method": "pm_card_mastercard"})
    assert confirmed.status == "succeeded"
    fresh = client.v1.payment_intents.create({"amount": 900, "currency": "eur"})
    assert client.v1.payment_intents.cancel(fresh.id, {"cancellation_reason": "abandoned"}).status == "canceled"
    refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": 500})
    assert refund.status == "succeeded" and client.v1.refunds.retrieve(refund.id).amount == 500
    assert [r.id for r in client.v1.refunds.list({"payment_intent": intent.id}).data] == [refund.id]
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 5_000})
    assert too_much.value.param == "amount"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(
            {"amount": 2_000, "currency": "eur", "payment_method": "pm_card_chargeDeclined", "confirm": True}
        )
    assert declined.value.code == "card_declined"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient(
            "sk_test_wrong", base_addresses={"api": client._requestor.base_addresses["api"]}
        ).v1.customers.list()


def test_the_sdk_verifies_sandbox_signatures_and_we_verify_the_sdks() -> None:
    from apis.system.payments.webhook import verify_signature

    payload = b'{"id":"evt_1","object":"event","type":"invoice.paid","data":{"object":{}}}'
    event = stripe.Webhook.construct_event(payload, sign(payload, "whsec_sdk"), "whsec_sdk")
    assert event.id == "evt_1"
    now = int(time.time())
    sdk_signature = stripe.WebhookSignature._compute_signature(f"{now}.{payload.decode()}", "whsec_sdk")
    assert verify_signature(payload, f"t={now},v1={sdk_signature}", ("whsec_sdk",)) == now

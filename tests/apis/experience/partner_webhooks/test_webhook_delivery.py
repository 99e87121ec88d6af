"""Partner webhooks end to end: an event in the outbox reaches the partner's endpoint, signed.

The receiver is a real HTTP server on 127.0.0.1; signatures are checked with the verifier of
``receiver.py``, written from the Standard Webhooks spec apart from the production code.
"""

from __future__ import annotations

import time
import uuid

import pytest

from apis.canonical import BillingCustomerCreate, Money
from apis.process.event_types import InvoicePosted, PaymentApplied, event_data
from apis.process.events import new_event
from apis.process.xref import XrefStore, new_canonical_id
from tests.apis.experience.partner_webhooks.portal import (
    PORTAL,
    Hooks,
    customer_synced,
    envelope,
)
from tests.apis.experience.partner_webhooks.receiver import InvalidSignature, Receiver, verify

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_an_event_about_the_partners_customer_arrives_signed(hooks: Hooks, receiver: Receiver) -> None:
    created = await hooks.subscribe(hooks.a, receiver.url, "strata.customer.synced")
    event = customer_synced(hooks.a.account_id)
    await hooks.happen(event)

    [request] = await receiver.wait_for(event.id)
    assert request.path == receiver.path
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == event.id
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 60
    verify(created["secret"], request.headers, request.body)
    body = envelope(request.body)
    assert body["id"] == event.id
    assert body["type"] == "strata.customer.synced"
    assert body["specversion"] == "1.0"
    assert body["data"]["crm_account_id"] == hooks.a.account_id

    delivery = await hooks.delivery_when(hooks.a, created["id"], event.id, "delivered")
    assert delivery["attempts"] == 1
    assert delivery["last_status_code"] == 200
    assert delivery["last_error"] is None
    assert delivery["event_type"] == "strata.customer.synced"
    assert delivery["next_attempt_at"] is None and delivery["delivered_at"] is not None


async def test_a_tampered_body_or_a_stale_timestamp_does_not_verify(hooks: Hooks, receiver: Receiver) -> None:
    # The verifier itself must be able to fail, or the test above proves nothing.
    created = await hooks.subscribe(hooks.a, receiver.url)
    event = customer_synced(hooks.a.account_id)
    await hooks.happen(event)
    [request] = await receiver.wait_for(event.id)
    verify(created["secret"], request.headers, request.body)
    with pytest.raises(InvalidSignature):
        verify(created["secret"], request.headers, request.body.replace(b"customer", b"kustomer"))
    with pytest.raises(InvalidSignature):
        verify(created["secret"], request.headers, request.body, now=time.time() + 301)
    other = (await hooks.subscribe(hooks.a, receiver.url))["secret"]
    with pytest.raises(InvalidSignature):
        verify(other, request.headers, request.body)


async def test_only_events_about_the_partners_own_customers_of_its_types_are_sent(hooks: Hooks) -> None:
    a_receiver, b_receiver = Receiver().start(), Receiver().start()
    try:
        a_hook = await hooks.subscribe(hooks.a, a_receiver.url, "strata.customer.synced")
        b_hook = await hooks.subscribe(hooks.b, b_receiver.url, "strata.customer.synced")
        about_b = customer_synced(hooks.b.account_id)
        direct = customer_synced(hooks.direct_account_id)
        other_type = new_event(
            "strata.contract.activated",
            event_id=f"evt_{uuid.uuid4().hex}",
            data={**customer_synced(hooks.a.account_id).data, "opportunity_id": "006x"},
        )
        about_a = customer_synced(hooks.a.account_id)
        for event in (about_b, direct, other_type, about_a):
            await hooks.happen(event)
        # The outbox is fanned out in order: once the last event has arrived, the others were decided.
        await a_receiver.wait_for(about_a.id)
        await b_receiver.wait_for(about_b.id)
        assert {r.headers["webhook-id"] for r in a_receiver.requests} == {about_a.id}
        assert [d["event_id"] for d in await hooks.deliveries(hooks.a, a_hook["id"])] == [about_a.id]
        assert [d["event_id"] for d in await hooks.deliveries(hooks.b, b_hook["id"])] == [about_b.id]
        assert direct.id not in {r.headers["webhook-id"] for r in a_receiver.requests + b_receiver.requests}
    finally:
        a_receiver.close()
        b_receiver.close()


async def test_events_naming_only_billing_or_erp_ids_find_the_customer(hooks: Hooks, receiver: Receiver) -> None:
    created = await hooks.subscribe(hooks.a, receiver.url, "strata.invoice.posted", "strata.payment.applied")
    billing = await hooks.gw.app.state.billing.create_customer(
        BillingCustomerCreate(name="Webhook Test Co", crm_account_id=hooks.a.account_id),
        key=f"webhook-test-{uuid.uuid4().hex}",
    )
    money = Money(amount="10.00", currency="USD")
    invoice = InvoicePosted(
        transaction_id="txn_1",
        billing_invoice_id="in_1",
        invoice_number="INV-1",
        billing_customer_id=billing.id,  # found through the billing customer's CRM reference
        erp_customer_id="not-linked",
        erp_invoice_id="1",
        legal_entity_id=None,
        posting_date="2026-11-30",
        total=money,
        tax_total=money,
    )
    erp_id = f"erp-{uuid.uuid4().hex[:8]}"
    canonical = new_canonical_id("customer")
    xref = XrefStore(hooks.gw.app.state.components.engine)
    await xref.link("customer", canonical, "salesforce", hooks.a.account_id)
    await xref.link("customer", canonical, hooks.gw.app.state.process.erp_system, erp_id)
    payment = PaymentApplied(
        transaction_id="txn_2",
        billing_invoice_id="in_1",
        erp_invoice_id="1",
        erp_payment_id="2",
        erp_customer_id=erp_id,  # found through the xref store
        amount=money,
        payment_date="2026-11-30",
        opportunity_id=None,
    )
    posted = new_event("strata.invoice.posted", event_id=f"evt_{uuid.uuid4().hex}", data=event_data(invoice))
    applied = new_event("strata.payment.applied", event_id=f"evt_{uuid.uuid4().hex}", data=event_data(payment))
    await hooks.happen(posted)
    await hooks.happen(applied)
    for event in (posted, applied):
        [request] = await receiver.wait_for(event.id)
        verify(created["secret"], request.headers, request.body)


async def test_a_failing_endpoint_is_retried_then_dead_and_a_redelivery_succeeds(
    hooks: Hooks, receiver: Receiver
) -> None:
    receiver.status = 500
    created = await hooks.subscribe(hooks.a, receiver.url)
    event = customer_synced(hooks.a.account_id)
    await hooks.happen(event)

    dead = await hooks.delivery_when(hooks.a, created["id"], event.id, "dead")
    assert dead["attempts"] == 3  # partner_webhook_max_attempts in these tests
    assert dead["last_status_code"] == 500
    assert "500" in dead["last_error"]
    assert dead["next_attempt_at"] is None
    tries = receiver.with_id(event.id)
    assert len(tries) == 3
    assert all(envelope(t.body)["id"] == event.id for t in tries)  # the same message each time
    listed = await hooks.deliveries(hooks.a, created["id"], status="dead")
    assert [d["id"] for d in listed] == [dead["id"]]

    url = f"{PORTAL}/webhooks/{created['id']}/deliveries/{dead['id']}"
    detail = (await hooks.gw.client.get(url, headers=hooks.a.headers)).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500]
    assert all(a["error"] and a["duration_ms"] >= 0 for a in detail["attempt_log"])

    receiver.status = 204
    again = await hooks.gw.client.post(f"{url}/redeliver", headers=hooks.a.headers)
    assert again.status_code == 202, again.text
    assert again.json()["status"] == "pending" and again.json()["attempts"] == 0
    [*_, last] = await receiver.wait_for(event.id, count=4)
    verify(created["secret"], last.headers, last.body)
    delivered = await hooks.delivery_when(hooks.a, created["id"], event.id, "delivered")
    assert delivered["attempts"] == 1 and delivered["last_status_code"] == 204
    detail = (await hooks.gw.client.get(url, headers=hooks.a.headers)).json()
    assert [a["status_code"] for a in detail["attempt_log"]] == [500, 500, 500, 204]


async def test_an_endpoint_that_does_not_answer_is_a_failed_attempt(hooks: Hooks) -> None:
    closed = Receiver().start()
    url = closed.url
    closed.close()  # nothing listens on the port any more
    created = await hooks.subscribe(hooks.a, url)
    event = customer_synced(hooks.a.account_id)
    await hooks.happen(event)
    dead = await hooks.delivery_when(hooks.a, created["id"], event.id, "dead")
    assert dead["last_status_code"] is None
    assert dead["last_error"] and "could not deliver" in dead["last_error"]


async def test_after_a_rotation_both_secrets_sign_during_the_grace_period(hooks: Hooks, receiver: Receiver) -> None:
    created = await hooks.subscribe(hooks.a, receiver.url)
    rotated = await hooks.gw.client.post(f"{PORTAL}/webhooks/{created['id']}/rotate-secret", headers=hooks.a.headers)
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    assert rotated.json()["previous_secret_expires_at"] is not None
    event = customer_synced(hooks.a.account_id)
    await hooks.happen(event)
    [request] = await receiver.wait_for(event.id)
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify(new_secret, request.headers, request.body)
    verify(created["secret"], request.headers, request.body)


async def test_a_deleted_subscription_receives_nothing_more(hooks: Hooks) -> None:
    gone, kept = Receiver().start(), Receiver().start()
    try:
        deleted = await hooks.subscribe(hooks.a, gone.url)
        await hooks.subscribe(hooks.a, kept.url)
        response = await hooks.gw.client.delete(f"{PORTAL}/webhooks/{deleted['id']}", headers=hooks.a.headers)
        assert response.status_code == 204
        event = customer_synced(hooks.a.account_id)
        await hooks.happen(event)
        await kept.wait_for(event.id)
        assert gone.with_id(event.id) == []
    finally:
        gone.close()
        kept.close()

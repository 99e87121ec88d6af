"""Which workflow each Stripe event starts, under which business key (no gateway needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from apis.canonical import VendorEvent
from apis.process.ledger.inbox import Start, route


def event(event_type: str, obj: dict[str, Any], event_id: str = "evt_1") -> VendorEvent:
    payload = {"id": event_id, "object": "event", "type": event_type, "created": 1764650000, "data": {"object": obj}}
    return VendorEvent(
        id=event_id,
        vendor="stripe",
        type=event_type,
        received_at=dt.datetime.now(dt.UTC),
        payload=msgspec.json.encode(payload),
    )


def test_a_finalized_invoice_starts_invoice_to_ledger_keyed_by_the_invoice() -> None:
    started = route(event("invoice.finalized", {"id": "in_1", "object": "invoice"}))
    assert started == Start(
        workflow="invoice-to-ledger",
        business_key="in_1",
        input={"event_id": "evt_1", "event_type": "invoice.finalized", "invoice_id": "in_1"},
    )


def test_the_key_is_the_object_not_the_event_so_a_second_event_lands_on_one_transaction() -> None:
    first = route(event("invoice.paid", {"id": "in_2"}, "evt_a"))
    second = route(event("invoice.paid", {"id": "in_2"}, "evt_b"))
    assert first is not None and second is not None
    assert first.business_key == second.business_key == "in_2:paid"


def test_payments_refunds_and_credit_notes_start_payment_to_cash_with_what_they_need() -> None:
    paid = route(event("invoice.paid", {"id": "in_3", "payments": {"data": [{"payment": {"payment_intent": "pi_3"}}]}}))
    assert paid is not None and paid.workflow == "payment-to-cash"
    assert paid.input["kind"] == "paid" and paid.input["payment_intent_ids"] == ["pi_3"]
    refunded = route(event("charge.refunded", {"id": "ch_4", "payment_intent": "pi_4", "amount_refunded": 2500}))
    assert refunded is not None and refunded.business_key == "ch_4:refunded:2500"
    assert refunded.input["payment_intent_id"] == "pi_4" and refunded.input["event_created"] == 1764650000
    noted = route(event("credit_note.created", {"id": "cn_5", "invoice": "in_5"}))
    assert noted is not None and (noted.business_key, noted.input["kind"]) == ("cn_5:credit_note", "credit_note")


def test_events_no_workflow_handles_start_nothing() -> None:
    assert route(event("payment_intent.succeeded", {"id": "pi_6"})) is None
    assert route(event("customer.subscription.updated", {"id": "sub_7"})) is None
    assert route(event("charge.refunded", {"id": "ch_8"})) is None  # a charge without a payment intent
    broken = VendorEvent(
        id="evt_9", vendor="stripe", type="invoice.paid", received_at=dt.datetime.now(dt.UTC), payload=b"[]"
    )
    assert route(broken) is None

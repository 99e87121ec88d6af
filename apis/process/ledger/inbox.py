"""The inbox consumer: verified Stripe events start the ledger workflows, once per business object.

The payments system API stores every verified webhook delivery in the vendor event inbox
(once per Stripe event id). This background job reads what no one has processed every
``inbox_poll_ms``, opens the transaction of each event's business object and starts its
workflow, then marks the events processed::

    invoice.finalized   → invoice-to-ledger  key <invoice id>
    invoice.paid        → payment-to-cash    key <invoice id>:paid
    charge.refunded     → payment-to-cash    key <charge id>:refunded:<amount refunded so far>
    credit_note.created → payment-to-cash    key <credit note id>:credit_note

The business key, not the Stripe event id, decides: a redelivered event (Stripe gives it the
same id, the inbox keeps it once) and the same object announced twice land on one
transaction, and two processes polling at once open one transaction (its unique key) and
start one workflow (its id). An event is marked processed only after its workflow was
started, so a crash in between means the event is read again and the start repeated, which
changes nothing. Event types no workflow handles are marked processed and ignored.

Only ids are read from the vendor payload (the event's object id, and for a charge its
payment intent and refunded amount); the workflows read the objects themselves through the
system services.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from apis.canonical import VendorEvent

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

logger = structlog.get_logger("strata.process")
BATCH = 100
"""Events read per poll."""
INVOICE_TO_LEDGER = "invoice-to-ledger"
PAYMENT_TO_CASH = "payment-to-cash"


class Start(msgspec.Struct, frozen=True, kw_only=True):
    """The workflow an event starts."""

    workflow: str
    business_key: str
    input: dict[str, Any]


class _Envelope(msgspec.Struct, frozen=True):
    data: dict[str, Any]
    created: int | None = None


def route(event: VendorEvent) -> Start | None:
    """The workflow ``event`` starts, or ``None`` for an event no workflow handles."""
    try:
        envelope = msgspec.json.decode(event.payload, type=_Envelope)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    obj = envelope.data.get("object")
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        return None
    object_id: str = obj["id"]
    base = {"event_id": event.id, "event_type": event.type}
    if event.type == "invoice.finalized":
        return Start(workflow=INVOICE_TO_LEDGER, business_key=object_id, input={**base, "invoice_id": object_id})
    if event.type == "invoice.paid":
        intents = [
            p["payment"]["payment_intent"]
            for p in (obj.get("payments") or {}).get("data") or []
            if isinstance(p, dict) and isinstance(p.get("payment"), dict) and p["payment"].get("payment_intent")
        ]
        return Start(
            workflow=PAYMENT_TO_CASH,
            business_key=f"{object_id}:paid",
            input={**base, "kind": "paid", "invoice_id": object_id, "payment_intent_ids": intents},
        )
    if event.type == "charge.refunded" and isinstance(obj.get("payment_intent"), str):
        refunded = obj.get("amount_refunded")
        return Start(
            workflow=PAYMENT_TO_CASH,
            business_key=f"{object_id}:refunded:{refunded}",
            input={
                **base,
                "kind": "refund",
                "charge_id": object_id,
                "payment_intent_id": obj["payment_intent"],
                "event_created": envelope.created,
            },
        )
    if event.type == "credit_note.created":
        return Start(
            workflow=PAYMENT_TO_CASH,
            business_key=f"{object_id}:credit_note",
            input={**base, "kind": "credit_note", "credit_note_id": object_id},
        )
    return None


async def consume_once(process: ProcessRuntime) -> int:
    """Start the workflows of the unprocessed events and mark them processed; how many events were read."""
    events = await process.payments.unprocessed_events(limit=BATCH)
    for event in events:
        start = route(event)
        spec = process.workflows.get(start.workflow) if start is not None else None
        if start is not None and spec is not None:
            transaction, _ = await process.transactions.open(start.workflow, start.business_key, input=start.input)
            await process.engine.start_once(spec.run, transaction.id, transaction.id, start.business_key)
        # Per event, right after its start: a failure later in the batch does not start these again.
        await process.payments.mark_events_processed([event.id])
    return len(events)


async def consume_inbox(process: ProcessRuntime) -> None:
    """Background job of every process with the engine: :func:`consume_once` every ``inbox_poll_ms``."""
    interval = process.settings.inbox_poll_ms / 1000
    while True:
        try:
            read = await consume_once(process)
        except Exception:  # the database or the engine is away: read again next interval
            logger.exception("ledger inbox could not be consumed")
            read = 0
        if read < BATCH:  # a full batch means more are waiting: read on at once
            await asyncio.sleep(interval)

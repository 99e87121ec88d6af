"""Stripe events start the ledger workflows, once per business object, before the intake answers.

The payments system API verifies each webhook delivery, stores it in the vendor event inbox
(once per Stripe event id) and hands it to :func:`take_event`, which this module installs as the
intake's hook (:func:`stripe_intake`). That opens the transaction of the event's business
object and starts its workflow, and only then does the intake answer 2xx::

    invoice.finalized   → invoice-to-ledger  key <invoice id>
    invoice.paid        → payment-to-cash    key <invoice id>:paid
    charge.refunded     → payment-to-cash    key <charge id>:refunded:<amount refunded so far>
    credit_note.created → payment-to-cash    key <credit note id>:credit_note

The business key, not the Stripe event id, decides: a redelivered event (Stripe gives it the
same id, the inbox keeps it once, and the hook runs again) and the same object announced twice
land on one transaction (its unique key), whose id is the workflow id, so the start is
idempotent — two processes taking the same event at once open one transaction and start one
workflow. The workflow's status row is written before the start returns, so a 2xx means the
workflow is durable: a process killed right after answering finishes it at its restart (or
another process takes it over). If the start fails, the intake answers 503 and Stripe
redelivers. The event is marked processed after its workflow was started. Event types no
workflow handles are marked processed and ignored.

A slow sweep (:func:`consume_once`, every ``inbox_sweep_seconds`` in every process with the
engine, and at start) takes the events stored without their workflow started: those stored
before this release (when a poller started them) and those received by a gateway without the
engine (it stores and answers, as before).

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
from core.errors import StateUnavailable

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

logger = structlog.get_logger("strata.process")
BATCH = 100
"""Events read per sweep round."""
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


async def take_event(process: ProcessRuntime, event: VendorEvent) -> None:
    """Start the workflow ``event`` calls for (idempotently) and mark the event processed.

    Raises:
        StateUnavailable: the transaction or the workflow could not be written (the intake answers
            503: Stripe delivers the event again).
    """
    start = route(event)
    spec = process.workflows.get(start.workflow) if start is not None else None
    if start is not None and spec is not None:
        try:
            transaction, _ = await process.transactions.open(start.workflow, start.business_key, input=start.input)
            await process.engine.start_once(spec.run, transaction.id, transaction.id, start.business_key)
        except Exception as error:
            logger.warning(
                "a stripe event's workflow could not be started", event_id=event.id, error=type(error).__name__
            )
            raise StateUnavailable("the event's workflow could not be started; deliver it again") from error
    await process.payments.mark_events_processed([event.id])


async def consume_once(process: ProcessRuntime) -> int:
    """The sweep: start the workflows of the unprocessed events and mark them processed; how many
    events were read."""
    events = await process.payments.unprocessed_events(limit=BATCH)
    for event in events:
        await take_event(process, event)  # marked per event: a failure later does not start these again
    return len(events)


async def stripe_intake(process: ProcessRuntime) -> None:
    """Background job of every process with the engine: install :func:`take_event` as the Stripe
    intake's hook, then sweep (:func:`consume_once`) at once and every ``inbox_sweep_seconds``.

    The hook goes in before the first sweep: an event stored before it was installed is read by
    that sweep, and any later one is taken by the hook.
    """

    async def hook(event: VendorEvent) -> None:
        await take_event(process, event)

    process.payments.on_event = hook
    try:
        while True:
            try:
                read = await consume_once(process)
            except Exception:  # the database or the engine is away: read again next interval
                logger.exception("ledger inbox could not be swept")
                read = 0
            if read < BATCH:  # a full batch means more are waiting: read on at once
                await asyncio.sleep(process.settings.inbox_sweep_seconds)
    finally:
        if process.payments.on_event is hook:
            process.payments.on_event = None

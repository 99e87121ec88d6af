"""Refunds and credit notes become ERP credit memos (the credit branch of payment-to-cash).

``charge.refunded`` (business key ``<charge id>:refunded:<amount refunded so far>``) and
``credit_note.created`` (``<credit note id>:credit_note``) run payment-to-cash's ``validate``,
then::

    find_erp_invoice    the ERP invoice credited: a credit note's invoice through the xref
                        "invoice"; a refund's through the ERP payment of its payment intent
                        (xref "payment", linked by payment-to-cash) — retried while not there yet
    create_credit_memo  the ERP credit memo (external id = the refund or credit note id)  → credited
    record_credit_memo  strata.credit_memo.issued, in the state's transaction            → completed

A credit of the whole invoice credits its lines; a partial one is one line of the amount on
the invoice's first item. The refund a ``charge.refunded`` event is about is the newest one of
the payment created by the time of the event (the event carries the charge, not the refund).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from apis.canonical import CreditMemoCreate, DocumentLineInput, Money
from apis.process.event_types import CreditMemoIssued, event_data
from apis.process.ledger.hold import Held, hold
from apis.process.ledger.mapping import broken, closed_period
from apis.process.ledger.posting import ErpInvoiceNotPosted, erp_invoice_of, posting_date
from apis.process.runtime import runtime
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, VendorRecord, transaction_event
from core.errors import PeriodClosed

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

SOURCE = "/strata/process/payment-to-cash"


class CreditPlan(msgspec.Struct, frozen=True, kw_only=True):
    """One refund or credit note to credit in the ERP, checked."""

    source: Literal["refund", "credit_note"]
    source_id: str
    """The refund or credit note id: the credit memo's external id."""
    billing_object: str
    """What the event was about (``charge`` or ``credit_note``), for the lineage."""
    billing_id: str
    billing_invoice_id: str | None
    """The billing invoice credited (credit notes; a refund names its payment instead)."""
    payment_intent_id: str | None
    amount: Money
    credit_date: dt.date
    hold_reason: str | None


class Credited(msgspec.Struct, frozen=True, kw_only=True):
    """The ERP invoice credited and the customer it belongs to."""

    erp_invoice_id: str
    erp_customer_id: str
    lines: list[DocumentLineInput]
    total: str


async def plan_credit(process: ProcessRuntime, event: dict[str, Any], overrides: dict[str, Any]) -> CreditPlan:
    """Read the refund or credit note the event announced."""
    if event.get("kind") == "refund":
        plan = await _refund(process, event, overrides)
    elif event.get("kind") == "credit_note":
        note = await process.billing.get_credit_note(str(event["credit_note_id"]))
        if note.status != "issued":
            raise broken(
                "credit_note_void", f"Credit note {note.id} is {note.status}", process.billing.vendor, "/status"
            )
        plan = CreditPlan(
            source="credit_note",
            source_id=note.id,
            billing_object="credit_note",
            billing_id=note.id,
            billing_invoice_id=note.invoice_id,
            payment_intent_id=None,
            amount=note.amount,
            credit_date=posting_date(note.created_at, overrides),
            hold_reason=None,
        )
    else:
        raise broken(
            "event_unknown", f"payment-to-cash cannot handle {event.get('kind')!r}", process.billing.vendor, "/kind"
        )
    reason = await closed_period(process, plan.credit_date, "/posting_date")
    return msgspec.structs.replace(plan, hold_reason=reason)


async def _refund(process: ProcessRuntime, event: dict[str, Any], overrides: dict[str, Any]) -> CreditPlan:
    intent_id = str(event["payment_intent_id"])
    announced = event.get("event_created")
    refunds = [
        r
        for r in (await process.payments.list_refunds(payment_intent_id=intent_id, limit=100)).items
        if r.status == "succeeded" and (not isinstance(announced, int) or r.created_at.timestamp() <= announced)
    ]
    if not refunds:
        detail = f"Payment {intent_id} has no succeeded refund to credit"
        raise broken("refund_not_found", detail, process.billing.vendor, "/payment_intent_id")
    refund = max(refunds, key=lambda r: (r.created_at, r.id))
    return CreditPlan(
        source="refund",
        source_id=refund.id,
        billing_object="charge",
        billing_id=str(event["charge_id"]),
        billing_invoice_id=None,
        payment_intent_id=intent_id,
        amount=refund.amount,
        credit_date=posting_date(refund.created_at, overrides),
        hold_reason=None,
    )


async def credit(transaction_id: str, plan: CreditPlan) -> dict[str, Any]:
    """The credit branch of the workflow (its steps; see the module docstring)."""
    erp = runtime().erp_system
    if plan.hold_reason is not None:
        await hold(transaction_id, "validate", Held(reason=plan.hold_reason))
    target = await run_step(transaction_id, "find_erp_invoice", erp, find_credited_invoice, plan)
    memo = await run_step(transaction_id, "create_credit_memo", erp, create_credit_memo, transaction_id, plan, target)
    if isinstance(memo, Held):
        await hold(transaction_id, "create_credit_memo", memo)
    await run_step(transaction_id, "record_credit_memo", None, record_credit_memo, transaction_id, plan, target, memo)
    return {"erp_invoice_id": target.erp_invoice_id, "erp_credit_memo_id": memo}


async def find_credited_invoice(plan: CreditPlan) -> Credited:
    """The ERP invoice the credit applies to.

    Raises:
        ErpInvoiceNotPosted: its invoice (or the payment refunded) is not in the ERP yet.
    """
    process = runtime()
    if plan.billing_invoice_id is not None:
        erp_invoice_id = await erp_invoice_of(process, plan.billing_invoice_id)
    else:
        assert plan.payment_intent_id is not None
        canonical_id = await process.xref.canonical_id("payment", process.billing.vendor, plan.payment_intent_id)
        payment_id = await process.xref.vendor_id("payment", canonical_id, process.erp_system) if canonical_id else None
        if payment_id is None:
            raise ErpInvoiceNotPosted(f"Payment {plan.payment_intent_id} is not applied in the ERP yet")
        payment = await process.erp.get_customer_payment(payment_id)
        if not payment.applications:
            detail = f"ERP payment {payment_id} is applied to no invoice, so the refund has nothing to credit"
            raise broken("payment_unapplied", detail, process.erp_system, "/applications")
        erp_invoice_id = payment.applications[0].invoice_id
    invoice = await process.erp.get_invoice(erp_invoice_id)
    return Credited(
        erp_invoice_id=invoice.id,
        erp_customer_id=invoice.customer_id,
        lines=[
            DocumentLineInput(
                item_id=line.item_id,
                quantity=line.quantity,
                unit_price=line.unit_price.amount,
                description=line.description,
            )
            for line in invoice.lines
        ],
        total=invoice.total.amount,
    )


async def create_credit_memo(transaction_id: str, plan: CreditPlan, target: Credited) -> str | Held:
    """The ERP credit memo of the refund or credit note; its id."""
    process = runtime()
    if Decimal(plan.amount.amount) == Decimal(target.total) or not target.lines:
        lines = target.lines
    else:
        label = "Refund" if plan.source == "refund" else "Credit note"
        lines = [
            DocumentLineInput(
                item_id=target.lines[0].item_id,
                quantity="1",
                unit_price=plan.amount.amount,
                description=f"{label} {plan.source_id}",
            )
        ]
    try:
        memo, _ = await process.erp.create_credit_memo(
            CreditMemoCreate(
                external_id=plan.source_id,
                customer_id=target.erp_customer_id,
                date=plan.credit_date,
                currency=plan.amount.currency,
                lines=lines,
                invoice_id=target.erp_invoice_id,
                memo=f"Strata {transaction_id}: billing {plan.source.replace('_', ' ')} {plan.source_id}"[:200],
            )
        )
    except PeriodClosed as error:
        return Held(reason=error.detail)
    await process.transactions.advance(
        transaction_id,
        "credited",
        step="create_credit_memo",
        records=[VendorRecord(system=process.erp_system, object="credit_memo", id=memo.id)],
    )
    return memo.id


async def record_credit_memo(transaction_id: str, plan: CreditPlan, target: Credited, memo_id: str) -> None:
    """Write ``strata.credit_memo.issued`` to the outbox in the transaction that completes the credit."""
    data = CreditMemoIssued(
        transaction_id=transaction_id,
        source=plan.source,
        source_id=plan.source_id,
        billing_invoice_id=plan.billing_invoice_id,
        erp_invoice_id=target.erp_invoice_id,
        erp_credit_memo_id=memo_id,
        erp_customer_id=target.erp_customer_id,
        amount=plan.amount,
        credit_date=plan.credit_date.isoformat(),
    )
    event = transaction_event(
        "strata.credit_memo.issued",
        transaction_id,
        "record_credit_memo",
        subject=plan.source_id,
        source=SOURCE,
        # Keyed by the credited object: two events announcing one refund issue one credit memo event.
        key=plan.source_id,
        data=event_data(data),
    )
    await runtime().transactions.advance(transaction_id, COMPLETED, step="record_credit_memo", events=[event])


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of the credit branch talks to (``validate`` and ``find_erp_invoice`` are shared)."""
    return {"create_credit_memo": erp, "record_credit_memo": None}

"""Invoice-to-ledger: a finalized billing invoice is taxed and posted to the ERP.

Started by the Stripe intake (:mod:`apis.process.ledger.inbox`) on ``invoice.finalized`` (business key:
the Stripe invoice id).
Read top to bottom; each ``run_step`` is one durable step::

    validate              read the invoice, map customer and lines, check the period  → validated
                          (a closed period: held, before any write)
    await_posting_window  the pause until the next posting window (durable sleep)
    commit_tax            the tax transaction, committed (document code = invoice number) → tax_committed
    post_invoice          the ERP invoice (external id = the Stripe invoice id), xref "invoice" → posted;
                          each line carries its service period, over which the ERP recognises
                          the revenue ratably by month (how, per ERP: ErpConnector.create_invoice)
    record_posting        strata.invoice.posted, in the state's transaction            → completed

Exactly-once at the vendors: the tax transaction is keyed by (company, invoice number) and
the ERP invoice by its external id, so a step re-run after a crash finds what it created.
The ERP legal entity is the customer's (the ERP derives it from the customer); the posting
date is the day the invoice was finalized, or the ``posting_date`` an operator gave a replay.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from apis.canonical import Address, InvoiceCreate, InvoiceLineInput, Money, TaxLineRequest, TaxTransactionCreate
from apis.process.engine import sleep, workflow
from apis.process.event_types import InvoicePosted, event_data
from apis.process.ledger.hold import Held, hold
from apis.process.ledger.mapping import LedgerLine, broken, closed_period, erp_customer_of, ledger_lines
from apis.process.ledger.mapping import legal_entity as find_legal_entity
from apis.process.ledger.posting import check_overrides, posting_date
from apis.process.ledger.window import seconds_to_window
from apis.process.runtime import runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, VendorRecord, transaction_event
from core.errors import PeriodClosed

WORKFLOW = "invoice-to-ledger"
SOURCE = "/strata/process/invoice-to-ledger"
STATES = ("accepted", "validated", "tax_committed", "posted", "completed")
"""The business states of an invoice-to-ledger transaction that goes well, in order."""


class InvoicePlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the writing steps need to post one invoice, checked."""

    invoice_id: str
    number: str
    billing_customer_id: str
    erp_customer_id: str
    legal_entity_id: str | None
    tax_company: str
    tax_customer_id: str
    ship_to: Address
    buyer_tax_id: str | None
    currency: str
    posting_date: dt.date
    due_date: dt.date | None
    total: str
    lines: list[LedgerLine]
    hold_reason: str | None
    """Why the posting date cannot be posted (a closed period), if so."""


class Posted(msgspec.Struct, frozen=True, kw_only=True):
    """The ERP invoice of the billing invoice."""

    erp_invoice_id: str
    legal_entity_id: str | None


@workflow(WORKFLOW)
async def invoice_to_ledger(transaction_id: str, invoice_id: str) -> dict[str, Any]:
    """The invoice-to-ledger workflow of one billing invoice (workflow id = ``transaction_id``)."""
    erp = runtime().erp_system
    plan = await run_step(transaction_id, "validate", runtime().billing.vendor, validate, transaction_id, invoice_id)
    if plan.hold_reason is not None:
        await hold(transaction_id, "validate", Held(reason=plan.hold_reason))
    pause = await run_step(transaction_id, "await_posting_window", None, posting_pause)
    if pause > 0:
        await sleep(pause)
    tax_total = await run_step(transaction_id, "commit_tax", runtime().tax.vendor, commit_tax, transaction_id, plan)
    posted = await run_step(transaction_id, "post_invoice", erp, post_invoice, transaction_id, plan)
    if isinstance(posted, Held):
        await hold(transaction_id, "post_invoice", posted)
    await run_step(transaction_id, "record_posting", None, record_posting, transaction_id, plan, posted, tax_total)
    return {"erp_invoice_id": posted.erp_invoice_id, "tax_total": tax_total}


async def validate(transaction_id: str, invoice_id: str) -> InvoicePlan:
    """Read the billing invoice and map it (customer, items, legal entity, period); no write."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    overrides = (transaction.overrides if transaction else None) or {}
    invoice = await process.billing.get_invoice(invoice_id)
    if invoice.status not in ("open", "paid") or invoice.number is None:
        detail = f"Invoice {invoice_id} is {invoice.status}; only finalized invoices are posted"
        raise broken("invoice_not_finalized", detail, process.billing.vendor, "/status")
    customer = await process.billing.get_customer(invoice.customer_id)
    erp_customer = await erp_customer_of(process, customer)
    lines = await ledger_lines(process, invoice)
    ship_to = customer.billing_address or erp_customer.billing_address
    if ship_to is None or not ship_to.country:
        detail = f"Billing customer {customer.id} has no billing country, so the invoice cannot be taxed"
        raise broken("tax_address_incomplete", detail, process.billing.vendor, "/billing_address/country")
    entity = await find_legal_entity(process, erp_customer.legal_entity_id)
    day = posting_date(invoice.finalized_at or invoice.created_at, overrides)
    plan = InvoicePlan(
        invoice_id=invoice.id,
        number=invoice.number,
        billing_customer_id=customer.id,
        erp_customer_id=erp_customer.id,
        legal_entity_id=erp_customer.legal_entity_id,
        tax_company=f"STRATA-{(entity.country if entity else None) or 'US'}",
        tax_customer_id=customer.crm_account_id or erp_customer.id,
        ship_to=ship_to,
        buyer_tax_id=erp_customer.tax_id,
        currency=invoice.total.currency,
        posting_date=day,
        due_date=invoice.due_date if invoice.due_date and invoice.due_date >= day else None,
        total=invoice.total.amount,
        lines=lines,
        hold_reason=await closed_period(process, day, "/posting_date"),
    )
    await process.transactions.advance(
        transaction_id,
        "validated",
        step="validate",
        records=[VendorRecord(system=process.billing.vendor, object="invoice", id=invoice.id)],
    )
    return plan


async def posting_pause() -> float:
    """Seconds until the next posting window (0 without one); a step, so recovery waits for the same one."""
    minutes = runtime().settings.ledger_posting_window_minutes
    return seconds_to_window(dt.datetime.now(dt.UTC), minutes)


async def commit_tax(transaction_id: str, plan: InvoicePlan) -> Money:
    """Record and commit the invoice's tax (document code = the invoice number)."""
    process = runtime()
    recorded = await process.tax.create_transaction(
        TaxTransactionCreate(
            company=plan.tax_company,
            customer_id=plan.tax_customer_id,
            date=plan.posting_date,
            currency=plan.currency,
            ship_to=plan.ship_to,
            buyer_tax_id=plan.buyer_tax_id,
            code=plan.number,
            lines=[
                TaxLineRequest(
                    amount=Money(amount=line.amount, currency=plan.currency),
                    number=str(index),
                    product_code=line.code,
                    description=line.description,
                    quantity=line.quantity,
                )
                for index, line in enumerate(plan.lines, start=1)
            ],
        )
    )
    await process.transactions.advance(
        transaction_id,
        "tax_committed",
        step="commit_tax",
        records=[
            VendorRecord(system=process.tax.vendor, object="tax_transaction", id=f"{plan.tax_company}:{plan.number}")
        ],
    )
    return recorded.total_tax


async def post_invoice(transaction_id: str, plan: InvoicePlan) -> Posted | Held:
    """Create the ERP invoice and link it to the billing invoice (xref kind ``invoice``)."""
    process = runtime()
    try:
        invoice, _ = await process.erp.create_invoice(
            InvoiceCreate(
                external_id=plan.invoice_id,
                customer_id=plan.erp_customer_id,
                date=plan.posting_date,
                due_date=plan.due_date,
                currency=plan.currency,
                lines=[
                    InvoiceLineInput(
                        item_id=line.item_id,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        description=line.description,
                        service_start=line.service_start,
                        service_end=line.service_end,
                    )
                    for line in plan.lines
                ],
                memo=f"Strata {transaction_id}: billing invoice {plan.number}"[:200],
            )
        )
    except PeriodClosed as error:  # closed since validate (or the cached period was stale)
        return Held(reason=error.detail)
    canonical_id, _ = await process.xref.canonical_id_for("invoice", process.billing.vendor, plan.invoice_id)
    await process.xref.link("invoice", canonical_id, process.erp_system, invoice.id)
    await process.transactions.advance(
        transaction_id,
        "posted",
        step="post_invoice",
        records=[VendorRecord(system=process.erp_system, object="invoice", id=invoice.id)],
    )
    return Posted(erp_invoice_id=invoice.id, legal_entity_id=invoice.legal_entity_id or plan.legal_entity_id)


async def record_posting(transaction_id: str, plan: InvoicePlan, posted: Posted, tax_total: Money) -> None:
    """Write ``strata.invoice.posted`` to the outbox in the transaction that completes the posting."""
    process = runtime()
    data = InvoicePosted(
        transaction_id=transaction_id,
        billing_invoice_id=plan.invoice_id,
        invoice_number=plan.number,
        billing_customer_id=plan.billing_customer_id,
        erp_customer_id=plan.erp_customer_id,
        erp_invoice_id=posted.erp_invoice_id,
        legal_entity_id=posted.legal_entity_id,
        posting_date=plan.posting_date.isoformat(),
        total=Money(amount=plan.total, currency=plan.currency),
        tax_total=tax_total,
    )
    event = transaction_event(
        "strata.invoice.posted",
        transaction_id,
        "record_posting",
        subject=plan.invoice_id,
        source=SOURCE,
        data=event_data(data),
    )
    await process.transactions.advance(transaction_id, COMPLETED, step="record_posting", events=[event])


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of invoice-to-ledger talks to."""
    return {
        "validate": runtime().billing.vendor,
        "await_posting_window": None,
        "commit_tax": runtime().tax.vendor,
        "post_invoice": erp,
        "record_posting": None,
    }


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=invoice_to_ledger,
    step_systems=step_systems,
    check_overrides=check_overrides,
    compensate=None,
)

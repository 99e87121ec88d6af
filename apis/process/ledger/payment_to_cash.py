"""Payment-to-cash: a paid billing invoice becomes an ERP customer payment applied to its invoice.

Started by the Stripe intake (:mod:`apis.process.ledger.inbox`) on ``invoice.paid`` (business key
``<invoice id>:paid``); refunds and credit notes run under the same workflow, as credit memos
(:mod:`apis.process.ledger.credits`).
Read top to bottom; each ``run_step`` is one durable step::

    validate          read the paid invoice, its ERP customer and its opportunity   → validated
    find_erp_invoice  the ERP invoice invoice-to-ledger posted (xref "invoice"); not posted
                      yet → retried with durable backoff until it is
    apply_payment     the ERP customer payment (external id = the business key)     → payment_applied
    update_crm        opportunity billing status paid, account billing status active → crm_updated
    record_payment    strata.payment.applied, in the state's transaction            → completed

A payment dated in a closed ERP period is held (see :mod:`apis.process.ledger.hold`); replay
with ``{"posting_date": ...}`` records it in an open one. A payment the ERP recorded but would
not post (Business Central's payment-batch posting is unverified) moves to ``payment_recorded``
and is held with reason ``awaiting_posting``: it shows in the operations API's exception queue,
reconciliation reports it (``payment_not_posted_in_erp``), and a replay posts it.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from apis.canonical import BillingStatusPatch, CustomerPaymentCreate, CustomerUpsert, Money, PaymentApplication
from apis.process.engine import workflow
from apis.process.event_types import PaymentApplied, event_data
from apis.process.ledger import credits
from apis.process.ledger.hold import AWAITING_POSTING, Held, hold
from apis.process.ledger.mapping import broken, closed_period, erp_customer_of
from apis.process.ledger.posting import check_overrides, erp_invoice_of, posting_date
from apis.process.runtime import runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, VendorRecord, transaction_event
from core.errors import PeriodClosed

WORKFLOW = "payment-to-cash"
SOURCE = "/strata/process/payment-to-cash"
STATES = ("accepted", "validated", "payment_applied", "crm_updated", "completed")
"""The business states of a payment that goes well, in order (credits: see the credits module)."""
_OPPORTUNITY_ID = re.compile(r"^006[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$")
"""A Salesforce opportunity id (key prefix 006)."""


class PaymentPlan(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the writing steps of one payment need, checked."""

    invoice_id: str
    number: str
    erp_customer_id: str
    currency: str
    amount: str
    payment_date: dt.date
    payment_intent_id: str | None
    opportunity_id: str | None
    crm_account_id: str | None
    hold_reason: str | None


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    """The ERP payment of the billing payment."""

    erp_invoice_id: str
    erp_payment_id: str


@workflow(WORKFLOW)
async def payment_to_cash(transaction_id: str, business_key: str) -> dict[str, Any]:
    """The payment-to-cash workflow of one paid invoice, refund or credit note (workflow id = ``transaction_id``)."""
    erp = runtime().erp_system
    plan = await run_step(transaction_id, "validate", runtime().billing.vendor, validate, transaction_id)
    if isinstance(plan, credits.CreditPlan):
        return await credits.credit(transaction_id, plan)
    if plan.hold_reason is not None:
        await hold(transaction_id, "validate", Held(reason=plan.hold_reason))
    erp_invoice_id = await run_step(transaction_id, "find_erp_invoice", erp, find_erp_invoice, plan.invoice_id)
    applied = await run_step(transaction_id, "apply_payment", erp, apply_payment, transaction_id, plan, erp_invoice_id)
    if isinstance(applied, Held):
        await hold(transaction_id, "apply_payment", applied)
    await run_step(transaction_id, "update_crm", runtime().crm.vendor, update_crm, transaction_id, plan)
    await run_step(transaction_id, "record_payment", None, record_payment, transaction_id, plan, applied)
    return msgspec.to_builtins(applied)  # type: ignore[no-any-return]


async def validate(transaction_id: str) -> PaymentPlan | credits.CreditPlan:
    """Read what the event announced (its kind is in the transaction's input) and check it; no write."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    assert transaction is not None
    overrides = transaction.overrides or {}
    plan: PaymentPlan | credits.CreditPlan
    if transaction.input.get("kind") == "paid":
        plan = await _plan_payment(transaction.input, overrides)
        record = VendorRecord(system=process.billing.vendor, object="invoice", id=plan.invoice_id)
    else:
        plan = await credits.plan_credit(process, transaction.input, overrides)
        record = VendorRecord(system=process.billing.vendor, object=plan.billing_object, id=plan.billing_id)
    await process.transactions.advance(transaction_id, "validated", step="validate", records=[record])
    return plan


async def _plan_payment(event: dict[str, Any], overrides: dict[str, Any]) -> PaymentPlan:
    process = runtime()
    invoice = await process.billing.get_invoice(str(event["invoice_id"]))
    if invoice.status != "paid" or invoice.number is None:
        raise broken(
            "invoice_not_paid",
            f"Invoice {invoice.id} is {invoice.status}, not paid",
            process.billing.vendor,
            "/status",
        )
    customer = await process.billing.get_customer(invoice.customer_id)
    erp_customer = await erp_customer_of(process, customer)
    opportunity_id = None
    if invoice.subscription_id is not None:
        external_id = (await process.billing.get_subscription(invoice.subscription_id)).external_id
        opportunity_id = external_id if external_id and _OPPORTUNITY_ID.match(external_id) else None
    day = posting_date(invoice.paid_at or invoice.finalized_at or invoice.created_at, overrides)
    intents = [str(i) for i in event.get("payment_intent_ids") or []]
    # Paid out of band: nothing was charged through billing, the whole amount due was settled.
    amount = invoice.amount_paid if invoice.amount_paid.decimal() > 0 else invoice.amount_due
    return PaymentPlan(
        invoice_id=invoice.id,
        number=invoice.number,
        erp_customer_id=erp_customer.id,
        currency=invoice.total.currency,
        amount=amount.amount,
        payment_date=day,
        payment_intent_id=intents[0] if intents else None,
        opportunity_id=opportunity_id,
        crm_account_id=customer.crm_account_id,
        hold_reason=await closed_period(process, day, "/posting_date"),
    )


async def find_erp_invoice(billing_invoice_id: str) -> str:
    """The ERP invoice of the paid invoice; retried (durably) while invoice-to-ledger has not posted it."""
    return await erp_invoice_of(runtime(), billing_invoice_id)


async def apply_payment(transaction_id: str, plan: PaymentPlan, erp_invoice_id: str) -> Applied | Held:
    """Record the payment in the ERP, applied to the invoice; link it to the billing payment."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    assert transaction is not None
    try:
        payment, _ = await process.erp.create_customer_payment(
            CustomerPaymentCreate(
                external_id=transaction.business_key,
                customer_id=plan.erp_customer_id,
                date=plan.payment_date,
                currency=plan.currency,
                amount=plan.amount,
                applications=[PaymentApplication(invoice_id=erp_invoice_id, amount=plan.amount)],
            )
        )
    except PeriodClosed as error:
        return Held(reason=error.detail)
    if plan.payment_intent_id is not None:
        # What a refund of this payment looks up to find the invoice it credits.
        canonical_id, _ = await process.xref.canonical_id_for("payment", process.billing.vendor, plan.payment_intent_id)
        await process.xref.link("payment", canonical_id, process.erp_system, payment.id)
    record = VendorRecord(system=process.erp_system, object="customer_payment", id=payment.id)
    if not payment.posted:
        await process.transactions.advance(transaction_id, "payment_recorded", step="apply_payment", records=[record])
        reason = f"The ERP recorded payment {payment.id} but has not posted it: awaiting posting (replay posts it)"
        return Held(reason=reason, reason_code=AWAITING_POSTING)
    await process.transactions.advance(transaction_id, "payment_applied", step="apply_payment", records=[record])
    return Applied(erp_invoice_id=erp_invoice_id, erp_payment_id=payment.id)


async def update_crm(transaction_id: str, plan: PaymentPlan) -> None:
    """Opportunity billing status ``paid``; the account's billing status ``active``.

    The CRM upserts accounts by their Strata id only, and an upsert writes every field: so the
    account is updated only when it carries its Strata id, with its own current values.
    """
    process = runtime()
    records: list[VendorRecord] = []
    if plan.opportunity_id is not None:
        await process.crm.patch_opportunity_billing_status(
            plan.opportunity_id, BillingStatusPatch(billing_status="paid", invoice_number=plan.number)
        )
        records.append(VendorRecord(system=process.crm.vendor, object="opportunity", id=plan.opportunity_id))
    if plan.crm_account_id is not None:
        account = await process.crm.get_account(plan.crm_account_id)
        if account.external_id and account.billing_status != "active":
            await process.crm.upsert_account_by_external_id(
                account.external_id,
                CustomerUpsert(
                    name=account.name,
                    domain=account.domain,
                    parent_id=account.parent_id,
                    billing_address=account.billing_address,
                    tax_id=account.tax_id,
                    currency=account.currency,
                    industry=account.industry,
                    billing_status="active",
                ),
            )
            records.append(VendorRecord(system=process.crm.vendor, object="account", id=account.id))
    await process.transactions.advance(transaction_id, "crm_updated", step="update_crm", records=records)


async def record_payment(transaction_id: str, plan: PaymentPlan, applied: Applied) -> None:
    """Write ``strata.payment.applied`` to the outbox in the transaction that completes the payment."""
    data = PaymentApplied(
        transaction_id=transaction_id,
        billing_invoice_id=plan.invoice_id,
        erp_invoice_id=applied.erp_invoice_id,
        erp_payment_id=applied.erp_payment_id,
        erp_customer_id=plan.erp_customer_id,
        amount=Money(amount=plan.amount, currency=plan.currency),
        payment_date=plan.payment_date.isoformat(),
        opportunity_id=plan.opportunity_id,
    )
    event = transaction_event(
        "strata.payment.applied",
        transaction_id,
        "record_payment",
        subject=plan.invoice_id,
        source=SOURCE,
        data=event_data(data),
    )
    await runtime().transactions.advance(transaction_id, COMPLETED, step="record_payment", events=[event])


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of payment-to-cash talks to (payments and credits)."""
    return {
        "validate": runtime().billing.vendor,
        "find_erp_invoice": erp,
        "apply_payment": erp,
        "update_crm": runtime().crm.vendor,
        "record_payment": None,
        **credits.step_systems(erp),
    }


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=payment_to_cash,
    step_systems=step_systems,
    check_overrides=check_overrides,
    compensate=None,
)

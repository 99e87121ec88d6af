"""Quote-to-cash: a closed-won opportunity becomes a customer, subscription and sales order.

Read top to bottom; each ``run_step`` is one durable step (see :mod:`apis.process.steps`)::

    validate              read the deal and check every rule before any write   → validated
    quote_tax             tax estimate of the order (a read: still no write)
    sync_erp_customer     match or create the ERP customer (xref, then the ERP) ┐
    sync_billing_customer match or create the billing customer                  ┘ → customer_synced
    create_subscription   the opportunity's subscription, else a new one + one-time fees → subscription_provisioned
    create_sales_order    the ERP sales order (external id = the opportunity)   → ordered
    activate_contract     strata.contract.activated, in the state's transaction
    update_crm            billing status back onto the opportunity              → crm_updated → completed

Exactly-once at the vendors: every write carries a key that is the same on every run of the
step — ``<transaction id>:<step>`` for billing (Stripe ``Idempotency-Key``), the opportunity id
as the ERP external id — so a step re-run after a crash finds what its first run created.
The tax quote runs before the writes, although the order of the business process lists it
after the customer: it is a read, and a vendor's refusal of the address then stops the order
before anything exists anywhere.
"""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from typing import Any

import msgspec
from ulid import ULID

from apis.canonical import (
    BillingCustomerCreate,
    BillingStatusPatch,
    DocumentLineInput,
    ErpCustomerUpsert,
    SalesOrderCreate,
    SubscriptionCancel,
    SubscriptionCreate,
    SubscriptionItemInput,
)
from apis.process.compensation import cancel_sales_order, record_compensation
from apis.process.engine import idempotency_key, workflow
from apis.process.overrides import overrides_of
from apis.process.quote_to_cash.plan import OrderPlan, plan_order, tax_request
from apis.process.runtime import runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, About, VendorRecord, transaction_event
from apis.process.xref import XrefLink

WORKFLOW = "quote-to-cash"
SOURCE = "/strata/process/quote-to-cash"
STATES = ("accepted", "validated", "customer_synced", "subscription_provisioned", "ordered", "completed")
"""The business states of a quote-to-cash transaction that goes well, in order."""


class Customers(msgspec.Struct, frozen=True, kw_only=True):
    """The customer of the order in each system."""

    canonical_id: str
    erp_id: str
    billing_id: str


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """What a completed quote-to-cash transaction created."""

    customer_id: str
    erp_customer_id: str
    billing_customer_id: str
    subscription_id: str | None
    sales_order_id: str
    tax_total: str


@workflow(WORKFLOW)
async def quote_to_cash(transaction_id: str, opportunity_id: str) -> dict[str, Any]:
    """The quote-to-cash workflow of one opportunity (workflow id = ``transaction_id``)."""
    plan = await run_step(transaction_id, "validate", runtime().crm.vendor, validate, transaction_id, opportunity_id)
    tax_total = await run_step(transaction_id, "quote_tax", runtime().tax.vendor, quote_tax, plan)
    erp_id = await run_step(
        transaction_id, "sync_erp_customer", runtime().erp_system, sync_erp_customer, transaction_id, plan
    )
    customers = await run_step(
        transaction_id,
        "sync_billing_customer",
        runtime().billing.vendor,
        sync_billing_customer,
        transaction_id,
        plan,
        erp_id,
    )
    subscription_id = await run_step(
        transaction_id,
        "create_subscription",
        runtime().billing.vendor,
        create_subscription,
        transaction_id,
        plan,
        customers,
    )
    order_id = await run_step(
        transaction_id, "create_sales_order", runtime().erp_system, create_sales_order, transaction_id, plan, customers
    )
    result = Result(
        customer_id=customers.canonical_id,
        erp_customer_id=customers.erp_id,
        billing_customer_id=customers.billing_id,
        subscription_id=subscription_id,
        sales_order_id=order_id,
        tax_total=tax_total,
    )
    await run_step(transaction_id, "activate_contract", None, activate_contract, transaction_id, plan, result)
    await run_step(transaction_id, "update_crm", runtime().crm.vendor, update_crm, transaction_id, plan)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


async def validate(transaction_id: str, opportunity_id: str) -> OrderPlan:
    """Read the deal and check it (:func:`~apis.process.quote_to_cash.plan.plan_order`)."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)  # the one read of the row a run makes
    told: list[About] = []

    async def described(about: About) -> None:
        told.append(about)

    try:
        plan = await plan_order(
            process, opportunity_id, transaction.overrides if transaction else None, described=described
        )
    except Exception:
        # A stopped order still shows who and what it is about (written before the stop is); an
        # order that goes on has it written with its state change, one round trip instead of two.
        if told:
            await process.transactions.describe(transaction_id, told[-1])
        raise
    await process.transactions.advance(
        transaction_id, "validated", step="validate", customer_id=plan.account_id, about=told[-1] if told else None
    )
    return plan


async def quote_tax(plan: OrderPlan) -> str:
    """The order's estimated tax total (nothing is recorded at the tax vendor)."""
    quote = await runtime().tax.quote(tax_request(plan, customer_id=plan.account_id))
    return quote.total_tax.amount


async def sync_erp_customer(transaction_id: str, plan: OrderPlan) -> str:
    """The ERP customer of the account: the one the xref or the ERP knows, else a new one.

    An existing ERP customer is left as it is (the ERP owns legal entity and credit terms;
    the CRM-owned name and contacts are customer-sync's to update).
    """
    process = runtime()
    canonical_id = await _canonical_customer(plan)
    linked = await process.xref.vendor_id("customer", canonical_id, process.erp_system)
    erp_id = linked or plan.erp_customer_id
    if erp_id is None:
        customer, _ = await process.erp.upsert_customer(
            plan.account_id,
            ErpCustomerUpsert(
                name=plan.account_name,
                legal_entity_id=plan.legal_entity_id,
                currency=plan.currency,
                tax_id=plan.tax_id,
                domain=plan.domain,
                billing_address=plan.billing_address,
            ),
        )
        erp_id = customer.id
    await process.transactions.advance(
        transaction_id,
        "validated",
        step="sync_erp_customer",
        records=[VendorRecord(system=process.erp_system, object="customer", id=erp_id)],
        links=_link(canonical_id, process.erp_system, erp_id, linked),
    )
    return erp_id


async def sync_billing_customer(transaction_id: str, plan: OrderPlan, erp_id: str) -> Customers:
    """The billing customer of the account: the xref's, one that existed before us carrying its CRM
    id, else the one this step makes (:meth:`~apis.system.billing.service.BillingService.ensure_customer`:
    a retry never makes a second)."""
    process = runtime()
    canonical_id = await _canonical_customer(plan)
    linked = await process.xref.vendor_id("customer", canonical_id, process.billing.vendor)
    billing_id = linked
    if billing_id is None:
        found = await process.billing.find_existing_customer(plan.account_id)
        billing_id = found.id if found is not None else None
    if billing_id is None:
        ensured = await process.billing.ensure_customer(
            BillingCustomerCreate(
                name=plan.account_name,
                external_id=canonical_id,
                crm_account_id=plan.account_id,
                billing_address=plan.billing_address,
            ),
            key=idempotency_key("sync_billing_customer"),
            first_attempt=await _opened_at(transaction_id),
        )
        billing_id = ensured.id
    await process.transactions.advance(
        transaction_id,
        "customer_synced",
        step="sync_billing_customer",
        records=[VendorRecord(system=process.billing.vendor, object="customer", id=billing_id)],
        links=_link(canonical_id, process.billing.vendor, billing_id, linked),
    )
    return Customers(canonical_id=canonical_id, erp_id=erp_id, billing_id=billing_id)


async def create_subscription(transaction_id: str, plan: OrderPlan, customers: Customers) -> str | None:
    """The billing subscription of the order's recurring and metered lines, its one-time lines on the
    first invoice (``None`` if the order has no recurring line: its one-time lines are the ERP order's)."""
    process = runtime()
    items = [
        SubscriptionItemInput(
            price_id=line.price_id, quantity=None if line.price_kind == "metered" else _units(line.quantity)
        )
        for line in plan.lines
        if line.price_kind != "one_time"
    ]
    if not items:
        await process.transactions.advance(transaction_id, "subscription_provisioned", step="create_subscription")
        return None
    # One-time lines (onboarding fees) go onto the subscription's first invoice, as well as the ERP order.
    one_time = [
        SubscriptionItemInput(price_id=line.price_id, quantity=_units(line.quantity))
        for line in plan.lines
        if line.price_kind == "one_time"
    ]
    # One read first: a subscription made for this opportunity by an earlier transaction whose
    # state was lost (a restored backup) carries other keys, and only billing remembers it.
    subscription = await process.billing.find_subscription(
        customers.billing_id, plan.opportunity_id
    ) or await process.billing.create_subscription(
        SubscriptionCreate(
            customer_id=customers.billing_id, items=items, external_id=plan.opportunity_id, one_time_items=one_time
        ),
        key=idempotency_key("create_subscription"),
    )
    await process.transactions.advance(
        transaction_id,
        "subscription_provisioned",
        step="create_subscription",
        records=[VendorRecord(system=process.billing.vendor, object="subscription", id=subscription.id)],
    )
    return subscription.id


async def create_sales_order(transaction_id: str, plan: OrderPlan, customers: Customers) -> str:
    """The ERP sales order (its external id, the opportunity id, makes the create exactly-once)."""
    process = runtime()
    order, _ = await process.erp.create_sales_order(
        SalesOrderCreate(
            external_id=plan.opportunity_id,
            customer_id=customers.erp_id,
            date=plan.order_date,
            currency=plan.currency,
            lines=[
                DocumentLineInput(
                    item_id=line.erp_item_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    description=line.description,
                )
                for line in plan.lines
            ],
            memo=f"Strata {transaction_id}: {plan.opportunity_name}"[:200],
        )
    )
    await process.transactions.advance(
        transaction_id,
        "ordered",
        step="create_sales_order",
        records=[VendorRecord(system=process.erp_system, object="sales_order", id=order.id)],
    )
    return order.id


async def activate_contract(transaction_id: str, plan: OrderPlan, result: Result) -> None:
    """Write ``strata.contract.activated`` to the outbox, in the transaction that records it."""
    process = runtime()
    event = transaction_event(
        "strata.contract.activated",
        transaction_id,
        "activate_contract",
        subject=result.customer_id,
        source=SOURCE,
        data={
            "transaction_id": transaction_id,
            "opportunity_id": plan.opportunity_id,
            "customer_id": result.customer_id,
            "crm_account_id": plan.account_id,
            "erp_customer_id": result.erp_customer_id,
            "billing_customer_id": result.billing_customer_id,
            "subscription_id": result.subscription_id,
            "sales_order_id": result.sales_order_id,
            "total": {"amount": plan.total, "currency": plan.currency},
            "activated_at": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        },
    )
    await process.transactions.advance(transaction_id, "ordered", step="activate_contract", events=[event])


async def update_crm(transaction_id: str, plan: OrderPlan) -> None:
    """Billing status ``pending`` (subscribed, not invoiced yet) onto the opportunity; completes.

    (``crm_updated`` and ``completed`` are one state change: nothing runs between them.)
    """
    process = runtime()
    await process.crm.patch_opportunity_billing_status(
        plan.opportunity_id, BillingStatusPatch(billing_status="pending")
    )
    await process.transactions.advance(
        transaction_id,
        COMPLETED,
        step="update_crm",
        records=[VendorRecord(system=process.crm.vendor, object="opportunity", id=plan.opportunity_id)],
    )


async def _canonical_customer(plan: OrderPlan) -> str:
    """The canonical id of the plan's account (its CRM ``Strata_Id__c`` if it has one)."""
    xref = runtime().xref
    if plan.account_external_id and plan.account_external_id.startswith("cus_"):
        known = await xref.canonical_id("customer", runtime().crm.vendor, plan.account_id)
        if known is None:
            await xref.link("customer", plan.account_external_id, runtime().crm.vendor, plan.account_id)
            return plan.account_external_id
        return known
    canonical_id, _ = await xref.canonical_id_for("customer", runtime().crm.vendor, plan.account_id)
    return canonical_id


def _link(canonical_id: str, system: str, vendor_id: str, linked: str | None) -> list[XrefLink]:
    """The xref link a step records with its state change (none if the xref had it already)."""
    if linked == vendor_id:
        return []
    return [XrefLink(kind="customer", canonical_id=canonical_id, system=system, vendor_id=vendor_id)]


async def _opened_at(transaction_id: str) -> float:
    """When the transaction was opened: the instant in its id (``txn_<ULID>``, minted as the row was
    made, so no later than any step's first attempt), without reading the row again."""
    try:
        return float(ULID.from_str(transaction_id.removeprefix("txn_")).timestamp)
    except ValueError:
        transaction = await runtime().transactions.get(transaction_id)
        return transaction.created_at if transaction is not None else time.time()


def _units(quantity: str) -> int:
    # Billing counts whole units; a fractional CRM quantity rounds up (never bill less than sold).
    value = Decimal(quantity)
    whole = int(value)
    return whole if whole == value else whole + 1


# -- compensation ------------------------------------------------------------------------------
@workflow("quote-to-cash-compensation")
async def compensate(compensation_id: str, transaction_id: str) -> dict[str, Any]:
    """Undo what a stopped quote-to-cash transaction did, newest first.

    The billing subscription is cancelled, the ERP sales order cancelled the ERP's own way
    (:meth:`~apis.system.erp.service.ErpService.cancel_sales_order`: deleted, closed, rejected
    or cancelled) and the opportunity's billing status set to ``failed``; each is one durable
    step, run once. An order the ERP refuses to cancel (409: invoiced or billed meanwhile) is
    listed as ``kept`` with the ERP's reason, in the ``strata.transaction.compensated`` event
    and the result, for the ERP team; customers are kept (they are shared with other orders).
    """
    records = await run_step(transaction_id, "compensation:read", None, _records, transaction_id)
    undone: list[dict[str, str]] = []
    kept: list[dict[str, str]] = []
    for record in reversed(records):
        if record.object == "subscription":
            await run_step(
                transaction_id,
                "compensation:cancel_subscription",
                runtime().billing.vendor,
                _cancel_subscription,
                record.id,
            )
            undone.append({"system": record.system, "object": record.object, "id": record.id})
        elif record.object == "opportunity":
            await run_step(transaction_id, "compensation:reset_crm", runtime().crm.vendor, _reset_crm, record.id)
            undone.append({"system": record.system, "object": "opportunity_billing_status", "id": record.id})
        elif record.object == "sales_order":
            refused = await run_step(
                transaction_id,
                "compensation:cancel_sales_order",
                runtime().erp_system,
                cancel_sales_order,
                transaction_id,
                record.id,
            )
            entry = {"system": record.system, "object": record.object, "id": record.id}
            if refused is None:
                undone.append(entry)
            else:
                kept.append({**entry, "reason": refused})
    await run_step(
        transaction_id, "compensation:record", None, record_compensation, transaction_id, WORKFLOW, SOURCE, undone, kept
    )
    return {"undone": undone, "kept": kept}


async def _records(transaction_id: str) -> list[VendorRecord]:
    lineage = await runtime().transactions.lineage(transaction_id)
    return [
        VendorRecord(system=e.system, object=e.object, id=e.vendor_id)
        for e in lineage
        if e.kind == "record" and e.system and e.object and e.vendor_id
    ]


async def _cancel_subscription(subscription_id: str) -> None:
    await runtime().billing.cancel_subscription(subscription_id, SubscriptionCancel())


async def _reset_crm(opportunity_id: str) -> None:
    await runtime().crm.patch_opportunity_billing_status(opportunity_id, BillingStatusPatch(billing_status="failed"))


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of quote-to-cash talks to."""
    return {
        "validate": runtime().crm.vendor,
        "quote_tax": runtime().tax.vendor,
        "sync_erp_customer": erp,
        "sync_billing_customer": runtime().billing.vendor,
        "create_subscription": runtime().billing.vendor,
        "create_sales_order": erp,
        "activate_contract": None,
        "update_crm": runtime().crm.vendor,
        "compensation:cancel_subscription": runtime().billing.vendor,
        "compensation:cancel_sales_order": erp,
        "compensation:reset_crm": runtime().crm.vendor,
    }


class Overrides(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Corrected input an operator may give a quote-to-cash replay."""

    order_date: dt.date | None = None
    """Order date to use instead of the opportunity's close date (e.g. in the open period)."""
    product_codes: dict[str, str] | None = None
    """Product code on the opportunity → the catalog code to order instead."""


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=quote_to_cash,
    step_systems=step_systems,
    check_overrides=overrides_of(Overrides),
    compensate=compensate,
)

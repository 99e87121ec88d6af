"""Subscription changes: upgrade, downgrade, quantity change, renewal, cancellation.

Read top to bottom; each ``run_step`` is one durable step (see :mod:`apis.process.steps`)::

    validate             read and check every rule before any write (plan.py)      → validated
    change_billing       the billing subscription, as the governance rule says     → billing_changed
    change_entitlements  the product platform's entitlements of the tenant         → entitled
    create_change_order  the ERP change order of what the change adds              → ordered
    record_change        strata.subscription.changed, in the state's transaction
    update_crm           billing status back onto the opportunity (if one)         → completed

Billing: an immediate change updates the subscription's items with the rule's proration
(Stripe ``proration_behavior``); a change at the period's end (a downgrade, by default) is a
Stripe subscription schedule whose next phase holds the new items; a renewal schedules its new
items for the next term (or only lifts a pending cancellation: Stripe renews by itself); a
cancellation sets ``cancel_at_period_end`` or cancels at once (DELETE, crediting the unused time
if the rule says so).

ERP: every ERP gets a **change order** — a new sales order of what the change adds (a renewal:
its whole next term), its external id the opportunity or, for a direct request, the
transaction id, its memo naming the subscription — through the ERP system API's
``create_sales_order``, the same call for NetSuite (a new Sales Order), Business Central (a new
salesOrder), SAP S/4HANA (a new A_SalesOrder; SAP's own amendment is a change of the original
order's schedule lines, which the system API does not offer) and Oracle Fusion (a new order;
Order Management's revisions of the original are not offered either). A change that only takes
away (a downgrade, fewer seats, a cancellation) makes no ERP order: ERP orders hold positive
quantities, and the credit is billing's (a proration or credit note) on its way to the ledger.

Exactly-once: every billing write carries ``<transaction id>:<step>``; entitlement grants and
revocations carry keys of the same kind; the ERP order's external id makes its create
exactly-once; changes of entitlements set absolute values (a repeat changes nothing).
Undoing a stopped change is :mod:`~apis.process.subscription_changes.compensation`'s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, NamedTuple

import msgspec

from apis.canonical import (
    BillingStatusPatch,
    DocumentLineInput,
    EntitlementChange,
    EntitlementGrant,
    EntitlementRevoke,
    Money,
    SalesOrderCreate,
    SubscriptionAmend,
    SubscriptionCancel,
    SubscriptionItemChange,
    SubscriptionItemInput,
)
from apis.process.engine import idempotency_key, workflow
from apis.process.event_types import SubscriptionChanged, SubscriptionChangeItem, event_data
from apis.process.runtime import runtime
from apis.process.steps import run_step
from apis.process.subscription_changes.plan import ChangePlan, ChangeRequest, plan_change
from apis.process.transactions import COMPLETED, VendorRecord, transaction_event

WORKFLOW = "subscription-changes"
SOURCE = "/strata/process/subscription-changes"
STATES = ("accepted", "validated", "billing_changed", "entitled", "ordered", "completed")
"""The business states of a change that goes well, in order."""


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """What a completed change did."""

    subscription_id: str
    kind: str
    effective: str
    schedule_id: str | None
    sales_order_id: str | None


@workflow(WORKFLOW)
async def subscription_change(transaction_id: str, business_key: str) -> dict[str, Any]:
    """The change of one subscription (workflow id = ``transaction_id``)."""
    plan = await run_step(transaction_id, "validate", runtime().crm.vendor, validate, transaction_id)
    schedule_id = await run_step(
        transaction_id, "change_billing", runtime().billing.vendor, change_billing, transaction_id, plan
    )
    await run_step(
        transaction_id, "change_entitlements", runtime().product.vendor, change_entitlements, transaction_id, plan
    )
    order_id = await run_step(
        transaction_id, "create_change_order", runtime().erp_system, create_change_order, transaction_id, plan
    )
    result = Result(
        subscription_id=plan.subscription_id,
        kind=plan.kind,
        effective=plan.effective,
        schedule_id=schedule_id,
        sales_order_id=order_id,
    )
    await run_step(transaction_id, "record_change", None, record_change, transaction_id, plan, result)
    await run_step(transaction_id, "update_crm", runtime().crm.vendor, update_crm, transaction_id, plan)
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


async def validate(transaction_id: str) -> ChangePlan:
    """Read the change and check it (:func:`~apis.process.subscription_changes.plan.plan_change`)."""
    process = runtime()
    transaction = await process.transactions.get(transaction_id)
    assert transaction is not None
    request = msgspec.convert({**transaction.input, **(transaction.overrides or {})}, ChangeRequest)
    plan = await plan_change(process, request)
    await process.transactions.advance(transaction_id, "validated", step="validate", customer_id=plan.account_id)
    return plan


async def change_billing(transaction_id: str, plan: ChangePlan) -> str | None:
    """Change the billing subscription as the plan's rule says; the schedule's id if one holds the change."""
    process = runtime()
    billing = process.billing
    key = idempotency_key("change_billing")
    schedule_id: str | None = None
    record = "subscription_change"
    if plan.kind == "cancel_immediately":
        await billing.cancel_subscription(plan.subscription_id, SubscriptionCancel(prorate=plan.credit_unused))
        record = "subscription_cancellation"
    elif plan.kind == "cancel_at_period_end":
        await billing.set_cancel_at_period_end(plan.subscription_id, True, key=key)
        record = "subscription_cancellation_scheduled"
    elif plan.effective == "period_end" and amendment(plan):
        items = [
            SubscriptionItemInput(price_id=t.price_id, quantity=None if t.metered else t.quantity) for t in plan.target
        ]
        scheduled = await billing.schedule_at_period_end(
            plan.subscription_id, items, key=key, external_id=transaction_id
        )
        schedule_id = scheduled.id
        record = "subscription_schedule"
    elif plan.kind == "renewal":
        if plan.cancel_at_period_end:
            await billing.set_cancel_at_period_end(plan.subscription_id, False, key=key)
        record = "subscription_renewal"
    else:
        await billing.amend_subscription(
            plan.subscription_id, SubscriptionAmend(items=amendment(plan), proration=plan.proration), key=key
        )
    await process.transactions.advance(
        transaction_id,
        "billing_changed",
        step="change_billing",
        records=[VendorRecord(system=billing.vendor, object=record, id=schedule_id or plan.subscription_id)],
    )
    return schedule_id


def amendment(plan: ChangePlan) -> list[SubscriptionItemChange]:
    """The item changes that make the subscription's items the plan's target (matched by product)."""
    changes: list[SubscriptionItemChange] = []
    current = {c.product_code: c for c in plan.current}
    for target in plan.target:
        quantity = None if target.metered else target.quantity
        had = current.pop(target.product_code, None)
        if had is None:
            changes.append(SubscriptionItemChange(price_id=target.price_id, quantity=quantity))
        elif had.price_id != target.price_id or had.quantity != quantity:
            changes.append(SubscriptionItemChange(item_id=had.item_id, price_id=target.price_id, quantity=quantity))
    changes.extend(SubscriptionItemChange(item_id=c.item_id, remove=True) for c in current.values())
    return changes


class EntitlementAction(NamedTuple):
    """One write at the product platform: revoke or change an entitlement, or grant a SKU."""

    verb: Literal["revoke", "change", "grant"]
    target: str
    """The entitlement (revoke, change) or the SKU code (grant)."""
    change: EntitlementChange | None = None
    quantity: int = 0


def entitlement_actions(plan: ChangePlan) -> list[EntitlementAction]:
    """What the change does to the tenant's entitlements of the subscription's products.

    At once: quantities set, new SKUs granted, dropped ones revoked. At the period's end (a
    downgrade, a renewal, a cancellation): the current entitlement ends with the period and the
    new quantity is a grant that starts then; a renewal extends an entitlement that has an end by
    one more term. The tenant's other entitlements belong to other orders and are left alone.
    """
    if plan.product_customer_id is None:
        return []
    at_end = plan.effective == "period_end" and plan.period_end is not None
    products = {c.product_code for c in plan.current} | {t.product_code for t in plan.target}
    active = {e.sku_code: e for e in plan.entitlements if e.sku_code in products}
    wanted = {t.product_code: t.quantity for t in plan.target if not t.metered}
    actions: list[EntitlementAction] = []
    for code, entitlement in active.items():
        quantity = wanted.pop(code, None)
        if plan.kind == "cancel_immediately" or (quantity is None and not at_end):
            actions.append(EntitlementAction("revoke", entitlement.id))
        elif quantity is None or plan.kind == "cancel_at_period_end":
            actions.append(EntitlementAction("change", entitlement.id, EntitlementChange(ends_at=plan.period_end)))
        elif plan.kind == "renewal" and quantity == entitlement.quantity:
            if entitlement.ends_at is not None:
                actions.append(
                    EntitlementAction("change", entitlement.id, EntitlementChange(ends_at=_next_term_end(plan)))
                )
        elif quantity == entitlement.quantity:
            continue
        elif at_end:  # the new quantity from the period's end: this one ends, a new one starts
            actions.append(EntitlementAction("change", entitlement.id, EntitlementChange(ends_at=plan.period_end)))
            wanted[code] = quantity
        else:
            actions.append(EntitlementAction("change", entitlement.id, EntitlementChange(quantity=quantity)))
    actions.extend(EntitlementAction("grant", code, quantity=quantity) for code, quantity in wanted.items())
    return actions


def _next_term_end(plan: ChangePlan) -> dt.datetime | None:
    """The end of the term after this one (as long as the current period)."""
    if plan.period_start is None or plan.period_end is None:
        return None
    return plan.period_end + (plan.period_end - plan.period_start)


async def change_entitlements(transaction_id: str, plan: ChangePlan) -> None:
    """Apply :func:`entitlement_actions` (none when the product platform has no tenant for the account)."""
    process = runtime()
    product = process.product
    records: list[VendorRecord] = []
    for action in entitlement_actions(plan):
        if action.verb == "revoke":
            await product.revoke_entitlement(
                action.target,
                EntitlementRevoke(reason=f"Strata {transaction_id}"),
                idempotency_key=f"{transaction_id}:revoke:{action.target}",
            )
            records.append(VendorRecord(system=product.vendor, object="entitlement", id=action.target))
        elif action.verb == "change" and action.change is not None:
            await product.change_entitlement(action.target, action.change)
            records.append(VendorRecord(system=product.vendor, object="entitlement", id=action.target))
        elif plan.product_customer_id is not None:
            granted = await product.grant_entitlement(
                plan.product_customer_id,
                EntitlementGrant(
                    sku_code=action.target,
                    quantity=action.quantity,
                    starts_at=plan.period_end if plan.effective == "period_end" else None,
                    source_ref=plan.opportunity_id or transaction_id,
                ),
                idempotency_key=f"{transaction_id}:grant:{action.target}",
            )
            records.append(VendorRecord(system=product.vendor, object="entitlement_granted", id=granted.id))
    await process.transactions.advance(transaction_id, "entitled", step="change_entitlements", records=records)


async def create_change_order(transaction_id: str, plan: ChangePlan) -> str | None:
    """The ERP change order of what the change adds (``None`` when it adds nothing)."""
    process = runtime()
    if not plan.erp_lines or plan.erp_customer_id is None:
        await process.transactions.advance(transaction_id, "ordered", step="create_change_order")
        return None
    order, _ = await process.erp.create_sales_order(
        SalesOrderCreate(
            external_id=plan.opportunity_id or transaction_id,
            customer_id=plan.erp_customer_id,
            date=plan.change_date,
            currency=plan.currency,
            lines=[
                DocumentLineInput(
                    item_id=line.item_id,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    description=line.description,
                )
                for line in plan.erp_lines
            ],
            memo=f"Strata {transaction_id}: {plan.kind} of subscription {plan.subscription_id}"[:200],
        )
    )
    await process.transactions.advance(
        transaction_id,
        "ordered",
        step="create_change_order",
        records=[VendorRecord(system=process.erp_system, object="sales_order", id=order.id)],
    )
    return order.id


async def record_change(transaction_id: str, plan: ChangePlan, result: Result) -> None:
    """Write ``strata.subscription.changed`` to the outbox, in the transaction that records it."""
    process = runtime()
    effective_at = plan.period_end if plan.effective == "period_end" and plan.period_end else None
    data = SubscriptionChanged(
        transaction_id=transaction_id,
        subscription_id=plan.subscription_id,
        crm_account_id=plan.account_id,
        opportunity_id=plan.opportunity_id,
        kind=plan.kind,
        rule=plan.rule,
        effective=plan.effective,
        effective_at=_iso(effective_at or dt.datetime.now(dt.UTC)),
        proration=plan.proration,
        items_before=[SubscriptionChangeItem(product_code=c.product_code, quantity=c.quantity) for c in plan.current],
        items_after=[
            SubscriptionChangeItem(product_code=t.product_code, quantity=None if t.metered else t.quantity)
            for t in plan.target
        ],
        recurring_before=Money(amount=plan.recurring_before, currency=plan.currency),
        recurring_after=Money(amount=plan.recurring_after, currency=plan.currency),
        schedule_id=result.schedule_id,
        sales_order_id=result.sales_order_id,
    )
    event = transaction_event(
        "strata.subscription.changed",
        transaction_id,
        "record_change",
        subject=plan.subscription_id,
        source=SOURCE,
        data=event_data(data),
    )
    await process.transactions.advance(transaction_id, "ordered", step="record_change", events=[event])


async def update_crm(transaction_id: str, plan: ChangePlan) -> None:
    """Billing status ``pending`` onto the amendment or renewal opportunity (a direct request has none); completes."""
    process = runtime()
    records = []
    if plan.opportunity_id is not None:
        await process.crm.patch_opportunity_billing_status(
            plan.opportunity_id, BillingStatusPatch(billing_status="pending")
        )
        records = [VendorRecord(system=process.crm.vendor, object="opportunity", id=plan.opportunity_id)]
    await process.transactions.advance(transaction_id, COMPLETED, step="update_crm", records=records)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of a subscription change talks to."""
    process = runtime()
    return {
        "validate": process.crm.vendor,
        "change_billing": process.billing.vendor,
        "change_entitlements": process.product.vendor,
        "create_change_order": erp,
        "record_change": None,
        "update_crm": process.crm.vendor,
    }


class Overrides(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Corrected input an operator may give a replay of a change."""

    effective_date: dt.date | None = None
    """The change date to use instead (e.g. in the open period)."""

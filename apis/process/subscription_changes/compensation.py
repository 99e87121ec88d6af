"""Undoing a stopped subscription change (``/process/operations/v1`` compensate), newest write first."""

from __future__ import annotations

from typing import Any

from apis.canonical import (
    BillingStatusPatch,
    EntitlementChange,
    EntitlementRevoke,
    SubscriptionAmend,
    SubscriptionItemChange,
)
from apis.process.compensation import cancel_sales_order, record_compensation
from apis.process.engine import workflow
from apis.process.runtime import runtime
from apis.process.steps import run_step
from apis.process.subscription_changes.plan import ChangePlan
from apis.process.subscription_changes.workflow import SOURCE, WORKFLOW
from apis.process.transactions import VendorRecord


@workflow("subscription-changes-compensation")
async def compensate(compensation_id: str, transaction_id: str) -> dict[str, Any]:
    """Undo what a stopped change did, newest first, each undo one durable step run once.

    The ERP change order is cancelled the ERP's way; granted entitlements are revoked and changed
    ones get their quantity and end back; the billing change is reversed — items set back (with
    the same proration, so the charge is credited), the schedule released, a pending cancellation
    lifted. What cannot be undone is listed as ``kept`` with the reason: a subscription canceled
    at once (Stripe cannot resume it), an entitlement revoked, an order the ERP refuses to cancel.
    """
    records = await run_step(transaction_id, "compensation:read", None, _records, transaction_id)
    plan = await run_step(transaction_id, "compensation:plan", None, _plan_of, transaction_id)
    undone: list[dict[str, str]] = []
    kept: list[dict[str, str]] = []
    for record in reversed(records):
        entry = {"system": record.system, "object": record.object, "id": record.id}
        refused = await run_step(
            transaction_id,
            f"compensation:{record.object}:{record.id}",
            record.system,
            _undo,
            transaction_id,
            record,
            plan,
        )
        if refused is None:
            undone.append(entry)
        else:
            kept.append({**entry, "reason": refused})
    if plan is not None and not any(u["object"] == "subscription_schedule" for u in undone):
        # A schedule created by a change_billing that failed after it (setting its phases) is in no
        # record; it carries this transaction's id in its metadata.
        leftover = await run_step(
            transaction_id,
            "compensation:release_leftover_schedule",
            runtime().billing.vendor,
            _release_leftover_schedule,
            transaction_id,
            plan,
        )
        if leftover is not None:
            undone.append({"system": runtime().billing.vendor, "object": "subscription_schedule", "id": leftover})
    await run_step(
        transaction_id, "compensation:record", None, record_compensation, transaction_id, WORKFLOW, SOURCE, undone, kept
    )
    return {"undone": undone, "kept": kept}


async def _release_leftover_schedule(transaction_id: str, plan: ChangePlan) -> str | None:
    billing = runtime().billing
    subscription = await billing.get_subscription(plan.subscription_id)
    if subscription.schedule_id is None or subscription.status == "canceled":
        return None
    if (await billing.get_schedule(subscription.schedule_id)).external_id != transaction_id:
        return None  # another change's
    await billing.release_schedule(subscription.schedule_id, key=f"{transaction_id}:compensation:leftover_schedule")
    return subscription.schedule_id


async def _records(transaction_id: str) -> list[VendorRecord]:
    lineage = await runtime().transactions.lineage(transaction_id)
    return [
        VendorRecord(system=e.system, object=e.object, id=e.vendor_id)
        for e in lineage
        if e.kind == "record" and e.system and e.object and e.vendor_id
    ]


async def _plan_of(transaction_id: str) -> ChangePlan | None:
    """The plan the transaction's ``validate`` step checkpointed (what the subscription was before)."""
    output = await runtime().engine.step_output(transaction_id, "validate")
    return output if isinstance(output, ChangePlan) else None


async def _undo(transaction_id: str, record: VendorRecord, plan: ChangePlan | None) -> str | None:
    """Undo one record; ``None`` when undone, else why it stays."""
    process = runtime()
    key = f"{transaction_id}:compensation:{record.object}:{record.id}"
    if record.object == "sales_order":
        return await cancel_sales_order(transaction_id, record.id)
    elif record.object == "entitlement_granted":
        await process.product.revoke_entitlement(
            record.id, EntitlementRevoke(reason=f"Strata compensation of {transaction_id}"), idempotency_key=key
        )
    elif record.object == "entitlement":
        before = next((e for e in plan.entitlements if e.id == record.id), None) if plan else None
        current = await process.product.get_entitlement(record.id)
        if current.status == "revoked":
            return "a revoked entitlement cannot be restored; grant it again"
        if before is not None:
            await process.product.change_entitlement(
                record.id, EntitlementChange(quantity=before.quantity, ends_at=before.ends_at)
            )
    elif record.object == "subscription_schedule":
        await process.billing.release_schedule(record.id, key=key)
    elif record.object == "subscription_cancellation_scheduled":
        await process.billing.set_cancel_at_period_end(record.id, False, key=key)
    elif record.object == "subscription_cancellation":
        return "a canceled billing subscription cannot be resumed; sell a new one"
    elif record.object == "subscription_change" and plan is not None:
        await _restore_items(plan, key)
    elif record.object == "opportunity":
        await process.crm.patch_opportunity_billing_status(record.id, BillingStatusPatch(billing_status="failed"))
    return None


async def _restore_items(plan: ChangePlan, key: str) -> None:
    """Set the subscription's items back to the plan's ``current`` (the same proration credits the charge)."""
    billing = runtime().billing
    now = await billing.get_subscription(plan.subscription_id)
    before = {c.price_id: c for c in plan.current}
    changes: list[SubscriptionItemChange] = []
    for item in now.items:
        had = before.pop(item.price_id, None)
        if had is None:
            changes.append(SubscriptionItemChange(item_id=item.id, remove=True))
        elif had.quantity != item.quantity:
            changes.append(SubscriptionItemChange(item_id=item.id, quantity=had.quantity))
    changes.extend(SubscriptionItemChange(price_id=c.price_id, quantity=c.quantity) for c in before.values())
    if changes:
        # Additions first: Stripe refuses a moment without any item.
        changes.sort(key=lambda change: change.remove)
        await billing.amend_subscription(
            plan.subscription_id, SubscriptionAmend(items=changes, proration=plan.proration), key=key
        )

"""What a change does to the tenant's entitlements, decided before any call (no gateway needed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apis.canonical import EntitlementChange
from apis.process.subscription_changes.plan import ChangePlan, CurrentItem, EntitlementBefore, TargetItem
from apis.process.subscription_changes.workflow import EntitlementAction, entitlement_actions

START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
END = dt.datetime(2027, 12, 1, tzinfo=dt.UTC)


def plan(kind: str, effective: str, before: dict[str, int], after: dict[str, int], **extra: Any) -> ChangePlan:
    """A plan of ``kind`` from ``before`` to ``after`` (product code → units), entitled as ``before``
    plus an entitlement to another product that the change must leave alone."""
    entitlements = [
        EntitlementBefore(id=f"ent-{code}", sku_code=code, quantity=n, ends_at=None) for code, n in before.items()
    ]
    values: dict[str, Any] = {
        "kind": kind,
        "rule": kind,
        "effective": effective,
        "proration": "none",
        "credit_unused": True,
        "account_id": "001000000000001AAA",
        "opportunity_id": None,
        "subscription_id": "sub_1",
        "billing_customer_id": "cus_1",
        "currency": "USD",
        "change_date": START.date(),
        "period_start": START,
        "period_end": END,
        "cancel_at_period_end": False,
        "current": [
            CurrentItem(item_id=f"si_{c}", price_id=f"price_{c}", product_code=c, quantity=n, unit_amount="10")
            for c, n in before.items()
        ],
        "target": [
            TargetItem(
                product_code=c, quantity=n, price_id=f"price_{c}", metered=False, unit_amount="10", erp_item_id="1"
            )
            for c, n in after.items()
        ],
        "erp_customer_id": "1",
        "erp_lines": [],
        "product_customer_id": "acct-1",
        "entitlements": [*entitlements, EntitlementBefore(id="ent-other", sku_code="OTHER", quantity=9, ends_at=None)],
        "recurring_before": "0",
        "recurring_after": "0",
    }
    return ChangePlan(**{**values, **extra})


def test_an_immediate_change_sets_quantities_grants_new_products_and_revokes_dropped_ones() -> None:
    actions = entitlement_actions(plan("upgrade", "immediately", {"A": 2, "B": 1}, {"A": 5, "C": 1}))
    assert actions == [
        EntitlementAction("change", "ent-A", EntitlementChange(quantity=5)),
        EntitlementAction("revoke", "ent-B"),
        EntitlementAction("grant", "C", quantity=1),
    ]


def test_a_change_at_the_period_end_ends_the_current_entitlements_then_and_grants_from_then() -> None:
    actions = entitlement_actions(plan("downgrade", "period_end", {"A": 5, "B": 1}, {"A": 2}))
    assert actions == [
        EntitlementAction("change", "ent-A", EntitlementChange(ends_at=END)),
        EntitlementAction("change", "ent-B", EntitlementChange(ends_at=END)),
        EntitlementAction("grant", "A", quantity=2),
    ]


def test_cancellations_and_a_renewal() -> None:
    assert entitlement_actions(plan("cancel_immediately", "immediately", {"A": 2}, {})) == [
        EntitlementAction("revoke", "ent-A")
    ]
    assert entitlement_actions(plan("cancel_at_period_end", "period_end", {"A": 2}, {})) == [
        EntitlementAction("change", "ent-A", EntitlementChange(ends_at=END))
    ]
    ending = plan(
        "renewal",
        "period_end",
        {"A": 2},
        {"A": 2},
        entitlements=[EntitlementBefore(id="ent-A", sku_code="A", quantity=2, ends_at=END)],
    )
    assert entitlement_actions(ending) == [
        EntitlementAction("change", "ent-A", EntitlementChange(ends_at=END + (END - START)))
    ]
    assert entitlement_actions(plan("renewal", "period_end", {"A": 2}, {"A": 2})) == []  # open-ended stays


def test_a_tenant_the_product_platform_does_not_know_changes_nothing() -> None:
    assert entitlement_actions(plan("upgrade", "immediately", {"A": 2}, {"A": 5}, product_customer_id=None)) == []

"""Subscription schedules: changes that take effect later (``/v1/subscription_schedules``).

Shapes from the spec (``spec3.2023-08-16``: ``subscription_schedule``, its create, update,
``release`` and ``cancel`` operations) and the ``subscription_schedule`` fixture:

* ``POST /v1/subscription_schedules`` with ``from_subscription``: a schedule whose one phase is
  the subscription's current items from the current period's start to its end; the
  subscription's ``schedule`` names it. ``from_subscription`` cannot be combined with
  ``phases`` (Stripe documents this); creating one for a subscription that already has a
  schedule → 400.
* ``POST /v1/subscription_schedules/{id}`` with ``phases[]`` (``items[][price|quantity]``,
  ``start_date``, ``end_date``, ``iterations``, ``proration_behavior``), ``end_behavior``
  (``release`` | ``cancel``), ``proration_behavior``: replaces the phases. The first phase
  must keep its start date (a phase that already began cannot move).
* ``.../release`` detaches the schedule and leaves the subscription as it is
  (``status: released``, ``released_subscription``); ``.../cancel`` cancels the
  subscription too (``status: canceled``).

GUESSED (not in the spec or the fixture): the error messages and codes of refused updates
(``subscription_schedule_already_exists``, ``schedule_not_active``); that a phase's
``end_date`` defaults from ``iterations`` × the first item's interval. Phases never advance
on their own (the sandbox has no clock): a schedule stays ``active`` in its first phase.
"""

from __future__ import annotations

import copy
from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError
from sandboxes.stripe.store import new_id
from sandboxes.stripe.subscriptions import PRORATION, period_end

END_BEHAVIORS = ("release", "cancel", "none", "renew")


def create_schedule(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscription_schedules`` (``from_subscription`` only: new subscriptions are made directly)."""
    p.check_known(params, ("customer", "from_subscription", "metadata", "end_behavior", "phases", "start_date"))
    subscription_id = p.text(params, "from_subscription", need=True)
    if "phases" in params:
        raise StripeError(
            400,
            "You cannot set `phases` if `from_subscription` is set.",
            code="parameter_invalid_empty",
            param="phases",
        )
    subscription = account.store.get("subscription", subscription_id, "from_subscription")
    if subscription["status"] == "canceled":
        raise StripeError(400, "A canceled subscription cannot be scheduled.", param="from_subscription")
    if subscription.get("schedule"):
        raise StripeError(
            400,
            f"The subscription is already attached to a schedule: {subscription['schedule']}.",
            code="subscription_schedule_already_exists",
            param="from_subscription",
        )
    first = subscription["items"]["data"][0]
    now = account.now()
    schedule = {
        "id": new_id("subscription_schedule"),
        "object": "subscription_schedule",
        "application": None,
        "canceled_at": None,
        "completed_at": None,
        "created": now,
        "current_phase": {"start_date": first["current_period_start"], "end_date": first["current_period_end"]},
        "customer": subscription["customer"],
        "default_settings": {
            "billing_cycle_anchor": "automatic",
            "collection_method": subscription["collection_method"],
            "default_payment_method": subscription["default_payment_method"],
            "description": None,
            "invoice_settings": {"days_until_due": subscription["days_until_due"]},
        },
        "end_behavior": p.choice(params, "end_behavior", END_BEHAVIORS, default="release"),
        "livemode": False,
        "metadata": p.metadata({}, params),
        "phases": [
            _phase(
                subscription["currency"],
                [{"price": i["price"]["id"], "quantity": i["quantity"]} for i in subscription["items"]["data"]],
                first["current_period_start"],
                first["current_period_end"],
                "create_prorations",
            )
        ],
        "released_at": None,
        "released_subscription": None,
        "status": "active",
        "subscription": subscription["id"],
        "test_clock": None,
    }
    subscription["schedule"] = schedule["id"]
    account.store.add("subscription_schedule", schedule)
    account.store.touched("subscription")
    account.emit("subscription_schedule.created", schedule)
    return schedule


def update_schedule(account: Account, schedule_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscription_schedules/{id}``: new phases, end behaviour."""
    p.check_known(params, ("default_settings", "end_behavior", "metadata", "phases", "proration_behavior", "expand"))
    schedule = _active(account, schedule_id)
    subscription = account.store.get("subscription", schedule["subscription"])
    behavior = p.choice(params, "proration_behavior", PRORATION, default="create_prorations") or "create_prorations"
    if "phases" in params:
        specs = p.items(params, "phases")
        if not specs:
            raise StripeError(400, "Missing required param: phases.", code="parameter_missing", param="phases")
        phases: list[dict[str, Any]] = []
        start = schedule["phases"][0]["start_date"]
        for index, spec in enumerate(specs):
            phases.append(_phase_of(account, subscription, spec, index, start, behavior))
            start = phases[-1]["end_date"]
        if phases[0]["start_date"] != schedule["phases"][0]["start_date"]:
            raise StripeError(
                400,
                "You can not modify the start date of the current phase.",
                param="phases[0][start_date]",
            )
        schedule["phases"] = phases
    schedule["end_behavior"] = p.choice(params, "end_behavior", END_BEHAVIORS, default=schedule["end_behavior"])
    schedule["metadata"] = p.metadata(schedule["metadata"], params)
    account.store.touched("subscription_schedule")
    account.emit("subscription_schedule.updated", schedule)
    return schedule


def release_schedule(account: Account, schedule_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/subscription_schedules/{id}/release``: the subscription stays, unscheduled."""
    p.check_known(params, ("expand", "preserve_cancel_date"))
    schedule = _active(account, schedule_id)
    subscription = account.store.get("subscription", schedule["subscription"])
    subscription["schedule"] = None
    schedule.update(
        status="released",
        released_at=account.now(),
        released_subscription=subscription["id"],
        subscription=None,
        current_phase=None,
    )
    account.store.touched("subscription_schedule")
    account.emit("subscription_schedule.released", schedule)
    return schedule


def cancel_schedule(account: Account, schedule_id: str, params: dict[str, Any], cancel: Any) -> dict[str, Any]:
    """``POST /v1/subscription_schedules/{id}/cancel``: the subscription is canceled too."""
    p.check_known(params, ("expand", "invoice_now", "prorate"))
    schedule = _active(account, schedule_id)
    subscription_id = schedule["subscription"]
    account.store.get("subscription", subscription_id)["schedule"] = None
    cancel(subscription_id, {k: v for k, v in params.items() if k in ("invoice_now", "prorate")})
    schedule.update(status="canceled", canceled_at=account.now(), current_phase=None)
    account.store.touched("subscription_schedule")
    account.emit("subscription_schedule.canceled", schedule)
    return schedule


def _active(account: Account, schedule_id: str) -> dict[str, Any]:
    schedule = account.store.get("subscription_schedule", schedule_id)
    if schedule["status"] not in ("active", "not_started"):
        raise StripeError(
            400,
            f"You cannot update a subscription schedule that is {schedule['status']}.",
            code="schedule_not_active",  # GUESSED code
        )
    return schedule


def _phase_of(
    account: Account, subscription: dict[str, Any], spec: dict[str, Any], index: int, start: int, behavior: str
) -> dict[str, Any]:
    p.check_known(spec, ("items", "start_date", "end_date", "iterations", "proration_behavior", "metadata"))
    items = p.items(spec, "items")
    if not items:
        raise StripeError(
            400, "Missing required param: phases[][items].", code="parameter_missing", param=f"phases[{index}][items]"
        )
    checked = []
    for number, item in enumerate(items):
        p.check_known(item, ("price", "quantity", "metadata"))
        param = f"phases[{index}][items][{number}][price]"
        price = account.store.get("price", p.text(item, "price", need=True), param)
        if price["type"] != "recurring" or price["currency"] != subscription["currency"]:
            raise StripeError(
                400, "A phase's prices must be recurring and in the subscription's currency.", param=param
            )
        metered = price["recurring"]["usage_type"] == "metered"
        checked.append({"price": price["id"], "quantity": None if metered else p.integer(item, "quantity", default=1)})
    begin = p.integer(spec, "start_date", minimum=0) if "start_date" in spec else start
    assert begin is not None
    end = p.integer(spec, "end_date", minimum=0)
    if end is None:
        iterations = p.integer(spec, "iterations", minimum=1, default=1) or 1
        recurring = account.store.get("price", checked[0]["price"])["recurring"]
        end = period_end(begin, recurring["interval"], recurring["interval_count"] * iterations)
    if end <= begin:
        raise StripeError(400, "A phase must end after it starts.", param=f"phases[{index}][end_date]")
    own = p.choice(spec, "proration_behavior", PRORATION, default=behavior) or behavior
    return _phase(subscription["currency"], checked, begin, end, own)


def _phase(currency: str, items: list[dict[str, Any]], start: int, end: int, proration: str) -> dict[str, Any]:
    return {
        "add_invoice_items": [],
        "application_fee_percent": None,
        "billing_cycle_anchor": None,
        "collection_method": None,
        "currency": currency,
        "default_payment_method": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "end_date": end,
        "invoice_settings": {"account_tax_ids": None, "days_until_due": None, "issuer": {"type": "self"}},
        "items": [
            {"discounts": [], "metadata": {}, "price": i["price"], "quantity": i["quantity"], "tax_rates": []}
            for i in copy.deepcopy(items)
        ],
        "metadata": {},
        "on_behalf_of": None,
        "proration_behavior": proration,
        "start_date": start,
        "transfer_data": None,
        "trial_end": None,
    }

"""Billing meters (``/v1/billing/meters``) and meter events (``/v1/billing/meter_events``)."""

from __future__ import annotations

import secrets
from typing import Any

from sandboxes.stripe import params as p
from sandboxes.stripe.account import Account
from sandboxes.stripe.errors import StripeError
from sandboxes.stripe.lists import page
from sandboxes.stripe.store import new_id

FORMULAS = ("sum", "count", "last")
PAST_WINDOW_SECONDS = 35 * 86400
FUTURE_WINDOW_SECONDS = 5 * 60


def create_meter(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/billing/meters``."""
    p.check_known(
        params,
        (
            "display_name",
            "event_name",
            "default_aggregation",
            "customer_mapping",
            "value_settings",
            "event_time_window",
        ),
    )
    event_name = p.text(params, "event_name", need=True)
    display = p.text(params, "display_name", need=True)
    aggregation = p.mapping(params, "default_aggregation")
    formula = p.choice(aggregation, "formula", FORMULAS)
    if formula is None:
        raise StripeError(
            400,
            "Missing required param: default_aggregation[formula].",
            code="parameter_missing",
            param="default_aggregation[formula]",
        )
    if any(
        m["event_name"] == event_name and m["status"] == "active"
        for m in account.store.objects["billing.meter"].values()
    ):
        raise StripeError(
            400,
            f"An active meter with event_name '{event_name}' already exists.",
            code="resource_already_exists",
            param="event_name",
        )
    mapping = p.mapping(params, "customer_mapping")
    values = p.mapping(params, "value_settings")
    now = account.now()
    meter = {
        "id": new_id("billing.meter"),
        "object": "billing.meter",
        "created": now,
        "customer_mapping": {
            "event_payload_key": mapping.get("event_payload_key") or "stripe_customer_id",
            "type": "by_id",
        },
        "default_aggregation": {"formula": formula},
        "display_name": display,
        "event_name": event_name,
        "event_time_window": params.get("event_time_window") or None,
        "livemode": False,
        "status": "active",
        "status_transitions": {"deactivated_at": None},
        "updated": now,
        "value_settings": {"event_payload_key": values.get("event_payload_key") or "value"},
    }
    return account.store.add("billing.meter", meter)


def list_meters(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/billing/meters`` (``status``)."""
    p.check_known(params, ("limit", "starting_after", "ending_before", "status"))
    status = p.choice(params, "status", ("active", "inactive"))
    return page(
        account.store, "billing.meter", "/v1/billing/meters", params, lambda m: status is None or m["status"] == status
    )


def set_meter_status(account: Account, meter_id: str, active: bool) -> dict[str, Any]:
    """``POST /v1/billing/meters/{id}/deactivate`` and ``/reactivate``."""
    meter = account.store.get("billing.meter", meter_id)
    meter["status"] = "active" if active else "inactive"
    meter["status_transitions"]["deactivated_at"] = None if active else account.now()
    meter["updated"] = account.now()
    account.store.touched("billing.meter")
    return meter


def create_meter_event(account: Account, params: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/billing/meter_events``: validated now, aggregated into the meter's usage.

    A repeated ``identifier`` (within 24 hours) is refused, and not counted twice.
    """
    p.check_known(params, ("event_name", "payload", "identifier", "timestamp"))
    event_name = p.text(params, "event_name", need=True)
    meter = next(
        (
            m
            for m in account.store.objects["billing.meter"].values()
            if m["event_name"] == event_name and m["status"] == "active"
        ),
        None,
    )
    if meter is None:
        raise StripeError(
            400,
            f"No active meter was found for event_name '{event_name}'.",
            code="resource_missing",
            param="event_name",
        )
    payload = p.mapping(params, "payload")
    customer_key, value_key = (
        meter["customer_mapping"]["event_payload_key"],
        meter["value_settings"]["event_payload_key"],
    )
    customer = payload.get(customer_key)
    if not customer:
        raise StripeError(
            400,
            f"Missing required param: payload[{customer_key}].",
            code="parameter_missing",
            param=f"payload[{customer_key}]",
        )
    account.store.get("customer", customer, f"payload[{customer_key}]")
    raw_value = payload.get(value_key, "1" if meter["default_aggregation"]["formula"] == "count" else None)
    try:
        value = int(str(raw_value))
    except ValueError:
        raise StripeError(
            400,
            f"payload[{value_key}] must be a whole number.",
            code="parameter_invalid_integer",
            param=f"payload[{value_key}]",
        ) from None
    now = account.now()
    timestamp = p.integer(params, "timestamp", default=now)
    assert timestamp is not None
    if timestamp < now - PAST_WINDOW_SECONDS or timestamp > now + FUTURE_WINDOW_SECONDS:
        raise StripeError(
            400,
            "Timestamp must be within the past 35 days and no more than 5 minutes in the future.",
            code="timestamp_too_far_in_past" if timestamp < now else "timestamp_in_future",
            param="timestamp",
        )
    identifier = p.text(params, "identifier") or secrets.token_hex(16)
    if len(identifier) > 100:
        raise StripeError(400, "identifier must be at most 100 characters.", param="identifier")
    account.store.prune_idempotency()
    if identifier in account.store.meter_identifiers:
        raise StripeError(
            400,
            f"An event already exists with identifier {identifier}.",
            code="resource_already_exists",
            param="identifier",
        )
    account.store.meter_identifiers[identifier] = float(now)
    account.store.meter_usage.append(
        {"meter": meter["id"], "customer": customer, "value": value, "timestamp": timestamp, "identifier": identifier}
    )
    account.store.touched("billing.meter_event")
    return {
        "object": "billing.meter_event",
        "created": now,
        "event_name": event_name,
        "identifier": identifier,
        "livemode": False,
        "payload": payload,
        "timestamp": timestamp,
    }


def event_summaries(account: Account, meter_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """``GET /v1/billing/meters/{id}/event_summaries``: one summary over ``[start_time, end_time)``."""
    p.check_known(
        params,
        ("customer", "start_time", "end_time", "value_grouping_window", "limit", "starting_after", "ending_before"),
    )
    meter = account.store.get("billing.meter", meter_id)
    customer = p.text(params, "customer", need=True)
    start = p.integer(params, "start_time", need=True) or 0
    end = p.integer(params, "end_time", need=True) or 0
    values = [
        u["value"]
        for u in account.store.meter_usage
        if u["meter"] == meter_id and u["customer"] == customer and start <= u["timestamp"] < end
    ]
    formula = meter["default_aggregation"]["formula"]
    total = len(values) if formula == "count" else (values[-1] if values and formula == "last" else sum(values))
    summary = {
        "id": "mtrusg_" + secrets.token_hex(12),
        "object": "billing.meter_event_summary",
        "aggregated_value": total,
        "end_time": end,
        "livemode": False,
        "meter": meter_id,
        "start_time": start,
    }
    return {
        "object": "list",
        "url": f"/v1/billing/meters/{meter_id}/event_summaries",
        "has_more": False,
        "data": [summary],
    }

"""Usage-to-billing in process: aggregation, billing meter usage, duplicates and late events."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from apis.canonical import BillingCustomerCreate, SubscriptionCreate, SubscriptionItemInput
from apis.process.usage_to_billing.workflow import month_of, period_end
from tests.apis.process.sync.conftest import Sync, events, findings, unique
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")
BATCHES = "/process/usage-to-billing/v1/batches"
_IDS = itertools.count(1)


def event_id() -> str:
    return f"use-{next(_IDS):05d}"


@dataclass
class Metered:
    """A billing customer subscribed to the metered price, and its meter."""

    subscription_id: str
    customer_id: str
    meter_id: str
    event_name: str
    started: dt.datetime

    async def usage(self, sync: Sync) -> int:
        """What billing has metered for the customer since the subscription started."""
        summary = await sync.state.billing.usage_summary(
            self.meter_id,
            customer_id=self.customer_id,
            start=self.started - dt.timedelta(days=40),
            end=dt.datetime.now(dt.UTC) + dt.timedelta(hours=1),
        )
        return int(summary.value)


async def metered(sync: Sync) -> Metered:
    billing = sync.state.billing
    price = next(p for p in (await billing.list_prices(limit=100)).items if p.kind == "metered" and p.active)
    meter = next(m for m in (await billing.list_meters(limit=10)).items if m.id == price.meter_id)
    name = unique("Usage Customer")
    customer = await billing.create_customer(BillingCustomerCreate(name=name), key=f"test:{name}")
    subscription = await billing.create_subscription(
        SubscriptionCreate(customer_id=customer.id, items=[SubscriptionItemInput(price_id=price.id)]),
        key=f"test:{name}:sub",
    )
    starts = [i.current_period_start for i in subscription.items if i.current_period_start]
    return Metered(subscription.id, customer.id, meter.id, meter.event_name, min(starts))


def now_iso(delta: dt.timedelta = dt.timedelta(0)) -> str:
    return (dt.datetime.now(dt.UTC) + delta).isoformat().replace("+00:00", "Z")


def batch(sub: Metered, *usage: tuple[str, int, str | None], period: str | None = None) -> dict[str, Any]:
    return {
        "subscription_id": sub.subscription_id,
        "period": period or month_of(dt.datetime.now(dt.UTC)),
        "events": [
            {"id": i, "event_name": sub.event_name, "quantity": q, **({"timestamp": t} if t else {})}
            for i, q, t in usage
        ],
    }


async def test_a_batch_is_summed_per_meter_and_period_and_metered_in_billing(sync: Sync) -> None:
    sub = await metered(sync)
    before = await sub.usage(sync)
    body = batch(
        sub, (event_id(), 100, now_iso(-dt.timedelta(minutes=2))), (event_id(), 250, now_iso()), (event_id(), 5, None)
    )
    done = await sync.run(BATCHES, body)
    assert done["state"] == "completed", done
    assert [s["name"] for s in done["steps"]] == [
        "read_batch",
        "read_subscription",
        "drop_duplicates",
        "aggregate",
        f"record_usage:{sub.event_name}:{body['period']}",
        "complete",
    ]
    assert await sub.usage(sync) - before == 355
    [billed] = await events(sync, done["id"])
    assert billed["type"] == "strata.usage.billed"
    assert billed["usage"] == [{"event_name": sub.event_name, "period": body["period"], "value": 355}]
    assert (billed["events"], billed["duplicates"], billed["late"]) == (3, 0, 0)
    assert billed["billing_customer_id"] == sub.customer_id


async def test_the_same_batch_again_is_the_same_transaction_and_bills_nothing_more(sync: Sync) -> None:
    sub = await metered(sync)
    body = batch(sub, (event_id(), 40, now_iso()))
    first = await sync.start(BATCHES, body)
    done = await sync.settled(first["transaction"]["id"])
    assert done["state"] == "completed"
    again = await sync.start(BATCHES, body)
    assert again["transaction"]["id"] == done["id"] and again["created"] is False
    assert await sub.usage(sync) == 40


async def test_duplicate_event_ids_are_dropped_across_batches_and_within_one(sync: Sync) -> None:
    sub = await metered(sync)
    seen = event_id()
    done = await sync.run(BATCHES, batch(sub, (seen, 10, now_iso())))
    assert done["state"] == "completed"
    new = event_id()
    second = await sync.run(BATCHES, batch(sub, (seen, 10, now_iso()), (new, 7, now_iso()), (new, 7, now_iso())))
    assert second["state"] == "completed", second
    [billed] = await events(sync, second["id"])
    assert (billed["events"], billed["duplicates"]) == (1, 2)
    assert await sub.usage(sync) == 17
    dropped = await findings(sync, second["id"], "duplicate_event")
    assert sorted(d.split(":")[0] for d in dropped) == sorted([seen, new])


async def test_usage_of_a_closed_period_is_billed_in_the_open_one_and_flagged(sync: Sync) -> None:
    sub = await metered(sync)
    last_month = sub.started.replace(day=1) - dt.timedelta(days=3)
    closed = month_of(last_month)
    assert period_end(closed) <= sub.started
    late_id, on_time_id = event_id(), event_id()
    body = batch(
        sub,
        (late_id, 30, last_month.isoformat().replace("+00:00", "Z")),
        (on_time_id, 12, now_iso()),
        period=closed,
    )
    done = await sync.run(BATCHES, body)
    assert done["state"] == "completed", done
    [billed] = await events(sync, done["id"])
    open_period = month_of(sub.started)
    assert billed["usage"] == [{"event_name": sub.event_name, "period": open_period, "value": 42}]
    assert billed["late"] == 1 and billed["period"] == closed
    [flag] = await findings(sync, done["id"], "late_usage")
    assert flag.startswith(f"{late_id}:") and closed in flag and open_period in flag
    assert await sub.usage(sync) == 42


async def test_an_unknown_subscription_needs_attention_from_billing(sync: Sync) -> None:
    body = {
        "subscription_id": "sub_DoesNotExist000",
        "period": month_of(dt.datetime.now(dt.UTC)),
        "events": [{"id": event_id(), "event_name": "api_calls", "quantity": 1}],
    }
    stopped = await sync.run(BATCHES, body)
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["owner_system"] == "stripe"
    assert stopped["exception"]["failed_step"] == "read_subscription"


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"period": "2026-13"}, "/period"),
        ({"subscription_id": "cus_123"}, "/subscription_id"),
        ({"events": []}, "/events"),
        ({"events": [{"id": "e1", "event_name": "api_calls", "quantity": -1}]}, "/events/0/quantity"),
        ({"events": [{"id": "e1", "event_name": "api_calls", "quantity": 1, "at": "x"}]}, "/events/0"),
        ({"events": [{"id": "e1", "event_name": "api_calls", "quantity": 1, "timestamp": "2999-01-01T00:00:00Z"}]},
         "/events/0/timestamp"),
    ],
)  # fmt: skip
async def test_bad_batches_are_problems_naming_the_field(sync: Sync, change: dict[str, Any], pointer: str) -> None:
    body = {
        "subscription_id": "sub_Any000",
        "period": "2026-11",
        "events": [{"id": "e1", "event_name": "api_calls", "quantity": 1}],
        **change,
    }
    response = await sync.gw.client.post(BATCHES, json=body, headers=sync.writer)
    assert response.status_code == 422, response.text
    assert [e.get("pointer") for e in problem(response)["errors"]] == [pointer]


async def test_submitting_usage_needs_the_write_scope(sync: Sync) -> None:
    response = await sync.gw.client.post(BATCHES, json={}, headers=sync.reader)
    assert response.status_code == 403

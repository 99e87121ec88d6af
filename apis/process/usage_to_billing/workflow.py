"""Usage-to-billing: a batch of usage events becomes metered usage in billing, once per event.

Read top to bottom; each ``run_step`` is one durable step::

    read_subscription    the billing subscription: its customer and its open period
    drop_duplicates      claim each event id (a table of ids seen); seen before → dropped, flagged
    aggregate            sum per meter and billing period; an event of a closed period goes to
                         the open period and is flagged ``late_usage``                        → aggregated
    record_usage:<meter>:<period>   one billing meter event per group (Idempotency-Key)
    complete             strata.usage.billed, in the state's transaction                     → completed

**Periods.** An event belongs to the calendar month of its timestamp (the batch's ``period`` when
it has none). A period is *closed* once billing has moved past it: its end is at or before the
subscription's current period start (billing cannot add usage to an invoiced period, and Stripe
refuses meter events older than 35 days). Such usage is billed in the open period, stamped with
the moment it is recorded, and each late event is a finding in the lineage.

**Exactly once.** The event id is remembered per subscription (``usage_events``), claimed by the
transaction that bills it: a second delivery, in the same batch or any later one, is dropped and
flagged ``duplicate_event``, while a re-run step of the claiming transaction keeps its own
events. Each group is recorded with the identifier and Idempotency-Key
``<workflow id>:record_usage:<meter>:<period>``, so a re-run step records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import msgspec
from sqlalchemy import and_, select

from apis.canonical import UsageEventCreate
from apis.process.customer_sync.findings import Finding, record_findings
from apis.process.engine import idempotency_key, workflow
from apis.process.overrides import no_overrides
from apis.process.runtime import runtime
from apis.process.spec import WorkflowSpec
from apis.process.steps import run_step
from apis.process.transactions import COMPLETED, transaction_event
from core.db import insert_ignoring, usage_events

WORKFLOW = "usage-to-billing"
SOURCE = "/strata/process/usage-to-billing"
BILLED_EVENT = "strata.usage.billed"
STATES = ("accepted", "aggregated", "completed")
"""The business states of a batch that goes well, in order."""


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One usage event as its sender (the product platform) reports it."""

    id: str
    """The sender's id of the event: the duplicate key."""
    event_name: str
    """The billing meter's event name, e.g. ``api_calls``."""
    quantity: int
    """How much was used (whole units of the meter)."""
    timestamp: dt.datetime | None = None
    """When it was used (UTC); the batch's period when absent."""


class Batch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A batch of usage of one subscription."""

    subscription_id: str
    period: str
    """The billing period the sender means, ``YYYY-MM``."""
    events: list[UsageEvent]


class Account(msgspec.Struct, frozen=True, kw_only=True):
    """The subscription's customer and the start of its open period."""

    customer_id: str
    open_start: dt.datetime


class Group(msgspec.Struct, frozen=True, kw_only=True):
    """Usage of one meter in one billing period."""

    event_name: str
    period: str
    value: int
    timestamp: dt.datetime | None
    """When to stamp it: the latest event's time; ``None`` = when it is recorded (late usage)."""


class Aggregate(msgspec.Struct, frozen=True, kw_only=True):
    """What the batch bills."""

    groups: list[Group]
    events: int
    duplicates: int
    late: int


@workflow(WORKFLOW)
async def usage_to_billing(transaction_id: str, business_key: str) -> dict[str, Any]:
    """Bill one batch of usage (workflow id = ``transaction_id``)."""
    batch = await run_step(transaction_id, "read_batch", None, read_batch, transaction_id)
    account = await run_step(
        transaction_id, "read_subscription", runtime().billing.vendor, read_subscription, batch.subscription_id
    )
    fresh, duplicates = await run_step(transaction_id, "drop_duplicates", None, drop_duplicates, transaction_id, batch)
    aggregate = await run_step(
        transaction_id, "aggregate", None, aggregate_usage, transaction_id, batch, fresh, duplicates, account
    )
    for group in aggregate.groups:
        name = f"record_usage:{group.event_name}:{group.period}"
        await run_step(
            transaction_id, name, runtime().billing.vendor, record_usage, transaction_id, name, account, group
        )
    await run_step(transaction_id, "complete", None, complete, transaction_id, batch, account, aggregate)
    return msgspec.to_builtins(aggregate)  # type: ignore[no-any-return]


async def read_batch(transaction_id: str) -> Batch:
    """The batch, as stored with the transaction."""
    transaction = await runtime().transactions.get(transaction_id)
    assert transaction is not None
    fields = {k: v for k, v in transaction.input.items() if k != "request_id"}
    return msgspec.convert(fields, Batch)


async def read_subscription(subscription_id: str) -> Account:
    """The subscription's billing customer and open period start (a missing one: needs_attention)."""
    subscription = await runtime().billing.get_subscription(subscription_id)
    starts = [i.current_period_start for i in subscription.items if i.current_period_start is not None]
    now = dt.datetime.now(dt.UTC)
    open_start = min(starts) if starts else now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return Account(customer_id=subscription.customer_id, open_start=open_start)


async def drop_duplicates(transaction_id: str, batch: Batch) -> tuple[list[UsageEvent], list[str]]:
    """Claim every event id for this transaction; (events to bill, ids dropped as seen before)."""
    process = runtime()
    fresh: list[UsageEvent] = []
    dropped: list[str] = []
    in_batch: set[str] = set()
    t = usage_events.c
    async with process.database.begin() as connection:
        for event in batch.events:
            if event.id in in_batch:
                dropped.append(event.id)
                continue
            in_batch.add(event.id)
            row = {
                "subscription_id": batch.subscription_id,
                "event_id": event.id,
                "transaction_id": transaction_id,
                "period": batch.period,
                "seen_at": time.time(),
            }
            if await insert_ignoring(connection, usage_events, row, "subscription_id", "event_id"):
                fresh.append(event)
                continue
            owner = await connection.scalar(
                select(t.transaction_id).where(and_(t.subscription_id == batch.subscription_id, t.event_id == event.id))
            )
            if owner == transaction_id:  # its own claim: the step runs again after a crash
                fresh.append(event)
            else:
                dropped.append(event.id)
    return fresh, dropped


async def aggregate_usage(
    transaction_id: str, batch: Batch, fresh: list[UsageEvent], duplicates: list[str], account: Account
) -> Aggregate:
    """Sum per meter and period (late usage moved to the open period); findings in the lineage."""
    open_period = month_of(account.open_start)
    findings = [
        Finding(code="duplicate_event", subject=event_id, detail="seen before for this subscription; dropped")
        for event_id in duplicates
    ]
    sums: dict[tuple[str, str], int] = {}
    stamps: dict[tuple[str, str], list[dt.datetime | None]] = {}
    late = 0
    for event in fresh:
        period = month_of(event.timestamp) if event.timestamp else batch.period
        stamp = event.timestamp
        if period_end(period) <= account.open_start:
            late += 1
            findings.append(
                Finding(
                    code="late_usage",
                    subject=event.id,
                    detail=(
                        f"period {period} is closed (billing's open period starts "
                        f"{account.open_start.isoformat()}); billed in {open_period}"
                    ),
                )
            )
            period, stamp = open_period, None
        group = (event.event_name, period)
        sums[group] = sums.get(group, 0) + event.quantity
        stamps.setdefault(group, []).append(stamp)
    groups = [
        # Stamped with the latest event's time; with "now" (None) once any event in it has no time of its own.
        Group(event_name=name, period=period, value=value, timestamp=_latest(stamps[(name, period)]))
        for (name, period), value in sorted(sums.items())
    ]
    await record_findings(transaction_id, WORKFLOW, "aggregate", findings)
    await runtime().transactions.advance(transaction_id, "aggregated", step="aggregate")
    return Aggregate(groups=groups, events=len(fresh), duplicates=len(duplicates), late=late)


async def record_usage(transaction_id: str, name: str, account: Account, group: Group) -> None:
    """One billing meter event for the group (identifier and key: ``<workflow id>:<step>``)."""
    key = idempotency_key(name)
    await runtime().billing.record_usage(
        UsageEventCreate(
            event_name=group.event_name,
            customer_id=account.customer_id,
            value=group.value,
            identifier=key[:100],
            timestamp=group.timestamp,
        ),
        key=key,
    )


async def complete(transaction_id: str, batch: Batch, account: Account, aggregate: Aggregate) -> None:
    """``strata.usage.billed`` and the transaction completed, in one transaction."""
    process = runtime()
    event = transaction_event(
        BILLED_EVENT,
        transaction_id,
        "complete",
        subject=batch.subscription_id,
        source=SOURCE,
        data={
            "transaction_id": transaction_id,
            "subscription_id": batch.subscription_id,
            "billing_customer_id": account.customer_id,
            "period": batch.period,
            "usage": [{"event_name": g.event_name, "period": g.period, "value": g.value} for g in aggregate.groups],
            "events": aggregate.events,
            "duplicates": aggregate.duplicates,
            "late": aggregate.late,
        },
    )
    await process.transactions.advance(transaction_id, COMPLETED, step="complete", events=[event])


def _latest(stamps: list[dt.datetime | None]) -> dt.datetime | None:
    known = [s for s in stamps if s is not None]
    return max(known) if len(known) == len(stamps) else None


def month_of(moment: dt.datetime) -> str:
    """``YYYY-MM`` of a moment, in UTC."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return f"{utc.year:04d}-{utc.month:02d}"


def period_end(period: str) -> dt.datetime:
    """The first moment after the month ``YYYY-MM`` (UTC)."""
    year, month = int(period[:4]), int(period[5:7])
    return dt.datetime(year + month // 12, month % 12 + 1, 1, tzinfo=dt.UTC)


def step_systems(erp: str) -> dict[str, str | None]:
    """The system each step of usage-to-billing talks to (``record_usage:*`` steps: billing)."""
    return {
        "read_batch": None,
        "read_subscription": runtime().billing.vendor,
        "drop_duplicates": None,
        "aggregate": None,
        "complete": None,
    }


SPEC = WorkflowSpec(
    name=WORKFLOW,
    run=usage_to_billing,
    step_systems=step_systems,
    check_overrides=no_overrides(WORKFLOW, "a replay bills the batch as it was sent"),
    compensate=None,
)

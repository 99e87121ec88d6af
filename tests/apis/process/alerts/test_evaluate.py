"""Business alerts on a real database: each rule kind fires once per period, repeats, resolves.

The signals are rows of the shared tables (transactions, reconciliation runs, webhook
deliveries, circuit reports) written as the workflows and workers write them; the clock is the
``now`` each evaluation is given, so nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.alerts.circuits import report_circuits
from apis.process.alerts.evaluate import Outcome, evaluate
from apis.process.alerts.schedule import NAME, AlertReports, alerts_schedule, period_of
from apis.process.alerts.store import AlertStore
from apis.process.schedules import Schedule
from core.db import (
    alert_evaluations,
    create_engine,
    outbox_events,
    partner_webhook_deliveries,
    process_transactions,
    reconciliation_runs,
    vendor_circuit_reports,
)
from core.migrations import create_schema
from policies.alert_rules import AlertsConfig

T0 = 1_796_000_000.0  # 2026-11-30T…Z: a fixed instant; every evaluation is given its time
EVERY = 60
HOUR = 3600.0
SLA_TARGET = 300


async def _migrated(url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url)
    await create_schema(engine)
    yield engine
    LIVE.pop(engine, None)
    await engine.dispose()


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """SQLite and PostgreSQL: the signals' SQL and the once-per-period claim on both."""
    async for engine in _migrated(database_url):
        yield engine


@pytest_asyncio.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """SQLite only, for the state machine (the same code on both databases)."""
    async for engine in _migrated(f"sqlite+aiosqlite:///{tmp_path / 'strata.db'}"):
        yield engine


def rules(*rules: dict[str, Any], repeat_every_minutes: float = 30.0) -> AlertsConfig:
    raw = {"evaluate_every_seconds": EVERY, "repeat_every_minutes": repeat_every_minutes, "rules": list(rules)}
    return msgspec.convert(raw, AlertsConfig)


LIVE: dict[AsyncEngine, Callable[[float], Awaitable[None]]] = {}
"""Processes that report their circuits at every tick, as the alert job does (by database)."""


async def run(engine: AsyncEngine, config: AlertsConfig, now: float) -> Outcome:
    if engine in LIVE:
        await LIVE[engine](now)
    return await evaluate(engine, config, period=period_of(now, EVERY), now=now, sla_target=lambda workflow: SLA_TARGET)


async def alert_events(engine: AsyncEngine) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(outbox_events.c.envelope)
            .where(outbox_events.c.type.like("strata.alert.%"))
            .order_by(outbox_events.c.seq)
        )
        return [json.loads(envelope) for envelope in rows.scalars()]


_ids = iter(range(1_000_000))


async def transaction(
    engine: AsyncEngine,
    *,
    state: str,
    created: float,
    completed: float | None = None,
    attention_since: float | None = None,
    workflow: str = "quote-to-cash",
) -> str:
    txn = f"txn_{next(_ids):026d}"
    async with engine.begin() as connection:
        await connection.execute(
            process_transactions.insert().values(
                id=txn,
                workflow=workflow,
                business_key=txn,
                state=state,
                correlation_id=txn,
                input="{}",
                created_at=created,
                updated_at=completed or created,
                completed_at=completed,
                attention_since=attention_since,
            )
        )
    return txn


async def slow_orders(engine: AsyncEngine, now: float) -> Callable[[], Awaitable[None]]:
    """Three orders completed in the last hour, each 10 minutes end to end (target 5)."""
    for minutes_ago in (5, 20, 40):
        end = now - minutes_ago * 60
        await transaction(engine, state="completed", created=end - 600, completed=end)

    async def clear() -> None:
        async with engine.begin() as connection:
            await connection.execute(delete(process_transactions))

    return clear


async def old_exception(engine: AsyncEngine, now: float) -> Callable[[], Awaitable[None]]:
    txn = await transaction(engine, state="needs_attention", created=now - 30 * HOUR, attention_since=now - 26 * HOUR)
    await transaction(engine, state="needs_attention", created=now - HOUR, attention_since=now - HOUR)  # too young

    async def replayed() -> None:
        async with engine.begin() as connection:
            await connection.execute(
                update(process_transactions)
                .where(process_transactions.c.id == txn)
                .values(state="completed", attention_since=None)
            )

    return replayed


async def reconciliation_run(engine: AsyncEngine, run_id: str, mismatches: int, completed: float) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            reconciliation_runs.insert().values(
                id=run_id,
                workflow_id=run_id,
                period="2026-10",
                trigger="schedule",
                status="completed",
                mismatch_count=mismatches,
                created_at=completed - 30,
                completed_at=completed,
            )
        )


async def mismatching_run(engine: AsyncEngine, now: float) -> Callable[[], Awaitable[None]]:
    await reconciliation_run(engine, "rec_first", 3, now - 600)

    async def clean_rerun() -> None:
        await reconciliation_run(engine, "rec_second", 0, now + 1)

    return clean_rerun


async def open_circuit(engine: AsyncEngine, now: float) -> Callable[[], Awaitable[None]]:
    """gw-0 has seen NetSuite down for 11 minutes; gw-1 has not. Both go on reporting (``LIVE``)."""

    async def report(at: float) -> None:
        await report_circuits(engine, "gw-0", {"netsuite": ("open", now - 11 * 60), "stripe": ("closed", now)}, at)
        await report_circuits(engine, "gw-1", {"netsuite": ("closed", now)}, at)

    await report(now)
    LIVE[engine] = report

    async def closes() -> None:
        LIVE.pop(engine)
        async with engine.begin() as connection:
            await connection.execute(delete(vendor_circuit_reports))

    return closes


async def dead_webhooks(engine: AsyncEngine, now: float) -> Callable[[], Awaitable[None]]:
    async with engine.begin() as connection:
        for n, status in enumerate(("dead", "dead", "delivered")):
            await connection.execute(
                partner_webhook_deliveries.insert().values(
                    id=f"whd_{n}",
                    subscription_id="whs_1",
                    partner_id="partner-7",
                    event_id=f"evt_{n}",
                    event_type="strata.contract.activated",
                    payload="{}",
                    status=status,
                    attempts=8,
                    last_attempt_at=now - 600,
                    created_at=now - HOUR,
                )
            )

    async def redelivered() -> None:
        async with engine.begin() as connection:
            await connection.execute(update(partner_webhook_deliveries).values(status="delivered"))

    return redelivered


KINDS: dict[
    str, tuple[dict[str, Any], Callable[[AsyncEngine, float], Awaitable[Callable[[], Awaitable[None]]]], str]
] = {
    "workflow_sla": ({"kind": "workflow_sla", "workflow": "quote-to-cash"}, slow_orders, "quote-to-cash"),
    "exception_age": ({"kind": "exception_age", "older_than_hours": 24}, old_exception, ""),
    "reconciliation_mismatch": ({"kind": "reconciliation_mismatch"}, mismatching_run, "2026-10"),
    "circuit_open": ({"kind": "circuit_open", "for_minutes": 10}, open_circuit, "netsuite"),
    "webhook_dead_letter": ({"kind": "webhook_dead_letter"}, dead_webhooks, "partner-7"),
}


@pytest.mark.parametrize("kind", list(KINDS))
async def test_each_rule_kind_fires_once_per_period_repeats_and_resolves(engine: AsyncEngine, kind: str) -> None:
    rule, make_signal, subject = KINDS[kind]
    config = rules({"name": "watch", "severity": "critical", **rule})
    assert (await run(engine, config, T0)).fired == []  # nothing to see yet
    end_condition = await make_signal(engine, T0)
    now = T0 + EVERY

    first = await run(engine, config, now)
    assert first.fired == [f"watch|{subject}"]
    again = await run(engine, config, now + 1)  # the same period, another process: already evaluated
    assert again == Outcome(evaluated=False)
    quiet = await run(engine, config, now + 10 * 60)  # later periods, before the repeat interval
    assert quiet.evaluated and quiet.fired == quiet.repeated == []
    (fired,) = await alert_events(engine)
    assert fired["type"] == "strata.alert.fired" and fired["subject"] == fired["data"]["alert_id"]
    assert (fired["data"]["rule"], fired["data"]["kind"], fired["data"]["subject"]) == ("watch", kind, subject)
    assert fired["data"]["severity"] == "critical" and fired["data"]["notification"] == 1

    repeat = await run(engine, config, now + 30 * 60)
    assert repeat.repeated == [f"watch|{subject}"]
    assert [e["data"]["notification"] for e in await alert_events(engine)] == [1, 2]

    await end_condition()
    resolved = await run(engine, config, now + 31 * 60)
    assert resolved.resolved == [f"watch|{subject}"]
    events = await alert_events(engine)
    assert [e["type"] for e in events] == ["strata.alert.fired"] * 2 + ["strata.alert.resolved"]
    assert events[-1]["data"]["alert_id"] == fired["data"]["alert_id"]
    assert (await run(engine, config, now + 40 * 60)).resolved == []  # resolved once

    (alert,), _ = await AlertStore(engine).page("resolved", limit=10)
    assert (alert.status, alert.notifications, alert.subject) == ("resolved", 2, subject)
    assert (await AlertStore(engine).page("active", limit=10))[0] == []


async def test_an_alert_is_pending_until_its_condition_held_for_minutes(sqlite: AsyncEngine) -> None:
    config = rules({"name": "order-sla", "kind": "workflow_sla", "for_minutes": 15})
    await slow_orders(sqlite, T0)
    assert (await run(sqlite, config, T0)).pending == ["order-sla|quote-to-cash"]
    assert (await run(sqlite, config, T0 + 14 * 60)).fired == []
    (pending,), _ = await AlertStore(sqlite).page("active", limit=10)
    assert (pending.status, pending.notifications) == ("pending", 0)
    assert (await run(sqlite, config, T0 + 15 * 60)).fired == ["order-sla|quote-to-cash"]
    assert len(await alert_events(sqlite)) == 1


async def test_a_pending_alert_whose_condition_ends_resolves_without_an_event(sqlite: AsyncEngine) -> None:
    config = rules({"name": "vendor-down", "kind": "circuit_open", "for_minutes": 30})
    closes = await open_circuit(sqlite, T0)
    assert (await run(sqlite, config, T0)).pending == ["vendor-down|netsuite"]
    await closes()
    assert (await run(sqlite, config, T0 + EVERY)).resolved == []
    assert await alert_events(sqlite) == []


async def test_a_rule_removed_from_the_file_resolves_its_alerts(sqlite: AsyncEngine) -> None:
    await dead_webhooks(sqlite, T0)
    assert (await run(sqlite, rules({"name": "dead", "kind": "webhook_dead_letter"}), T0)).fired == ["dead|partner-7"]
    assert (await run(sqlite, rules(), T0 + EVERY)).resolved == ["dead|partner-7"]


async def test_two_processes_evaluating_one_period_at_once_fire_once(engine: AsyncEngine, database_url: str) -> None:
    await old_exception(engine, T0)
    config = rules({"name": "stale", "kind": "exception_age", "older_than_hours": 24})
    other = create_engine(database_url)  # another process's connection pool on the same database
    try:
        outcomes = await asyncio.gather(
            run(engine, config, T0),
            evaluate(other, config, period=period_of(T0, EVERY), now=T0 + 0.5, sla_target=lambda workflow: SLA_TARGET),
        )
    finally:
        await other.dispose()
    assert sorted(o.evaluated for o in outcomes) == [False, True]
    assert sum(len(o.fired) for o in outcomes) == 1
    assert len(await alert_events(engine)) == 1


async def test_a_circuit_counts_while_its_process_reports_it_and_keeps_its_start_across_trials(
    sqlite: AsyncEngine,
) -> None:
    config = rules({"name": "vendor-down", "kind": "circuit_open", "for_minutes": 10})
    await report_circuits(sqlite, "gw-0", {"netsuite": ("open", T0)}, T0)
    # Half-open, open again: each a new state start; the circuit has not been closed since T0.
    await report_circuits(sqlite, "gw-0", {"netsuite": ("half_open", T0 + 300)}, T0 + 300)
    await report_circuits(sqlite, "gw-0", {"netsuite": ("open", T0 + 330)}, T0 + 600)
    assert (await run(sqlite, config, T0 + 600)).fired == ["vendor-down|netsuite"]
    # gw-0 stops reporting (stopped or crashed): its last report goes stale.
    assert (await run(sqlite, config, T0 + 600 + 3 * EVERY + 1)).resolved == ["vendor-down|netsuite"]


async def test_old_period_claims_are_deleted(sqlite: AsyncEngine) -> None:
    await run(sqlite, rules(), T0)
    await run(sqlite, rules(), T0 + 8 * 86_400)
    async with sqlite.connect() as connection:
        periods = (await connection.execute(select(alert_evaluations.c.period))).scalars().all()
    assert periods == [period_of(T0 + 8 * 86_400, EVERY)]


async def test_each_process_reports_every_tick_and_the_period_is_evaluated_once(sqlite: AsyncEngine) -> None:
    config = [rules({"name": "stale", "kind": "exception_age", "older_than_hours": 24})]
    clock = [T0]
    reports: list[float] = []
    applied: list[Schedule | None] = []

    async def report(now: float) -> None:
        reports.append(now)

    one = AlertReports(lambda: config[0], report=report, apply=applied.append, clock=lambda: clock[0])
    two = AlertReports(lambda: config[0], report=report, apply=applied.append, clock=lambda: clock[0])
    await one.tick()
    await one.tick()  # the same rules: the schedule is not applied again
    await two.tick()  # another process applies what it sees once (the engine's upsert: the same schedule)
    clock[0] += EVERY
    await two.tick()
    assert reports == [T0, T0, T0, T0 + EVERY]
    assert [(s.name, s.cron, s.context) for s in applied if s is not None] == [(NAME, "0 * * * * *", EVERY)] * 2
    # The engine fires each period once in all; its evaluation claims the period, so a step run
    # again (or a second start) evaluates nothing.
    period = period_of(T0, EVERY)
    evaluated = [
        (await evaluate(sqlite, config[0], period=period, now=T0, sla_target=lambda w: SLA_TARGET)).evaluated
        for _ in range(2)
    ]
    assert evaluated == [True, False]
    # A reloaded file: another period changes the schedule; no rules remove it and report nothing.
    config[0] = msgspec.convert({**msgspec.to_builtins(config[0]), "evaluate_every_seconds": 30}, AlertsConfig)
    await one.tick()
    assert (
        applied[-1] == alerts_schedule(config[0]) and applied[-1] is not None and applied[-1].cron == "*/30 * * * * *"
    )
    config[0] = rules()
    await one.tick()
    assert applied[-1] is None and len(reports) == 5

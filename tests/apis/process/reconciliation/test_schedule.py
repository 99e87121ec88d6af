"""The daily run: a scheduled workflow due from the configured hour, started once per day however
many processes fire it (or catch it up after a late start)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from dbos import DBOS

from apis.process import schedules
from apis.process.reconciliation.schedule import NAME, daily_schedule, due_day
from apis.process.reconciliation.workflow import daily_workflow_id, previous_month
from apis.process.runtime import runtime
from apis.process.schedules import (
    Schedule,
    apply_schedules,
    catch_up,
    keep_schedules,
    schedule_names,
    tick_workflow_id,
)
from gateway.settings import SettingsError, load_settings
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished, reconciliation_gateway

NOW = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)


def test_due_from_the_hour_on() -> None:
    assert due_day(NOW, 2) == NOW.date()
    assert due_day(NOW, 3) == NOW.date()
    assert due_day(NOW, 4) is None
    assert due_day(NOW, -1) is None
    # The day is the UTC day, whatever the clock's zone.
    assert due_day(dt.datetime(2026, 12, 2, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))), 0) == dt.date(
        2026, 12, 1
    )


def test_previous_month_and_workflow_id() -> None:
    assert previous_month(dt.date(2026, 1, 15)) == "2025-12"
    assert previous_month(dt.date(2026, 3, 1)) == "2026-02"
    assert daily_workflow_id(dt.date(2026, 12, 2)) == "reconciliation:daily:2026-12-02"


@pytest.mark.parametrize("hour", [-2, 24])
def test_schedule_hour_is_checked(hour: int) -> None:
    with pytest.raises(SettingsError, match="reconciliation_schedule_hour"):
        load_settings({"reconciliation_schedule_hour": hour}, environ={})
    assert load_settings({"reconciliation_schedule_hour": -1}, environ={}).reconciliation_schedule_hour == -1


def applied(hour: int, **options: str) -> Schedule:
    """The daily schedule for ``hour``, applied to the engine as a process applies it at start-up."""
    schedule = daily_schedule(hour, **options)
    assert schedule is not None
    apply_schedules({NAME: schedule})
    return schedule


def test_the_schedule_is_daily_at_the_hour_and_off_at_minus_one() -> None:
    assert daily_schedule(-1) is None
    schedule = daily_schedule(2)
    assert schedule is not None and schedule.cron == "0 0 2 * * *"
    assert schedule.catch_up is not None
    assert schedule.catch_up(NOW) == dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC)
    assert schedule.catch_up(NOW.replace(hour=1)) is None  # before the hour: nothing owed (yesterday's is gone)


async def test_the_daily_run_starts_once_across_processes(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        early = applied(5)
        assert await catch_up(early, NOW) is False
        assert await runtime().engine.status(daily_workflow_id(NOW.date())) is None

        schedule = applied(2)
        assert await catch_up(schedule, NOW) is True
        assert await catch_up(schedule, NOW) is False  # another process: the engine has the day's tick already
        tick = tick_workflow_id(NAME, dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC))
        assert await runtime().engine.result(tick) is True  # the tick started the day's run
        assert await catch_up(schedule, NOW) is False
        await runtime().engine.result(daily_workflow_id(NOW.date()))

        (run,) = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert (run["trigger"], run["period"], run["status"]) == ("schedule", "2026-11", "completed")
        report = await finished(gateway, run["href"], headers)
        assert report["mismatch_count"] == len(report["mismatches"]) > 0


async def test_the_daily_run_leaves_a_run_in_flight_alone(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        slow = {"kind": "latency", "latency_seconds": 1.5, "count": 1, "path_prefix": "/services/data"}
        assert (await gateway.client.post("/sandbox/salesforce/_control/faults", json=slow)).status_code in (200, 201)
        manual = await gateway.client.post(RUNS, json={"period": "2026-11"}, headers=headers)
        assert manual.json()["created"] is True

        assert await catch_up(applied(2), NOW) is True
        outcome = await runtime().engine.result(daily_workflow_id(NOW.date()))
        assert outcome == {"run_id": manual.json()["run"]["id"], "skipped": True}
        await finished(gateway, manual.headers["Location"], headers)
        runs = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert [(r["id"], r["trigger"]) for r in runs] == [(manual.json()["run"]["id"], "api")]


async def ticks() -> list[str]:
    """The ids of the daily schedule's tick workflows the engine holds."""
    return [w.workflow_id for w in await DBOS.list_workflows_async(workflow_id_prefix=f"sched-{NAME}-")]


async def test_the_engine_fires_the_schedule_in_the_background_and_stops(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        today = dt.datetime.now(dt.UTC).date()
        applied(0, cron="* * * * * *")  # every second, so the test need not wait for the hour
        try:
            for _ in range(200):
                if await runtime().engine.status(daily_workflow_id(today)) is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            apply_schedules({NAME: None})
        assert NAME not in await schedule_names()
        await runtime().engine.result(daily_workflow_id(today))
        (run,) = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert run["trigger"] == "schedule"
        fired = await ticks()
        await asyncio.sleep(1.5)  # the scheduler polls every 0.1 s: a removed schedule no longer fires
        assert await ticks() == fired


async def test_a_process_started_after_the_hour_fires_the_days_run_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schedules, "CATCH_UP_DELAY_SECONDS", 0.0)  # the job waits a minute after start-up
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        today = dt.datetime.now(dt.UTC).date()
        # What every process with the engine runs at start-up, with the hour passed (00:00 UTC).
        starting = keep_schedules(lambda process: {NAME: daily_schedule(0)})
        await starting(runtime())
        assert NAME in await schedule_names()
        await runtime().engine.result(daily_workflow_id(today))
        await starting(runtime())  # a second process, later: the day's tick ran already
        apply_schedules({NAME: None})
        (run,) = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert (run["trigger"], run["period"]) == ("schedule", previous_month(today))
        assert await ticks() == [tick_workflow_id(NAME, dt.datetime(today.year, today.month, today.day, tzinfo=dt.UTC))]

"""The daily run: due from the configured hour, started once per day however many processes ask."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from apis.process.reconciliation.schedule import DailySchedule, due_day
from apis.process.reconciliation.workflow import daily_workflow_id, previous_month
from apis.process.runtime import runtime
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


async def test_the_daily_run_starts_once_across_processes(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        early = DailySchedule(5, clock=lambda: NOW)
        assert await early.tick() is False
        assert await runtime().engine.status(daily_workflow_id(NOW.date())) is None

        one, two = DailySchedule(2, clock=lambda: NOW), DailySchedule(2, clock=lambda: NOW)
        assert await one.tick() is True
        assert await two.tick() is False  # another process: the engine has the day's workflow already
        assert await one.tick() is False
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

        assert await DailySchedule(2, clock=lambda: NOW).tick() is True
        outcome = await runtime().engine.result(daily_workflow_id(NOW.date()))
        assert outcome == {"run_id": manual.json()["run"]["id"], "skipped": True}
        await finished(gateway, manual.headers["Location"], headers)
        runs = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert [(r["id"], r["trigger"]) for r in runs] == [(manual.json()["run"]["id"], "api")]


async def test_the_loop_ticks_in_the_background_and_stops(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        schedule = DailySchedule(0, clock=lambda: NOW, interval_seconds=0.05)
        schedule.start()
        try:
            for _ in range(200):
                if await runtime().engine.status(daily_workflow_id(NOW.date())) is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            await schedule.stop()
        await runtime().engine.result(daily_workflow_id(NOW.date()))
        (run,) = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
        assert run["trigger"] == "schedule"

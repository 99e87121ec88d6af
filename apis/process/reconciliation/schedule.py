"""The daily reconciliation: a scheduled workflow of the engine, fired once a day across processes.

At ``reconciliation_schedule_hour`` (UTC) the engine's scheduler fires the tick's workflow
(:func:`daily_tick`) once however many processes run (:mod:`apis.process.schedules`); it starts
``reconciliation:daily:<date>`` for the previous month, as the runs were always named. A process
started after the hour still starts the day's run if no process ran it (the schedule's
:attr:`~apis.process.schedules.Schedule.catch_up` is the day's tick from the hour on; a day that
passed with no process running is not run later). ``-1`` turns the schedule off.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog

from apis.process.engine import workflow
from apis.process.reconciliation.workflow import start_daily
from apis.process.schedules import Schedule
from core import cadence

NAME = "reconciliation-daily"
"""The schedule's name (its ticks' workflow ids are ``sched-reconciliation-daily-<tick>``)."""
logger = structlog.get_logger("strata.process")


def due_day(now: dt.datetime, hour: int) -> dt.date | None:
    """The day whose run is due at ``now`` (UTC), or ``None`` (before the hour, or the schedule off)."""
    now = now.astimezone(dt.UTC)
    return now.date() if 0 <= hour <= now.hour else None


@workflow("reconciliation-schedule")
async def daily_tick(tick: dt.datetime, context: Any) -> bool:
    """One tick: start the day's run (unless it exists); whether this tick started it."""
    day = tick.astimezone(dt.UTC).date()
    started = await start_daily(day)
    if started:
        logger.info("daily reconciliation started", day=day.isoformat())
    return started


def daily_schedule(hour: int, *, cron: str | None = None) -> Schedule | None:
    """The schedule for ``hour`` (``None``: off). ``cron`` replaces the daily expression (tests
    fire it every second); a late start still owes the day's tick from ``hour`` on."""
    if hour < 0:
        return None

    def owed(now: dt.datetime) -> dt.datetime | None:
        day = due_day(now, hour)
        return None if day is None else dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)

    return Schedule(name=NAME, workflow=daily_tick, cron=cron or cadence.daily(hour), catch_up=owed)

"""The daily reconciliation: every process checks the clock; the engine starts the run once.

From ``reconciliation_schedule_hour`` (UTC) on, each process asks the engine once per day to
start ``reconciliation:daily:<date>`` for the previous month. The workflow id is the same in
every process, so the engine starts one run however many processes ask (and a process started
after the hour still starts the day's run if nobody has). The first check comes one interval
after start-up, not during it: a starting gateway answers requests first.

The workflow facade has no scheduling verb, hence this small loop; it runs where the workflow
engine runs and stops with it (a background job: :func:`apis.process.registry.background_jobs`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from apis.process.reconciliation.workflow import start_daily

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

CHECK_INTERVAL_SECONDS = 60.0
"""How often the clock is checked."""
logger = structlog.get_logger("strata.process")


def due_day(now: dt.datetime, hour: int) -> dt.date | None:
    """The day whose run is due at ``now`` (UTC), or ``None`` (before the hour, or the schedule off)."""
    now = now.astimezone(dt.UTC)
    return now.date() if 0 <= hour <= now.hour else None


class DailySchedule:
    """Starts the day's run once the hour has come (once per day per process; once per day in all)."""

    def __init__(
        self,
        hour: int,
        start: Callable[[dt.date], Awaitable[bool]] = start_daily,
        *,
        interval_seconds: float = CHECK_INTERVAL_SECONDS,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.hour = hour
        self._start = start
        self._interval = interval_seconds
        self._clock = clock
        self._asked_for: dt.date | None = None
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> bool:
        """Check the clock once; whether this call started a run."""
        day = due_day(self._clock(), self.hour)
        if day is None or day == self._asked_for:
            return False
        started = await self._start(day)
        self._asked_for = day
        if started:
            logger.info("daily reconciliation started", day=day.isoformat())
        return started

    def start(self) -> None:
        """Run :meth:`tick` every interval in the background."""
        self._task = asyncio.create_task(self.run_forever(), name="reconciliation-schedule")

    async def stop(self) -> None:
        """Stop the loop (a run it started goes on in the engine)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run_forever(self) -> None:
        """Check the clock every interval until cancelled."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except Exception:  # the engine or database is away: try again next interval
                logger.exception("daily reconciliation could not be started")


async def daily_reconciliation(process: ProcessRuntime) -> None:
    """Background job of every process with the engine: the daily run (none when the hour is -1)."""
    hour = process.settings.reconciliation_schedule_hour
    if hour >= 0:
        await DailySchedule(hour).run_forever()

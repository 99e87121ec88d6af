"""Scheduled workflows: the engine (DBOS) fires each tick of a cron schedule once across processes.

A :class:`Schedule` names a workflow registered with :func:`~apis.process.engine.workflow`
whose arguments are the tick's time and the schedule's context. Every process with the engine
applies the schedules its settings ask for when it starts (:func:`keep_schedules`, before it
serves); the engine stores them in its system database and every process's scheduler fires
them. A tick's workflow id is derived from the schedule's name and the tick
(``sched-<name>-<tick>``, DBOS's format: :func:`tick_workflow_id`), so however many processes
fire a tick, one workflow runs it — the engine's own guarantee, where each schedule used to be
a loop of ours in every process. This module and :mod:`apis.process.engine` are the two that
speak DBOS; business code names a :class:`Schedule` and a workflow.

A schedule's workflow keeps the business id it had (the reconciliation's
``reconciliation:daily:<date>``, the customer sync's ``all:schedule:<slot>``): it starts that
workflow through :meth:`~apis.process.engine.WorkflowEngine.start_once`, so what the operations
API and the console show is unchanged.

Missed ticks: DBOS fires the ticks that come while a process runs; with no process running at a
tick, DBOS runs it only with its ``automatic_backfill``, which replays *every* tick since the
last one fired (a gateway down for a week would reconcile seven times). A schedule says instead
which tick a late start still owes (:attr:`Schedule.catch_up`: the daily reconciliation owes
the day's run from its hour on); :func:`catch_up` fires that tick under its own id, so a tick
some process ran is not run again.

Several processes share one set of schedules: the last process to start with a different
setting changes it for all (they should run with the same settings anyway). A schedule turned
off (``None``) is removed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from dbos import DBOS, ScheduleInput, WorkflowHandleAsync

if TYPE_CHECKING:
    from apis.process.runtime import BackgroundJob, ProcessRuntime

logger = structlog.get_logger("strata.process")

CATCH_UP_DELAY_SECONDS = 60.0
"""How long after start-up a process fires the tick its schedules still owe: a starting gateway
answers requests first (the old loops' first check came as late)."""

ScheduledWorkflow = Callable[[dt.datetime, Any], Awaitable[Any]]
"""A workflow a schedule fires: ``(tick, context)``."""


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One cron schedule of a workflow."""

    name: str
    """Unique name; part of every tick's workflow id."""
    workflow: ScheduledWorkflow
    """The workflow run at each tick (registered with :func:`~apis.process.engine.workflow`)."""
    cron: str
    """Six fields, seconds first, UTC (:mod:`core.cadence` derives them from our settings)."""
    context: Any = None
    """Handed to every run as its second argument (msgspec-serialisable: it is stored)."""
    catch_up: Callable[[dt.datetime], dt.datetime | None] | None = None
    """The tick a process starting at the given time still owes, if no process ran it (``None``:
    a missed tick is not run)."""


Schedules = Mapping[str, Schedule | None]
"""Schedules by name; ``None``: that schedule is off (removed from the engine)."""


def tick_workflow_id(name: str, tick: dt.datetime) -> str:
    """The id of the workflow of ``name``'s ``tick``: DBOS's format (``_scheduler.py``), the same
    in every process (``tests/apis/process/test_schedules.py`` pins it with the DBOS version)."""
    return f"sched-{name}-{tick.astimezone(dt.UTC).isoformat()}"


def apply_schedules(schedules: Schedules) -> None:
    """Create or update the schedules given, remove those that are off (one transaction for the
    former): every process's scheduler picks the change up within its polling interval. Blocking
    (a few statements on the engine's database), like the engine's launch."""
    wanted: list[ScheduleInput] = [
        # DBOS types a scheduled workflow as returning None; ours return what they did (recorded).
        {"schedule_name": name, "workflow_fn": s.workflow, "schedule": s.cron, "context": s.context}  # type: ignore[typeddict-item]
        for name, s in schedules.items()
        if s is not None
    ]
    if wanted:
        DBOS.apply_schedules(wanted)
    for name, schedule in schedules.items():
        if schedule is None:
            DBOS.delete_schedule(name)


async def schedule_names() -> list[str]:
    """The names of the schedules the engine holds (this application's)."""
    return [s["schedule_name"] for s in await DBOS.list_schedules_async()]


async def catch_up(schedule: Schedule, now: dt.datetime) -> bool:
    """Fire the tick ``schedule`` owes at ``now`` unless a workflow of that tick exists; whether
    this call fired it, once the tick's workflow has run (a tick's workflow only starts the
    business workflow: it is quick). The schedule must be applied (the engine reads it back)."""
    tick = schedule.catch_up(now) if schedule.catch_up is not None else None
    if tick is None or tick > now:
        return False
    workflow_id = tick_workflow_id(schedule.name, tick)
    if await DBOS.get_workflow_status_async(workflow_id) is not None:
        return False
    # The engine's own backfill of one tick (the window is exclusive at both ends): the tick's
    # workflow gets the id the scheduler would have given it, so it runs once whoever fires it.
    second = dt.timedelta(seconds=1)
    await asyncio.to_thread(DBOS.backfill_schedule, schedule.name, tick - second, tick + second)
    logger.info("a missed schedule tick was fired", schedule=schedule.name, tick=tick.isoformat())
    handle: WorkflowHandleAsync[Any] = await DBOS.retrieve_workflow_async(workflow_id)
    await handle.get_result()
    return True


def keep_schedules(build: Callable[[ProcessRuntime], Schedules]) -> BackgroundJob:
    """The background job that applies the schedules ``build`` makes of a process's settings at
    start-up, then, :data:`CATCH_UP_DELAY_SECONDS` later, fires the ticks they still owe."""

    def job(process: ProcessRuntime) -> Coroutine[Any, Any, None]:
        # Applied before the job is handed back (start_runtime calls this on the loop's thread,
        # after the engine's launch): when the process serves, its schedules are in place.
        schedules = build(process)
        try:
            apply_schedules(schedules)
        except Exception:  # the engine's database is away: the schedules stay as the last start left them
            logger.exception("the schedules could not be applied", schedules=sorted(schedules))
            schedules = {}
        return _catch_up_later(schedules)

    return job


async def _catch_up_later(schedules: Schedules) -> None:
    await asyncio.sleep(CATCH_UP_DELAY_SECONDS)
    for schedule in schedules.values():
        if schedule is not None:
            try:
                await catch_up(schedule, dt.datetime.now(dt.UTC))
            except Exception:  # the engine or database is away: the next start tries again
                logger.exception("a missed schedule tick could not be fired", schedule=schedule.name)

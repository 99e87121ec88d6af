"""The alert schedule: the engine fires each period once in all; every process reports its breakers.

Every ``evaluate_every_seconds`` (on the epoch's boundaries, :mod:`core.cadence`):

1. the engine's scheduler fires the period's tick once across processes (a scheduled workflow,
   :mod:`apis.process.schedules`): :func:`alerts_tick` starts ``alerts:<period>``, the
   evaluation workflow of the period, by that fixed id (a tick run again starts nothing); the
   evaluation's own claim of the period in the database (:mod:`apis.process.alerts.evaluate`)
   keeps a re-run step from evaluating twice;
2. each process with the engine (a background job, :func:`business_alerts`) reports its circuit
   breakers to the database (:mod:`apis.process.alerts.circuits`), so the evaluation sees every
   process's breakers — breakers live in process memory, so this stays a loop in every process —
   and keeps the engine's schedule as the live governance file says (a reloaded file with another
   period or no rules changes or removes it at the next report).

The tick reads the rules of the process that runs it, as they are then, and the evaluation
workflow carries them, so a recovered evaluation judges by the rules of its period. No rules, no
workflow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from apis.process.alerts.circuits import CircuitStates, report_circuits
from apis.process.alerts.evaluate import Outcome, evaluate
from apis.process.engine import step, workflow
from apis.process.runtime import runtime
from apis.process.schedules import Schedule, apply_schedules
from core import cadence
from policies.alert_rules import AlertsConfig

if TYPE_CHECKING:
    from apis.process.runtime import BackgroundJob, ProcessRuntime

WORKFLOW = "business-alerts"
NAME = "business-alerts"
"""The schedule's name (its ticks' workflow ids are ``sched-business-alerts-<tick>``)."""
_live: list[Callable[[], AlertsConfig]] = []
"""This process's live rules (set by :func:`business_alerts`: the composition root's governance file)."""
logger = structlog.get_logger("strata.process")


def period_of(now: float, every_seconds: int) -> str:
    """The evaluation period holding ``now`` (epoch seconds): ``<every>s:<period number>``."""
    return f"{every_seconds}s:{int(now // every_seconds)}"


def workflow_id(period: str) -> str:
    """The evaluation workflow's id for ``period``: one in all processes."""
    return f"alerts:{period}"


@workflow(WORKFLOW)
async def evaluate_alerts(period: str, at: float, config: dict[str, Any]) -> dict[str, Any]:
    """Evaluate the rules ``config`` holds at ``at`` for ``period``; what changed."""
    outcome = await step("evaluate", evaluate_step, period, at, config)
    return msgspec.to_builtins(outcome)  # type: ignore[no-any-return]


async def evaluate_step(period: str, at: float, config: dict[str, Any]) -> Outcome:
    """The evaluation against this process's database and SLA targets."""
    process = runtime()
    targets = process.settings.workflow_sla_targets
    default = process.settings.default_sla_seconds
    outcome = await evaluate(
        process.database,
        msgspec.convert(config, AlertsConfig),
        period=period,
        now=at,
        sla_target=lambda name: targets.get(name, default),
        evaluator=process.engine.executor_id,
    )
    if outcome.fired or outcome.repeated or outcome.resolved:
        logger.info(
            "business alerts", fired=outcome.fired, repeated=outcome.repeated, resolved=outcome.resolved, period=period
        )
    return outcome


async def start_evaluation(period: str, at: float, config: AlertsConfig) -> bool:
    """Start ``period``'s evaluation unless some process did; whether this call started it."""
    return await runtime().engine.start_once(
        evaluate_alerts, workflow_id(period), period, at, msgspec.to_builtins(config)
    )


@workflow("business-alerts-schedule")
async def alerts_tick(tick: dt.datetime, every_seconds: int) -> bool:
    """One tick: start the period's evaluation under the rules this process holds now; whether it
    started one (not when the rules are gone or their period changed since the schedule was set)."""
    if not _live:
        return False  # a process without the alert job (none in production: every process runs it)
    config = _live[-1]()
    if not config.rules or config.evaluate_every_seconds != every_seconds:
        return False
    at = tick.timestamp()
    return await start_evaluation(period_of(at, every_seconds), at, config)


def alerts_schedule(config: AlertsConfig) -> Schedule | None:
    """The engine's schedule for ``config`` (``None``: no rules, nothing to evaluate)."""
    if not config.rules:
        return None
    every = config.evaluate_every_seconds
    return Schedule(name=NAME, workflow=alerts_tick, cron=cadence.every(every), context=every)


class AlertReports:
    """One process's tick: report its circuits, and keep the engine's schedule as the rules say."""

    def __init__(
        self,
        config: Callable[[], AlertsConfig],
        *,
        report: Callable[[float], Awaitable[None]] | None = None,
        apply: Callable[[Schedule | None], None] = lambda schedule: apply_schedules({NAME: schedule}),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._report = report
        self._apply = apply
        self._clock = clock
        self._applied: tuple[int, bool] | None = None

    def keep_schedule(self) -> bool:
        """Apply the schedule if the live rules changed it since this process last did; whether it did."""
        config = self._config()
        wanted = (config.evaluate_every_seconds, bool(config.rules))
        if wanted == self._applied:
            return False
        self._apply(alerts_schedule(config))
        self._applied = wanted
        return True

    async def tick(self) -> None:
        """Once: report the circuits (when there are rules), then keep the schedule."""
        if self._config().rules and self._report is not None:
            await self._report(self._clock())
        self.keep_schedule()

    async def run_forever(self) -> None:
        """Keep the schedule now, then tick every period until cancelled."""
        try:
            self.keep_schedule()
        except Exception:  # the engine's database is away: the next tick tries again
            logger.exception("the business alert schedule could not be applied")
        while True:
            await asyncio.sleep(self._config().evaluate_every_seconds)
            try:
                await self.tick()
            except Exception:  # the engine or database is away: try again next period
                logger.exception("business alert circuits could not be reported")


def alert_reports(
    process: ProcessRuntime, config: Callable[[], AlertsConfig], circuits: CircuitStates, **options: Any
) -> AlertReports:
    """The loop of ``process``: it reports ``circuits`` under its executor id and keeps the schedule."""
    reporter = process.engine.executor_id

    async def report(now: float) -> None:
        await report_circuits(process.database, reporter, circuits(), now)

    return AlertReports(config, report=report, **options)


def business_alerts(config: Callable[[], AlertsConfig], circuits: CircuitStates) -> BackgroundJob:
    """The background job of every process with the engine, over the live governance rules
    (``config``, read at every tick: a reloaded file applies from the next period) and this
    process's circuit breakers (``circuits``), both handed over by the composition root."""

    # Known before the engine launches: a tick dequeued at once reads these rules.
    _live.append(config)

    async def job(process: ProcessRuntime) -> None:
        try:
            await alert_reports(process, config, circuits).run_forever()
        finally:
            _live.remove(config)

    return job

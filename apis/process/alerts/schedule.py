"""The alert schedule: every process ticks; the engine evaluates each period once in all.

Every ``evaluate_every_seconds`` each process with the engine (a background job,
:func:`business_alerts`):

1. reports its circuit breakers to the database (:mod:`apis.process.alerts.circuits`), so the
   evaluation sees every process's breakers;
2. asks the engine to start ``alerts:<period start>``, the evaluation workflow of the current
   period. The workflow id is the same in every process, so the engine starts one evaluation
   per period however many processes ask (as the daily reconciliation does,
   :mod:`apis.process.reconciliation.schedule`); the evaluation's own claim of the period in
   the database (:mod:`apis.process.alerts.evaluate`) keeps a re-run step from evaluating twice.

The workflow carries the rules as they were when it was asked for, so a recovered evaluation
judges by the rules of its period. No rules, no workflow.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
import structlog

from apis.process.alerts.circuits import CircuitStates, report_circuits
from apis.process.alerts.evaluate import Outcome, evaluate
from apis.process.engine import step, workflow
from apis.process.runtime import runtime
from policies.alert_rules import AlertsConfig

if TYPE_CHECKING:
    from apis.process.runtime import BackgroundJob, ProcessRuntime

WORKFLOW = "business-alerts"
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


class AlertSchedule:
    """One process's tick: report the circuits, ask for the period's evaluation (once per period per process)."""

    def __init__(
        self,
        config: Callable[[], AlertsConfig],
        *,
        report: Callable[[float], Awaitable[None]] | None = None,
        start: Callable[[str, float, AlertsConfig], Awaitable[bool]] = start_evaluation,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._report = report
        self._start = start
        self._clock = clock
        self._asked_for: str | None = None

    async def tick(self) -> bool:
        """Once: whether this call started an evaluation."""
        config = self._config()
        if not config.rules:
            return False
        now = self._clock()
        if self._report is not None:
            await self._report(now)
        period = period_of(now, config.evaluate_every_seconds)
        if period == self._asked_for:
            return False
        started = await self._start(period, now, config)
        self._asked_for = period
        return started

    async def run_forever(self) -> None:
        """Tick every period until cancelled (the first tick one period after start-up)."""
        while True:
            await asyncio.sleep(self._config().evaluate_every_seconds)
            try:
                await self.tick()
            except Exception:  # the engine or database is away: try again next period
                logger.exception("business alerts could not be evaluated")


def alert_schedule(
    process: ProcessRuntime, config: Callable[[], AlertsConfig], circuits: CircuitStates, **options: Any
) -> AlertSchedule:
    """The schedule of ``process``: it reports ``circuits`` under its executor id, then asks for the period."""
    reporter = process.engine.executor_id

    async def report(now: float) -> None:
        await report_circuits(process.database, reporter, circuits(), now)

    return AlertSchedule(config, report=report, **options)


def business_alerts(config: Callable[[], AlertsConfig], circuits: CircuitStates) -> BackgroundJob:
    """The background job of every process with the engine, over the live governance rules
    (``config``, read at every tick: a reloaded file applies from the next period) and this
    process's circuit breakers (``circuits``), both handed over by the composition root."""

    async def job(process: ProcessRuntime) -> None:
        await alert_schedule(process, config, circuits).run_forever()

    return job

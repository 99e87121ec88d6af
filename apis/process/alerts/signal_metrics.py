"""The business alert signals as Prometheus metrics, for alerting rules outside the gateway.

``deploy/prometheus/strata-alerts.yml`` alerts on the same conditions as the governance file's
rules (:mod:`apis.process.alerts.signals`), so an operator whose alerting is Prometheus's gets
them there. The figures are read from the tables every process shares, by a background job every
:data:`REFRESH_SECONDS` (each process reports the same value: ``max`` across workers):

* ``strata_process_workflow_p95_seconds{workflow}`` — p95 of accepted → completed of the
  transactions completed in the last :data:`SLA_WINDOW_SECONDS`; with
  ``strata_process_workflow_sla_target_seconds{workflow}``, the target the dashboard shows;
* ``strata_process_oldest_exception_seconds{workflow}`` — age of the oldest transaction waiting
  for a person (``needs_attention``, ``held``, ...) since it began to (0 when none);
* ``strata_reconciliation_mismatches{period}`` — mismatches of each period's latest completed
  run of the last :data:`RECONCILIATION_WINDOW_SECONDS`;
* ``strata_partner_webhook_dead_deliveries{partner}`` — partner webhook deliveries dead-lettered
  in the last :data:`DEAD_LETTER_WINDOW_SECONDS`.

Vendor circuits need no new metric: each process exports ``strata_circuit_state{vendor}``.
A label that disappears from the tables is set to 0, not left at its last value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.alerts.signals import DEAD, SLA_SAMPLE_LIMIT, p95
from apis.process.reconciliation.store import COMPLETED as RUN_COMPLETED
from apis.process.transactions import EXCEPTION_STATES
from core.db import partner_webhook_deliveries, process_transactions, reconciliation_runs

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

REFRESH_SECONDS = 30.0
SLA_WINDOW_SECONDS = 3600.0
RECONCILIATION_WINDOW_SECONDS = 45 * 86_400.0
DEAD_LETTER_WINDOW_SECONDS = 86_400.0
logger = structlog.get_logger("strata.process.alerts")

WORKFLOW_P95 = Gauge(
    "strata_process_workflow_p95_seconds",
    "p95 accepted-to-completed seconds of the transactions completed in the last hour, by workflow",
    ["workflow"],
    multiprocess_mode="max",
)
WORKFLOW_SLA_TARGET = Gauge(
    "strata_process_workflow_sla_target_seconds",
    "End-to-end target of each workflow (settings workflow_sla_seconds / default_sla_seconds)",
    ["workflow"],
    multiprocess_mode="max",
)
OLDEST_EXCEPTION = Gauge(
    "strata_process_oldest_exception_seconds",
    "Age of the oldest transaction waiting for a person, by workflow (0 when none)",
    ["workflow"],
    multiprocess_mode="max",
)
RECONCILIATION_MISMATCHES = Gauge(
    "strata_reconciliation_mismatches",
    "Mismatches found by the latest completed reconciliation run of each period (last 45 days)",
    ["period"],
    multiprocess_mode="max",
)
DEAD_DELIVERIES = Gauge(
    "strata_partner_webhook_dead_deliveries",
    "Partner webhook deliveries dead-lettered in the last 24 hours, by partner",
    ["partner"],
    multiprocess_mode="max",
)


def _set_all(gauge: Gauge, values: dict[str, float]) -> None:
    for label, value in values.items():
        gauge.labels(label).set(value)
    for (label,) in list(gauge._metrics):
        if label not in values:
            gauge.labels(label).set(0)


async def refresh_signal_metrics(engine: AsyncEngine, now: float, sla_target: Callable[[str], int]) -> None:
    """Read every signal from the tables once and set the gauges."""
    t, r, d = process_transactions.c, reconciliation_runs.c, partner_webhook_deliveries.c
    completed = (
        select(t.workflow, t.completed_at - t.created_at)
        .where(t.completed_at.is_not(None), t.completed_at >= now - SLA_WINDOW_SECONDS, t.completed_at < now)
        .order_by(t.completed_at.desc())
        .limit(SLA_SAMPLE_LIMIT)
    )
    waiting = (
        select(t.workflow, func.min(t.attention_since))
        .where(t.state.in_(EXCEPTION_STATES), t.attention_since.is_not(None))
        .group_by(t.workflow)
    )
    runs = (
        select(r.period, r.mismatch_count)
        .where(
            r.status == RUN_COMPLETED,
            r.completed_at.is_not(None),
            r.completed_at >= now - RECONCILIATION_WINDOW_SECONDS,
        )
        .order_by(r.completed_at, r.id)
    )
    last = func.coalesce(d.last_attempt_at, d.created_at)
    dead = (
        select(d.partner_id, func.count())
        .where(d.status == DEAD, last >= now - DEAD_LETTER_WINDOW_SECONDS)
        .group_by(d.partner_id)
    )
    async with engine.connect() as connection:
        durations: dict[str, list[float]] = {}
        for workflow, seconds in (await connection.execute(completed)).all():
            durations.setdefault(str(workflow), []).append(float(seconds))
        oldest = {str(w): max(0.0, now - float(since)) for w, since in (await connection.execute(waiting)).all()}
        latest = {str(period): float(count or 0) for period, count in (await connection.execute(runs)).all()}
        dead_counts = {str(partner): float(count) for partner, count in (await connection.execute(dead)).all()}
    p95s = {workflow: p95(values) or 0.0 for workflow, values in durations.items()}
    _set_all(WORKFLOW_P95, p95s)
    for workflow in {*p95s, *oldest, *(labels[0] for labels in WORKFLOW_SLA_TARGET._metrics)}:
        WORKFLOW_SLA_TARGET.labels(workflow).set(sla_target(workflow))
    _set_all(OLDEST_EXCEPTION, oldest)
    _set_all(RECONCILIATION_MISMATCHES, latest)
    _set_all(DEAD_DELIVERIES, dead_counts)


async def signal_metrics(process: ProcessRuntime) -> None:
    """Background job: refresh the gauges every interval until cancelled."""
    targets, default = process.settings.workflow_sla_targets, process.settings.default_sla_seconds
    while True:
        try:
            await refresh_signal_metrics(process.database, time.time(), lambda name: targets.get(name, default))
        except Exception:  # the database is away: the gauges keep their last values
            logger.exception("alert signal metrics could not be refreshed")
        await asyncio.sleep(REFRESH_SECONDS)

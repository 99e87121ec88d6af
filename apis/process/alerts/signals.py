"""The business signals alert rules watch, read from the database every process shares.

One reader per rule kind (:func:`read_signal`), each answering the subjects whose condition
holds now: the workflows over their SLA, the exceptions waiting too long, the periods whose
latest reconciliation disagrees, the vendors whose circuit is not closed, the partners with
dead webhook deliveries. Nothing here is per process: the transactions, exceptions,
reconciliation runs and webhook deliveries are shared tables, and circuit breakers (which live
in process memory) are read from the reports every process writes
(:mod:`apis.process.alerts.circuits`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.reconciliation.store import COMPLETED as RUN_COMPLETED
from apis.process.transactions import EXCEPTION_STATES
from core.db import partner_webhook_deliveries, process_transactions, reconciliation_runs, vendor_circuit_reports
from policies.alert_rules import (
    AlertRule,
    CircuitOpenRule,
    ExceptionAgeRule,
    ReconciliationMismatchRule,
    WebhookDeadLetterRule,
    WorkflowSlaRule,
)

SLA_SAMPLE_LIMIT = 10_000
"""Most completions per workflow the p95 is computed over (the most recent of the window)."""
DEAD = "dead"
"""Status of a partner webhook delivery given up on (``apis.experience.partner_portal.webhooks``)."""
CLOSED = "closed"


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One subject whose condition holds now."""

    subject: str
    """What it is about (a workflow, vendor, period, partner), ``""`` when the rule has one subject."""
    summary: str
    """One line for a person."""
    detail: dict[str, Any]
    """The figures behind it (ids, counts, seconds); no personal data."""
    since: float | None = None
    """When the condition began, where the signal knows (else the first evaluation that saw it)."""


SlaTargets = Callable[[str], int]
"""A workflow's end-to-end target in seconds (the ``workflow_sla_seconds`` setting)."""


def p95(durations: Sequence[float]) -> float | None:
    """The 95th percentile by nearest rank (as the operations dashboard computes it)."""
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


async def read_signal(
    engine: AsyncEngine, rule: AlertRule, now: float, *, sla_target: SlaTargets, circuit_fresh_seconds: float
) -> list[Finding]:
    """The subjects for which ``rule``'s condition holds at ``now`` (epoch seconds)."""
    if isinstance(rule, WorkflowSlaRule):
        return await _workflow_sla(engine, rule, now, sla_target)
    if isinstance(rule, ExceptionAgeRule):
        return await _exception_age(engine, rule, now)
    if isinstance(rule, ReconciliationMismatchRule):
        return await _reconciliation_mismatch(engine, rule, now)
    if isinstance(rule, CircuitOpenRule):
        return await _circuit_open(engine, rule, now, circuit_fresh_seconds)
    return await _webhook_dead_letter(engine, rule, now)


async def _workflow_sla(engine: AsyncEngine, rule: WorkflowSlaRule, now: float, target_of: SlaTargets) -> list[Finding]:
    t = process_transactions.c
    start = now - rule.window_minutes * 60.0
    conditions = [t.completed_at.is_not(None), t.completed_at >= start, t.completed_at < now]
    if rule.workflow:
        conditions.append(t.workflow == rule.workflow)
    query = (
        select(t.workflow, t.completed_at - t.created_at)
        .where(*conditions)
        .order_by(t.completed_at.desc())
        .limit(SLA_SAMPLE_LIMIT)
    )
    durations: dict[str, list[float]] = {}
    async with engine.connect() as connection:
        for workflow, seconds in (await connection.execute(query)).all():
            durations.setdefault(str(workflow), []).append(float(seconds))
    findings = []
    for workflow, values in sorted(durations.items()):
        value = p95(values)
        target = target_of(workflow)
        if value is None or len(values) < rule.min_completed or value <= target:
            continue
        findings.append(
            Finding(
                subject=workflow,
                summary=(
                    f"{workflow}: p95 {value:.0f} s over its {target} s target "
                    f"({len(values)} completed in the last {rule.window_minutes:g} min)"
                ),
                detail={
                    "workflow": workflow,
                    "p95_seconds": round(value, 3),
                    "target_seconds": target,
                    "completed": len(values),
                },
            )
        )
    return findings


async def _exception_age(engine: AsyncEngine, rule: ExceptionAgeRule, now: float) -> list[Finding]:
    t = process_transactions.c
    age = rule.older_than_hours * 3600.0
    conditions = [t.state.in_(EXCEPTION_STATES), t.attention_since.is_not(None), t.attention_since <= now - age]
    if rule.workflow:
        conditions.append(t.workflow == rule.workflow)
    query = select(func.count(), func.min(t.attention_since)).where(*conditions)
    async with engine.connect() as connection:
        count, oldest = (await connection.execute(query)).one()
    if not count:
        return []
    scope = rule.workflow or "all workflows"
    hours = (now - float(oldest)) / 3600.0
    return [
        Finding(
            subject=rule.workflow or "",
            summary=f"{count} exception(s) of {scope} waiting over {rule.older_than_hours:g} h (oldest {hours:.1f} h)",
            detail={
                "exceptions": int(count),
                "oldest_hours": round(hours, 2),
                "older_than_hours": rule.older_than_hours,
            },
            since=float(oldest) + age,
        )
    ]


async def _reconciliation_mismatch(engine: AsyncEngine, rule: ReconciliationMismatchRule, now: float) -> list[Finding]:
    r = reconciliation_runs.c
    query = (
        select(r.id, r.period, r.mismatch_count, r.completed_at)
        .where(r.status == RUN_COMPLETED, r.completed_at.is_not(None), r.completed_at >= now - rule.within_days * 86400)
        .order_by(r.completed_at, r.id)
    )
    latest: dict[str, Any] = {}
    async with engine.connect() as connection:
        for row in (await connection.execute(query)).all():
            latest[row.period] = row  # ordered by completion: the last one per period stays
    findings = []
    for period, run in sorted(latest.items()):
        if not run.mismatch_count:
            continue
        findings.append(
            Finding(
                subject=period,
                summary=f"reconciliation of {period} found {run.mismatch_count} mismatch(es) (run {run.id})",
                detail={"period": period, "run_id": run.id, "mismatches": int(run.mismatch_count)},
                since=float(run.completed_at),
            )
        )
    return findings


async def _circuit_open(engine: AsyncEngine, rule: CircuitOpenRule, now: float, fresh_seconds: float) -> list[Finding]:
    c = vendor_circuit_reports.c
    conditions = [c.state != CLOSED, c.reported_at >= now - fresh_seconds]
    if rule.vendor:
        conditions.append(c.vendor == rule.vendor)
    query = select(c.vendor, func.count(), func.min(c.not_closed_since)).where(*conditions).group_by(c.vendor)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    findings = []
    for vendor, processes, since in sorted(rows):
        minutes = (now - float(since)) / 60.0 if since is not None else 0.0
        findings.append(
            Finding(
                subject=vendor,
                summary=f"{vendor}: circuit not closed for {minutes:.0f} min in {processes} gateway process(es)",
                detail={"vendor": vendor, "processes": int(processes), "open_minutes": round(minutes, 1)},
                since=float(since) if since is not None else None,
            )
        )
    return findings


async def _webhook_dead_letter(engine: AsyncEngine, rule: WebhookDeadLetterRule, now: float) -> list[Finding]:
    d = partner_webhook_deliveries.c
    last = func.coalesce(d.last_attempt_at, d.created_at)
    query = (
        select(d.partner_id, func.count(), func.min(last))
        .where(d.status == DEAD, last >= now - rule.within_hours * 3600.0)
        .group_by(d.partner_id)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [
        Finding(
            subject=partner_id,
            summary=(
                f"partner {partner_id}: {count} webhook delivery(ies) dead-lettered in the last {rule.within_hours:g} h"
            ),
            detail={"partner_id": partner_id, "dead_deliveries": int(count)},
            since=float(first),
        )
        for partner_id, count, first in sorted(rows)
    ]

"""One evaluation of the alert rules: read the signals, move each alert on, announce what changed.

For each rule, the subjects whose condition holds now (:mod:`apis.process.alerts.signals`) are
matched with the rule's active alerts (``business_alerts``, keyed ``<rule>|<subject>``)::

    new subject            → pending (or firing at once when the condition has held ``for_minutes``)
    pending, held long enough → firing: strata.alert.fired (notification 1)
    firing, repeat due     → strata.alert.fired again (notification 2, 3, ...)
    active, condition gone → resolved: strata.alert.resolved (only if it fired; a pending one ends quietly)

Once per period across all processes: the evaluation inserts its period's row in
``alert_evaluations`` in the same database transaction as every alert change and event
(outbox), so of two evaluations of one period — two processes, or a workflow step run again
after a crash — one changes things and the other finds the period taken and does nothing.
Each alert row is also updated only if it is as it was read, so evaluations of two different
periods that overlap cannot announce one repeat twice.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from ulid import ULID

from apis.process.alerts.signals import Finding, SlaTargets, read_signal
from apis.process.alerts.store import ACTIVE_STATUSES, FIRING, PENDING, RESOLVED
from apis.process.event_types import AlertFired, AlertResolved, event_data
from apis.process.events import CloudEvent, append, deterministic_event_id, new_event
from core.db import alert_evaluations, business_alerts, insert_ignoring
from core.instants import rfc3339
from policies.alert_rules import AlertRule, AlertsConfig

FIRED_EVENT = "strata.alert.fired"
RESOLVED_EVENT = "strata.alert.resolved"
SOURCE = "/strata/process/alerts"
EVALUATIONS_KEPT_SECONDS = 7 * 86_400.0
"""Claims of evaluated periods older than this are deleted (a period is claimed only while it is current)."""
RULE_KINDS = {
    "WorkflowSlaRule": "workflow_sla",
    "ExceptionAgeRule": "exception_age",
    "ReconciliationMismatchRule": "reconciliation_mismatch",
    "CircuitOpenRule": "circuit_open",
    "WebhookDeadLetterRule": "webhook_dead_letter",
}


class Outcome(msgspec.Struct, kw_only=True):
    """What one evaluation did (keys are ``<rule>|<subject>``)."""

    evaluated: bool = True
    """False when another evaluation had taken the period: nothing was read or changed."""
    pending: list[str] = msgspec.field(default_factory=list)
    fired: list[str] = msgspec.field(default_factory=list)
    repeated: list[str] = msgspec.field(default_factory=list)
    resolved: list[str] = msgspec.field(default_factory=list)


def rule_kind(rule: AlertRule) -> str:
    """The ``kind`` tag of ``rule`` as written in the governance file."""
    return RULE_KINDS[type(rule).__name__]


def _key(rule: str, subject: str) -> str:
    return f"{rule}|{subject}"


async def evaluate(
    engine: AsyncEngine,
    config: AlertsConfig,
    *,
    period: str,
    now: float,
    sla_target: SlaTargets,
    evaluator: str | None = None,
) -> Outcome:
    """Evaluate every rule at ``now`` for ``period`` (once: see the module docstring)."""
    if await _evaluated(engine, period):  # the usual case for all processes but one: no reads
        return Outcome(evaluated=False)
    fresh = 3.0 * config.evaluate_every_seconds  # a process reports its circuits every period
    findings = {
        rule.name: await read_signal(engine, rule, now, sla_target=sla_target, circuit_fresh_seconds=fresh)
        for rule in config.rules
    }
    outcome = Outcome()
    async with engine.begin() as connection:
        row = {"period": period, "evaluated_at": now, "evaluated_by": evaluator}
        if not await insert_ignoring(connection, alert_evaluations, row, "period"):
            return Outcome(evaluated=False)
        await connection.execute(
            delete(alert_evaluations).where(alert_evaluations.c.evaluated_at < now - EVALUATIONS_KEPT_SECONDS)
        )
        a = business_alerts.c
        active_rows = await connection.execute(business_alerts.select().where(a.status.in_(ACTIVE_STATUSES)))
        active = {row["active_key"]: dict(row) for row in active_rows.mappings()}
        for rule in config.rules:
            for finding in findings[rule.name]:
                key = _key(rule.name, finding.subject)
                existing = active.pop(key, None)
                if existing is None:
                    await _open(connection, rule, finding, now, outcome)
                else:
                    await _advance(connection, config, rule, finding, existing, now, outcome)
        for gone in active.values():  # condition gone, or its rule removed from the file
            await _resolve(connection, gone, now, outcome)
    return outcome


async def _evaluated(engine: AsyncEngine, period: str) -> bool:
    async with engine.connect() as connection:
        query = select(alert_evaluations.c.period).where(alert_evaluations.c.period == period)
        return (await connection.execute(query)).first() is not None


async def _open(connection: AsyncConnection, rule: AlertRule, finding: Finding, now: float, outcome: Outcome) -> None:
    since = min(finding.since, now) if finding.since is not None else now
    fires = now - since >= rule.for_minutes * 60.0
    key = _key(rule.name, finding.subject)
    row: dict[str, Any] = {
        "id": f"alr_{ULID()}",
        "rule": rule.name,
        "kind": rule_kind(rule),
        "subject": finding.subject,
        "severity": rule.severity,
        "status": FIRING if fires else PENDING,
        "active_key": key,
        "summary": finding.summary[:500],
        "detail": msgspec.json.encode(finding.detail).decode(),
        "since": since,
        "created_at": now,
        "fired_at": now if fires else None,
        "last_notified_at": now if fires else None,
        "notifications": 1 if fires else 0,
        "resolved_at": None,
        "updated_at": now,
    }
    if not await insert_ignoring(connection, business_alerts, row, "active_key"):
        return  # an overlapping evaluation of another period opened it first
    if fires:
        await append(connection, _fired_event(row))
        outcome.fired.append(key)
    else:
        outcome.pending.append(key)


async def _advance(
    connection: AsyncConnection,
    config: AlertsConfig,
    rule: AlertRule,
    finding: Finding,
    row: dict[str, Any],
    now: float,
    outcome: Outcome,
) -> None:
    changes: dict[str, Any] = {
        "summary": finding.summary[:500],
        "detail": msgspec.json.encode(finding.detail).decode(),
        "updated_at": now,
    }
    announce = None
    if row["status"] == PENDING and now - row["since"] >= rule.for_minutes * 60.0:
        changes |= {"status": FIRING, "fired_at": now, "last_notified_at": now, "notifications": 1}
        announce = outcome.fired
    elif row["status"] == FIRING and now - (row["last_notified_at"] or row["fired_at"]) >= config.repeat_seconds(rule):
        changes |= {"last_notified_at": now, "notifications": row["notifications"] + 1}
        announce = outcome.repeated
    if not await _update_unchanged(connection, row, changes):
        return
    if announce is not None:
        await append(connection, _fired_event(row | changes))
        announce.append(row["active_key"])


async def _resolve(connection: AsyncConnection, row: dict[str, Any], now: float, outcome: Outcome) -> None:
    changes = {"status": RESOLVED, "active_key": None, "resolved_at": now, "updated_at": now}
    if not await _update_unchanged(connection, row, changes):
        return
    if row["fired_at"] is not None:
        await append(connection, _resolved_event(row | changes))
        outcome.resolved.append(row["active_key"])


async def _update_unchanged(connection: AsyncConnection, row: dict[str, Any], changes: dict[str, Any]) -> bool:
    """Apply ``changes`` to the alert if nobody changed it since it was read; whether it was applied."""
    a = business_alerts.c
    result = await connection.execute(
        update(business_alerts).where(a.id == row["id"], a.updated_at == row["updated_at"]).values(**changes)
    )
    return bool(result.rowcount)


def _fired_event(row: dict[str, Any]) -> CloudEvent:
    notification = int(row["notifications"])
    data = AlertFired(
        alert_id=row["id"],
        rule=row["rule"],
        kind=row["kind"],
        severity=row["severity"],
        subject=row["subject"],
        summary=row["summary"],
        detail=msgspec.json.decode(row["detail"]),
        since=rfc3339(row["since"]),
        notification=notification,
    )
    return _event(FIRED_EVENT, row, f"notify-{notification}", event_data(data))


def _resolved_event(row: dict[str, Any]) -> CloudEvent:
    data = AlertResolved(
        alert_id=row["id"],
        rule=row["rule"],
        kind=row["kind"],
        severity=row["severity"],
        subject=row["subject"],
        summary=row["summary"],
        fired_at=rfc3339(row["fired_at"]),
        resolved_at=rfc3339(row["resolved_at"]),
    )
    return _event(RESOLVED_EVENT, row, "resolve", event_data(data))


def _event(event_type: str, row: dict[str, Any], step: str, data: dict[str, Any]) -> CloudEvent:
    return new_event(
        event_type,
        event_id=deterministic_event_id(row["id"], step, event_type),
        subject=row["id"],
        source=SOURCE,
        correlation_id=row["id"],
        data=data,
        at=dt.datetime.fromtimestamp(row["updated_at"], dt.UTC),
    )

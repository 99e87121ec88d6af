"""What the process APIs answer: transactions, their lineage and exceptions, as JSON objects."""

from __future__ import annotations

import time
from typing import Any

import msgspec

from apis.process.engine import StepRecord
from apis.process.events import CloudEvent
from apis.process.transactions import EXCEPTION_STATES, About, LineageEntry, Transaction, iso

OPERATIONS_BASE = "/process/operations/v1"


class ExceptionView(msgspec.Struct, frozen=True, kw_only=True):
    """Why a transaction stopped, and for how long it has been stopped."""

    reason_code: str | None
    reason: str | None
    owner_system: str | None
    failed_step: str | None
    since: str | None
    age_seconds: float | None


class TransactionView(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction in a list or on its own."""

    id: str
    workflow: str
    business_key: str
    state: str
    customer_id: str | None
    correlation_id: str
    created_at: str
    updated_at: str
    completed_at: str | None
    exception: ExceptionView | None
    href: str
    about: About | None = None
    """What a person knows it by (customer, deal, amount), once the workflow has read it."""


class RecordView(msgspec.Struct, frozen=True, kw_only=True):
    system: str
    object: str
    id: str


class StepView(msgspec.Struct, frozen=True, kw_only=True):
    """One step of a transaction: timing, attempts, what it created."""

    name: str
    system: str | None
    started_at: str | None
    completed_at: str | None
    duration_ms: float | None
    attempts: int
    error: str | None
    records: list[RecordView]


class EventView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    type: str
    time: str | None
    subject: str | None


class ActionView(msgspec.Struct, frozen=True, kw_only=True):
    action: str
    actor: str | None
    at: str | None
    detail: str | None


class FindingView(msgspec.Struct, frozen=True, kw_only=True):
    """Something a step noticed and left to a person (a conflict of ownership, a price drift, ...)."""

    code: str
    detail: str | None
    at: str | None


class TransactionDetail(TransactionView, frozen=True, kw_only=True):
    """A transaction with its lineage across systems."""

    input: dict[str, Any]
    overrides: dict[str, Any] | None
    executor_id: str | None
    """The gateway process (workflow executor) that runs or last ran it."""
    steps: list[StepView]
    events: list[EventView]
    actions: list[ActionView]
    findings: list[FindingView]


def transaction_view(transaction: Transaction, now: float | None = None) -> TransactionView:
    """The list view of a transaction."""
    return TransactionView(**_fields(transaction, now))


def transaction_detail(
    transaction: Transaction,
    steps: list[StepRecord],
    lineage: list[LineageEntry],
    events: list[CloudEvent],
    step_systems: dict[str, str | None],
    executor_id: str | None = None,
) -> TransactionDetail:
    """The detail view: engine steps (attempts grouped) joined with the lineage's vendor records."""
    records: dict[str, list[RecordView]] = {}
    for entry in lineage:
        if entry.kind == "record" and entry.step and entry.system and entry.object and entry.vendor_id:
            records.setdefault(entry.step, []).append(
                RecordView(system=entry.system, object=entry.object, id=entry.vendor_id)
            )
    grouped: list[list[StepRecord]] = []
    for record in steps:
        if record.name.startswith("DBOS."):
            continue  # the engine's own operations (durable sleeps between attempts)
        if grouped and grouped[-1][0].name == record.name:
            grouped[-1].append(record)
        else:
            grouped.append([record])
    step_views = []
    for attempts in grouped:
        first, last = attempts[0], attempts[-1]
        started = first.started_at.timestamp() if first.started_at else None
        completed = last.completed_at.timestamp() if last.completed_at else None
        step_views.append(
            StepView(
                name=first.name,
                system=step_systems.get(first.name),
                started_at=iso(started),
                completed_at=iso(completed),
                duration_ms=round((completed - started) * 1000, 1) if started and completed else None,
                attempts=len(attempts),
                error=last.error,
                records=records.get(first.name, []),
            )
        )
    return TransactionDetail(
        **_fields(transaction, None),
        input=transaction.input,
        overrides=transaction.overrides,
        executor_id=executor_id,
        steps=step_views,
        events=[EventView(id=e.id, type=e.type, time=e.time, subject=e.subject) for e in events],
        actions=[
            ActionView(action=entry.step or "", actor=entry.actor, at=iso(entry.at), detail=entry.detail)
            for entry in lineage
            if entry.kind == "action"
        ],
        findings=[
            FindingView(code=(entry.step or "").removeprefix("finding:"), detail=entry.detail, at=iso(entry.at))
            for entry in lineage
            if entry.kind == "finding"
        ],
    )


def _fields(transaction: Transaction, now: float | None) -> dict[str, Any]:
    exception = None
    if transaction.state in EXCEPTION_STATES:
        since = transaction.attention_since
        exception = ExceptionView(
            reason_code=transaction.reason_code,
            reason=transaction.reason,
            owner_system=transaction.owner_system,
            failed_step=transaction.failed_step,
            since=iso(since),
            age_seconds=round((now or time.time()) - since, 3) if since is not None else None,
        )
    return {
        "id": transaction.id,
        "workflow": transaction.workflow,
        "business_key": transaction.business_key,
        "state": transaction.state,
        "customer_id": transaction.customer_id,
        "correlation_id": transaction.correlation_id,
        "created_at": iso(transaction.created_at),
        "updated_at": iso(transaction.updated_at),
        "completed_at": iso(transaction.completed_at),
        "exception": exception,
        "href": f"{OPERATIONS_BASE}/transactions/{transaction.id}",
        "about": transaction.about,
    }

"""Aggregates of the business-transaction table for the dashboard: states, throughput, aging, SLA.

Read from the table every process shares (``process_transactions``), not from the workflow
engine, so the dashboard answers the same in every gateway process, the engine on or off.
Counting and bucketing happen in SQL (portable between SQLite and PostgreSQL: ``CASE`` and a
bucket index that truncates on SQLite and floors on PostgreSQL — the same for the non-negative
offsets used here). Percentiles do not have a portable SQL form (SQLite has no
``percentile_cont``), so the p95 is computed in Python over the end-to-end durations of the
window, at most :data:`SLA_SAMPLE_LIMIT` of them (the most recent) per workflow.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Integer, case, cast, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.experience.operations.views import (
    AgingBuckets,
    ExceptionAging,
    FlowCounts,
    ThroughputBucket,
    WorkflowAging,
    WorkflowSla,
    WorkflowStates,
)
from apis.process.transactions import (
    ACCEPTED,
    COMPENSATED,
    COMPLETED,
    DISMISSED,
    EXCEPTION_STATES,
    FAILED,
    HELD,
    NEEDS_ATTENTION,
    TransactionStore,
)
from core.db import process_transactions

BUSINESS_STATES = (ACCEPTED, NEEDS_ATTENTION, FAILED, HELD, COMPLETED, COMPENSATED, DISMISSED)
SLA_SAMPLE_LIMIT = 10_000
"""End-to-end durations per workflow the p95 is computed over (the most recent completions)."""
HOUR = 3600
AGING_BUCKETS = (("under_1h", HOUR), ("from_1h_to_4h", 4 * HOUR), ("from_4h_to_24h", 24 * HOUR))
"""Upper bounds (exclusive) of every aging bucket but the last, ``over_24h``."""


def p95(durations: Sequence[float]) -> float | None:
    """The 95th percentile by nearest rank: the smallest value at least 95 % of them do not exceed."""
    if not durations:
        return None
    ordered = sorted(durations)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def _bucket_index(engine: AsyncEngine, column: Any, origin: float, size: int) -> Any:
    offset = (column - origin) / size
    if engine.dialect.name == "sqlite":
        return cast(offset, Integer)  # truncates: the floor of a non-negative offset
    return func.floor(offset)  # PostgreSQL's CAST rounds


def _rare(engine: AsyncEngine, condition: Any) -> Any:
    """``condition``, told to SQLite's planner to hold for few rows (``unlikely()``).

    SQLite estimates ``state IN (...)`` from the average rows per state (a large share of the
    table) and scans the table; exceptions are a small share, so the state index is right.
    ``bench/dashboard.py`` measured exception aging 8x faster at 200,000 transactions. PostgreSQL
    has a histogram and no such function: the condition is left as it is.
    """
    return func.unlikely(condition) if engine.dialect.name == "sqlite" else condition


class TransactionStats:
    """The dashboard's reads of the transaction table."""

    def __init__(self, engine: AsyncEngine, workflows: Sequence[str]) -> None:
        self._engine = engine
        self._store = TransactionStore(engine)
        self._workflows = tuple(workflows)

    def _all_workflows(self, found: Any) -> list[str]:
        """The registered workflows, then any other the table holds (an older release's)."""
        return [*self._workflows, *sorted(set(found) - set(self._workflows))]

    async def states(self) -> list[WorkflowStates]:
        """Transactions per workflow and business state now (every state, zeros included)."""
        counts = await self._store.counts()
        answer = []
        for workflow in self._all_workflows(w for w, _ in counts):
            per_state = {state: counts.get((workflow, state), 0) for state in BUSINESS_STATES}
            # A state this release does not know still counts in the total.
            total = sum(count for (w, _), count in counts.items() if w == workflow)
            answer.append(WorkflowStates(workflow=workflow, counts=per_state, total=total))
        return answer

    async def throughput(self, origin: float, end: float, size: int) -> list[ThroughputBucket]:
        """Transactions started and completed per bucket of ``size`` seconds from ``origin`` to ``end``."""
        t = process_transactions.c
        found: dict[tuple[str, int], list[int]] = {}
        for column, slot in ((t.created_at, 0), (t.completed_at, 1)):
            index = _bucket_index(self._engine, column, origin, size).label("bucket")
            query = (
                select(t.workflow, index, func.count())
                .where(column.is_not(None), column >= origin, column < end)
                .group_by(t.workflow, index)
            )
            async with self._engine.connect() as connection:
                for workflow, bucket, count in (await connection.execute(query)).all():
                    found.setdefault((workflow, int(bucket)), [0, 0])[slot] += int(count)
        workflows = self._all_workflows(w for w, _ in found)
        buckets = []
        for number in range(math.ceil((end - origin) / size)):
            start = origin + number * size
            by_workflow = {
                w: FlowCounts(started=found.get((w, number), [0, 0])[0], completed=found.get((w, number), [0, 0])[1])
                for w in workflows
            }
            buckets.append(
                ThroughputBucket(
                    start=_instant(start),
                    end=_instant(start + size),
                    started=sum(c.started for c in by_workflow.values()),
                    completed=sum(c.completed for c in by_workflow.values()),
                    by_workflow=by_workflow,
                )
            )
        return buckets

    async def exception_aging(self, now: float) -> ExceptionAging:
        """Open exceptions by age since they parked (``attention_since``), whenever they parked."""
        t = process_transactions.c
        parked = func.coalesce(t.attention_since, t.updated_at)
        bucket = case(*((parked > now - bound, name) for name, bound in AGING_BUCKETS), else_="over_24h").label(
            "bucket"
        )
        open_exceptions = _rare(self._engine, t.state.in_(EXCEPTION_STATES))
        query = select(t.workflow, bucket, func.count()).where(open_exceptions).group_by(t.workflow, bucket)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        counts = {(workflow, name): int(count) for workflow, name, count in rows}
        names = [*(name for name, _ in AGING_BUCKETS), "over_24h"]
        workflows = []
        for workflow in self._all_workflows(w for w, _ in counts):
            values = {name: counts.get((workflow, name), 0) for name in names}
            workflows.append(
                WorkflowAging(workflow=workflow, buckets=AgingBuckets(**values), total=sum(values.values()))
            )
        totals = {name: sum(counts.get((w.workflow, name), 0) for w in workflows) for name in names}
        return ExceptionAging(buckets=AgingBuckets(**totals), total=sum(totals.values()), workflows=workflows)

    async def sla(self, start: float, end: float, target_of: Callable[[str], int]) -> list[WorkflowSla]:
        """Per workflow: p95 end-to-end seconds of the transactions completed in ``[start, end)``
        against its target (``target_of(workflow)``)."""
        t = process_transactions.c
        completed_in_window = (t.completed_at.is_not(None), t.completed_at >= start, t.completed_at < end)
        counted = select(t.workflow, func.count()).where(*completed_in_window).group_by(t.workflow)
        async with self._engine.connect() as connection:
            counts = {workflow: int(count) for workflow, count in (await connection.execute(counted)).all()}
        answer = []
        for workflow in self._all_workflows(counts):
            durations: list[float] = []
            if counts.get(workflow):
                query = (
                    select(t.completed_at - t.created_at)
                    .where(t.workflow == workflow, *completed_in_window)
                    .order_by(t.completed_at.desc())
                    .limit(SLA_SAMPLE_LIMIT)
                )
                async with self._engine.connect() as connection:
                    durations = [float(d) for d in (await connection.execute(query)).scalars()]
            target = target_of(workflow)
            value = p95(durations)
            answer.append(
                WorkflowSla(
                    workflow=workflow,
                    target_seconds=target,
                    completed=counts.get(workflow, 0),
                    p95_seconds=round(value, 3) if value is not None else None,
                    met=value <= target if value is not None else None,
                )
            )
        return answer


def _instant(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)

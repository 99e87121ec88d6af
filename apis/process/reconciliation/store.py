"""Reconciliation runs and their mismatches in the gateway's database.

One period has at most one run in flight, across processes: ``active_period`` is unique and
holds the period until the run ends (:meth:`RunStore.open` returns the run in flight instead of
a second one). A run's mismatches, its status and its ``strata.reconciliation.completed`` event
are written in one transaction (:meth:`RunStore.complete`), so a reader never sees a completed
run without its report, nor an event without the run.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.events import CloudEvent, append
from apis.process.reconciliation.compare import Report
from apis.process.xref import new_canonical_id
from core.cursors import Keyset
from core.db import insert_ignoring, reconciliation_mismatches, reconciliation_runs

RUNNING = "running"
COMPLETED = "completed"
FAILED = "failed"
OPEN_ATTEMPTS = 5
"""Tries of :meth:`RunStore.open` when the run in flight ends between its insert and its read."""


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """One reconciliation run."""

    id: str
    workflow_id: str
    period: str
    trigger: str
    status: str
    requested_by: str | None
    correlation_id: str | None
    mismatch_count: int | None
    by_kind: dict[str, int] | None
    summary: dict[str, Any] | None
    error: str | None
    created_at: float
    completed_at: float | None


class RunStore:
    """Runs and mismatches."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(
        self,
        period: str,
        *,
        trigger: str,
        workflow_id: str | None = None,
        requested_by: str | None = None,
        correlation_id: str | None = None,
    ) -> tuple[Run, bool]:
        """A new run of ``period``, or the one in flight; (run, created).

        ``workflow_id`` defaults to the run id (a run started by the API).
        """
        for _ in range(OPEN_ATTEMPTS):
            run_id = new_canonical_id("reconciliation_run")
            row = {
                "id": run_id,
                "workflow_id": workflow_id or run_id,
                "period": period,
                "trigger": trigger,
                "status": RUNNING,
                "active_period": period,
                "requested_by": requested_by,
                "correlation_id": correlation_id,
                "created_at": time.time(),
            }
            async with self._engine.begin() as connection:
                created = await insert_ignoring(connection, reconciliation_runs, row, "active_period")
            found = await self.get(run_id) if created else await self._in_flight(period)
            if found is not None:
                return found, created
        raise RuntimeError(f"could not open a reconciliation run of {period}")  # pragma: no cover - a storm of runs

    async def get(self, run_id: str) -> Run | None:
        """The run with this id, if any."""
        return await self._one(reconciliation_runs.c.id == run_id)

    async def _in_flight(self, period: str) -> Run | None:
        return await self._one(reconciliation_runs.c.active_period == period)

    async def page(self, *, limit: int, position: Keyset | None = None) -> tuple[list[Run], Keyset | None]:
        """Runs, newest first, from ``position``, and the next page's position."""
        r = reconciliation_runs.c
        query = select(reconciliation_runs)
        if position is not None:
            query = query.where(
                or_(r.created_at < position.created_at, and_(r.created_at == position.created_at, r.id < position.id))
            )
        query = query.order_by(r.created_at.desc(), r.id.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        runs = [_run(row) for row in rows[:limit]]
        return runs, Keyset(runs[-1].created_at, runs[-1].id) if len(rows) > limit else None

    async def mismatches(self, run_id: str) -> list[dict[str, Any]]:
        """The run's mismatches, in report order."""
        m = reconciliation_mismatches.c
        query = select(m.detail).where(m.run_id == run_id).order_by(m.position)
        async with self._engine.connect() as connection:
            return [msgspec.json.decode(row.detail) for row in await connection.execute(query)]

    async def complete(self, run_id: str, report: Report, event: CloudEvent) -> None:
        """Store the report, end the run and write its event, in one transaction (safe to repeat)."""
        by_kind = report.by_kind()
        rows = [
            {
                "run_id": run_id,
                "position": position,
                "kind": mismatch.kind,
                "customer_id": mismatch.customer_id,
                "detail": msgspec.json.encode(mismatch).decode(),
            }
            for position, mismatch in enumerate(report.mismatches)
        ]
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(reconciliation_mismatches).where(reconciliation_mismatches.c.run_id == run_id)
            )
            if rows:
                await connection.execute(reconciliation_mismatches.insert(), rows)
            await connection.execute(
                update(reconciliation_runs)
                .where(reconciliation_runs.c.id == run_id)
                .values(
                    status=COMPLETED,
                    active_period=None,
                    mismatch_count=len(report.mismatches),
                    by_kind=msgspec.json.encode(by_kind).decode(),
                    summary=msgspec.json.encode(report.summary).decode(),
                    completed_at=time.time(),
                )
            )
            await append(connection, event)

    async def fail(self, run_id: str, error: str) -> None:
        """End the run as failed (the period can be run again)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(reconciliation_runs)
                .where(and_(reconciliation_runs.c.id == run_id, reconciliation_runs.c.status == RUNNING))
                .values(status=FAILED, active_period=None, error=error[:1000], completed_at=time.time())
            )

    async def _one(self, condition: Any) -> Run | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(reconciliation_runs).where(condition))).mappings().first()
        return _run(row) if row is not None else None


def _run(row: Any) -> Run:
    return Run(
        id=row["id"],
        workflow_id=row["workflow_id"],
        period=row["period"],
        trigger=row["trigger"],
        status=row["status"],
        requested_by=row["requested_by"],
        correlation_id=row["correlation_id"],
        mismatch_count=row["mismatch_count"],
        by_kind=msgspec.json.decode(row["by_kind"]) if row["by_kind"] else None,
        summary=msgspec.json.decode(row["summary"]) if row["summary"] else None,
        error=row["error"],
        created_at=row["created_at"],
        completed_at=row["completed_at"],
    )

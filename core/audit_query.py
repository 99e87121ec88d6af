"""Reading the audit log: filtered queries paged by row id, NDJSON export, denial counts.

Newest first for queries (what an auditor reads first), oldest first for exports (what a
SIEM ingests). Cursors are opaque; under them is the id of the last row returned, so paging
is stable while new records arrive. Rows are shown as written: who (client, partner,
source address), what (method, route template, API), when, outcome, the policy that denied
and why, or what a management call changed. Never a body or a secret: none is recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import audit_events
from core.errors import InvalidInput
from core.instants import rfc3339

EXPORT_BATCH_ROWS = 1000
"""Rows read per query while exporting (each batch is one keyset query)."""
EXPORT_MAX_ROWS = 50_000
"""Rows in one export response; a ``next`` link continues from there."""


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    """Which records: every given field must match."""

    since: dt.datetime | None = None
    """At or after this instant."""
    until: dt.datetime | None = None
    """Before this instant."""
    client_id: str | None = None
    partner_id: str | None = None
    route: str | None = None
    """Route template, e.g. ``/system/crm/v1/accounts/{account_id}``."""
    outcome: str | None = None
    policy: str | None = None
    """The policy that denied."""

    def check(self) -> None:
        """InvalidInput naming the parameters when the range is empty or backwards."""
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidInput(
                "since must be before until.",
                field_errors=[{"in": "query", "name": "until", "detail": "must be after since"}],
            )


def _epoch(value: dt.datetime) -> float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.timestamp()


_rfc3339 = rfc3339


def _where(query: Select[Any], where: AuditFilter) -> Select[Any]:
    columns = audit_events.c
    if where.since is not None:
        query = query.where(columns.at >= _epoch(where.since))
    if where.until is not None:
        query = query.where(columns.at < _epoch(where.until))
    for name in ("client_id", "partner_id", "route", "outcome", "policy"):
        value = getattr(where, name)
        if value is not None:
            query = query.where(columns[name] == value)
    return query


def record_view(row: Any) -> dict[str, Any]:
    """One audit record as the API shows it."""
    return {
        "id": str(row.id),
        "at": _rfc3339(row.at),
        "request_id": row.request_id,
        "client_id": row.client_id,
        "partner_id": row.partner_id,
        "source": row.source,
        "method": row.method,
        "route": row.route,
        "api": row.api,
        "status": row.status,
        "outcome": row.outcome,
        "policy": row.policy,
        "reason": row.reason,
        "duration_ms": row.duration_ms,
    }


class AuditQuery:
    """Queries over ``audit_events`` (the writer is :class:`core.audit.AuditLog`)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def search(
        self, where: AuditFilter, *, limit: int = 50, position: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of records below the row id ``position``, newest first, and the next page's position (or None)."""
        where.check()
        query = _where(select(audit_events), where).order_by(audit_events.c.id.desc()).limit(limit + 1)
        if position is not None:
            query = query.where(audit_events.c.id < position)
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        page = rows[:limit]
        return [record_view(row) for row in page], page[-1].id if len(rows) > limit else None

    async def export(
        self, where: AuditFilter, *, position: int | None = None, max_rows: int = EXPORT_MAX_ROWS
    ) -> tuple[bytes, int | None]:
        """Matching records above the row id ``position``, oldest first, one JSON object per line (NDJSON),
        at most ``max_rows``.

        Returns the lines and, when more records match, the position that continues the export
        (responses are buffered by the governance pipeline, so one export is bounded).
        """
        where.check()
        after = position if position is not None else -1
        lines: list[bytes] = []
        while len(lines) < max_rows:
            query = (
                _where(select(audit_events), where)
                .where(audit_events.c.id > after)
                .order_by(audit_events.c.id)
                .limit(min(EXPORT_BATCH_ROWS, max_rows - len(lines)))
            )
            async with self.engine.connect() as connection:
                rows = (await connection.execute(query)).all()
            if not rows:
                return b"".join(lines), None
            lines.extend(msgspec.json.encode(record_view(row)) + b"\n" for row in rows)
            after = rows[-1].id
        async with self.engine.connect() as connection:
            more = (
                await connection.execute(
                    _where(select(audit_events.c.id), where).where(audit_events.c.id > after).limit(1)
                )
            ).first()
        return b"".join(lines), after if more is not None else None

    async def denials_by_policy(self, client_id: str, since: float) -> dict[str, int]:
        """How many requests of a client each policy denied since ``since`` (epoch seconds)."""
        columns = audit_events.c
        query = (
            select(columns.policy, func.count())
            .where(columns.client_id == client_id, columns.outcome == "denied", columns.at >= since)
            .group_by(columns.policy)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {str(policy): int(count) for policy, count in rows if policy}

    async def denials_by_client(
        self, policy: str, since: float, until: float, *, limit: int
    ) -> tuple[list[tuple[str, int]], int]:
        """Requests ``policy`` denied in ``[since, until)`` (epoch seconds), per client.

        Returns:
            The ``limit`` clients with the most denials (most first, then by client id) with their
            counts, and the total over every client. Denials without a client (before
            authentication) are not counted.
        """
        columns = audit_events.c
        denied = (
            columns.outcome == "denied",
            columns.policy == policy,
            columns.client_id.is_not(None),
            columns.at >= since,
            columns.at < until,
        )
        count = func.count().label("denials")
        top = (
            select(columns.client_id, count)
            .where(*denied)
            .group_by(columns.client_id)
            .order_by(count.desc(), columns.client_id)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(top)).all()
            total = (await connection.execute(select(func.count()).where(*denied))).scalar_one()
        return [(str(client_id), int(denials)) for client_id, denials in rows], int(total)

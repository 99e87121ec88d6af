"""Alerts as stored: one row per alert, pending → firing → resolved (``business_alerts``).

Written by the evaluation (:mod:`apis.process.alerts.evaluate`), read by the operations API
(``GET /process/operations/v1/alerts``). Times are epoch seconds here and RFC 3339 in views.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.cursors import Keyset
from core.db import business_alerts
from core.instants import rfc3339

PENDING, FIRING, RESOLVED = "pending", "firing", "resolved"
ACTIVE_STATUSES = (PENDING, FIRING)
AlertListed = Literal["active", "firing", "pending", "resolved"]


class AlertView(msgspec.Struct, frozen=True, kw_only=True):
    """An alert as the operations API shows it."""

    id: str
    rule: str
    kind: str
    subject: str
    severity: str
    status: str
    summary: str
    detail: dict[str, Any]
    since: str
    """When the condition began (as far as the signal knows)."""
    fired_at: str | None
    last_notified_at: str | None
    notifications: int
    """``strata.alert.fired`` events sent: the first and each repeat."""
    resolved_at: str | None


def alert_view(row: Any) -> AlertView:
    """The view of a ``business_alerts`` row."""
    return AlertView(
        id=row["id"],
        rule=row["rule"],
        kind=row["kind"],
        subject=row["subject"],
        severity=row["severity"],
        status=row["status"],
        summary=row["summary"],
        detail=msgspec.json.decode(row["detail"]),
        since=rfc3339(row["since"]),
        fired_at=rfc3339(row["fired_at"]),
        last_notified_at=rfc3339(row["last_notified_at"]),
        notifications=row["notifications"],
        resolved_at=rfc3339(row["resolved_at"]),
    )


class AlertStore:
    """Reads of the alerts table."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def page(
        self, listed: AlertListed | None, *, rule: str | None = None, limit: int, position: Keyset | None = None
    ) -> tuple[list[AlertView], Keyset | None]:
        """Alerts newest first (``active``: pending and firing), from ``position``; and the next page's position."""
        a = business_alerts.c
        conditions: list[Any] = []
        if listed == "active":
            conditions.append(a.status.in_(ACTIVE_STATUSES))
        elif listed is not None:
            conditions.append(a.status == listed)
        if rule:
            conditions.append(a.rule == rule)
        if position is not None:
            conditions.append(
                or_(a.created_at < position.created_at, and_(a.created_at == position.created_at, a.id < position.id))
            )
        query = select(business_alerts).where(*conditions).order_by(a.created_at.desc(), a.id.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        items = [alert_view(row) for row in rows[:limit]]
        last = rows[limit - 1] if len(rows) > limit else None
        return items, Keyset(last["created_at"], last["id"]) if last is not None else None

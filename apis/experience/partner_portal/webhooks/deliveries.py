"""The queue and log of partner webhook deliveries: one row per (subscription, event).

States::

    pending ──attempt ok──▶ delivered
       │  ▲                    │
       │  └──── redeliver ◀────┤ (from delivered, failed or dead: a fresh round of attempts)
       ▼                       │
    failed ──attempt ok──▶ delivered
       │ (retried at next_attempt_at, backoff doubling per attempt)
       └── attempts = max ──▶ dead

A worker *claims* due deliveries (:meth:`DeliveryQueue.claim`): one ``UPDATE … WHERE id IN
(SELECT … FOR UPDATE SKIP LOCKED LIMIT n)`` stamps them with a claim token and a lease, so
several processes on PostgreSQL take disjoint batches (on SQLite the statement is atomic on
its own; the lock clause is not rendered). A worker that dies mid-attempt leaves its claim to
expire, and the delivery is attempted again: receivers de-duplicate by ``webhook-id``.
Each attempt is a row of ``partner_webhook_attempts`` (status code, error, duration).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from ulid import ULID

from apis.process.events import CloudEvent
from core.backoff import backoff_delay
from core.cursors import Keyset
from core.db import insert_ignoring, partner_webhook_attempts, partner_webhook_deliveries
from core.errors import Conflict, NotFound

PENDING, DELIVERED, FAILED, DEAD = "pending", "delivered", "failed", "dead"
STATUSES = (PENDING, DELIVERED, FAILED, DEAD)
_due = (PENDING, FAILED)
_d = partner_webhook_deliveries
_a = partner_webhook_attempts


class Attempt(msgspec.Struct, frozen=True, kw_only=True):
    """One attempt of a delivery, as logged."""

    at: float
    status_code: int | None
    """The receiver's HTTP status; ``None`` when no answer came (timeout, refused)."""
    error: str | None
    """Why it failed (``None`` when it succeeded)."""
    duration_ms: int


class Delivery(msgspec.Struct, frozen=True, kw_only=True):
    """One event for one subscription, and where its delivery stands."""

    id: str
    subscription_id: str
    event_id: str
    event_type: str
    status: str
    attempts: int
    next_attempt_at: float | None
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: float | None
    delivered_at: float | None
    created_at: float


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery a worker holds: what to send, and the token proving the claim."""

    id: str
    subscription_id: str
    event_id: str
    payload: bytes
    attempts: int
    token: str


def _delivery(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(**{name: row[name] for name in Delivery.__struct_fields__})


def backoff_seconds(attempts: int, base_ms: int, max_ms: int) -> float:
    """The pause after the ``attempts``-th failed attempt: ``base · 2^(attempts-1)``, capped."""
    return backoff_delay(attempts - 1, base=base_ms, cap=max_ms) / 1000


class DeliveryQueue:
    """Partner webhook deliveries in the state database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def enqueue(self, subscription_id: str, partner_id: str, event: CloudEvent) -> bool:
        """Queue ``event`` for the subscription, due now; False if it was queued before (a relayed duplicate)."""
        now = time.time()
        row = {
            "id": f"whd_{ULID()}",
            "subscription_id": subscription_id,
            "partner_id": partner_id,
            "event_id": event.id,
            "event_type": event.type,
            "payload": msgspec.json.encode(event).decode(),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        async with self._engine.begin() as connection:
            return await insert_ignoring(connection, _d, row, "subscription_id", "event_id")

    async def claim(self, limit: int, lease_seconds: float) -> list[Claimed]:
        """Claim up to ``limit`` due deliveries for ``lease_seconds``; disjoint across workers."""
        now = time.time()
        token = uuid.uuid4().hex
        free = or_(_d.c.claimed_until.is_(None), _d.c.claimed_until < now)
        due = (
            select(_d.c.id)
            .where(and_(_d.c.status.in_(_due), _d.c.next_attempt_at <= now, free))
            .order_by(_d.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_d)
                .where(and_(_d.c.id.in_(due.scalar_subquery()), free))
                .values(claimed_by=token, claimed_until=now + lease_seconds)
            )
            rows = (
                await connection.execute(
                    select(_d.c.id, _d.c.subscription_id, _d.c.event_id, _d.c.payload, _d.c.attempts).where(
                        _d.c.claimed_by == token
                    )
                )
            ).all()
        return [
            Claimed(
                id=row.id,
                subscription_id=row.subscription_id,
                event_id=row.event_id,
                payload=row.payload.encode(),
                attempts=row.attempts,
                token=token,
            )
            for row in rows
        ]

    async def finish(
        self, claimed: Claimed, attempt: Attempt, *, max_attempts: int, backoff_base_ms: int, backoff_max_ms: int
    ) -> str | None:
        """Log ``attempt`` and move the delivery on; its new status (``None``: the claim was lost)."""
        async with self._engine.begin() as connection:
            current = (
                await connection.execute(
                    select(_d.c.attempts).where(and_(_d.c.id == claimed.id, _d.c.claimed_by == claimed.token))
                )
            ).scalar_one_or_none()
            if current is None:
                return None  # deleted, or redelivered and claimed again, while this attempt ran
            await connection.execute(_a.insert().values(delivery_id=claimed.id, **msgspec.structs.asdict(attempt)))
            attempts = int(current) + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_status_code": attempt.status_code,
                "last_error": attempt.error[:500] if attempt.error else None,
                "last_attempt_at": attempt.at,
                "claimed_by": None,
                "claimed_until": None,
            }
            if attempt.error is None:
                values |= {"status": DELIVERED, "next_attempt_at": None, "delivered_at": attempt.at}
            elif attempts >= max_attempts:
                values |= {"status": DEAD, "next_attempt_at": None}
            else:
                pause = backoff_seconds(attempts, backoff_base_ms, backoff_max_ms)
                values |= {"status": FAILED, "next_attempt_at": attempt.at + pause}
            await connection.execute(update(_d).where(_d.c.id == claimed.id).values(**values))
        return str(values["status"])

    async def next_due_at(self) -> float | None:
        """When the earliest unclaimed pending or failed delivery is due (``None``: none waits).

        Claimed ones are left out: they are in flight, or their lease runs out at a poll.
        """
        unclaimed = or_(_d.c.claimed_until.is_(None), _d.c.claimed_until < time.time())
        query = (
            select(_d.c.next_attempt_at)
            .where(and_(_d.c.status.in_(_due), unclaimed))
            .order_by(_d.c.next_attempt_at)
            .limit(1)
        )
        async with self._engine.connect() as connection:
            found = (await connection.execute(query)).scalar_one_or_none()
        return float(found) if found is not None else None

    async def page(
        self, partner_id: str, subscription_id: str, *, limit: int, position: Keyset | None, status: str | None
    ) -> tuple[list[Delivery], Keyset | None]:
        """A subscription's deliveries, newest first, from ``position``, and the next page's position."""
        conditions = [_d.c.partner_id == partner_id, _d.c.subscription_id == subscription_id]
        if status:
            conditions.append(_d.c.status == status)
        if position is not None:
            conditions.append(
                or_(
                    _d.c.created_at < position.created_at,
                    and_(_d.c.created_at == position.created_at, _d.c.id < position.id),
                )
            )
        query = select(_d).where(*conditions).order_by(_d.c.created_at.desc(), _d.c.id.desc()).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        items = [_delivery(row) for row in rows[:limit]]
        return items, Keyset(items[-1].created_at, items[-1].id) if len(rows) > limit else None

    async def get(self, partner_id: str, subscription_id: str, delivery_id: str) -> tuple[Delivery, list[Attempt]]:
        """One delivery of the partner's subscription with every attempt, oldest first.

        Raises:
            NotFound: no such delivery of this partner's subscription.
        """
        query = select(_d).where(
            and_(_d.c.id == delivery_id, _d.c.subscription_id == subscription_id, _d.c.partner_id == partner_id)
        )
        log = select(_a.c.at, _a.c.status_code, _a.c.error, _a.c.duration_ms).where(_a.c.delivery_id == delivery_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
            if row is None:
                raise NotFound(f"No delivery {delivery_id}")
            attempts = (await connection.execute(log.order_by(_a.c.id))).mappings().all()
        return _delivery(row), [Attempt(**dict(attempt)) for attempt in attempts]

    async def redeliver(self, partner_id: str, subscription_id: str, delivery_id: str) -> Delivery:
        """Make the delivery due now with a fresh round of attempts (its log keeps the earlier ones).

        Raises:
            NotFound: no such delivery of this partner's subscription.
            Conflict: a worker is attempting it right now.
        """
        now = time.time()
        mine = and_(_d.c.id == delivery_id, _d.c.subscription_id == subscription_id, _d.c.partner_id == partner_id)
        free = or_(_d.c.claimed_until.is_(None), _d.c.claimed_until < now)
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(_d)
                .where(and_(mine, free))
                .values(status=PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None)
            )
            row = (await connection.execute(select(_d).where(mine))).mappings().first()
        if row is None:
            raise NotFound(f"No delivery {delivery_id}")
        if not changed.rowcount:
            raise Conflict(f"delivery {delivery_id} is being attempted right now; ask again in a moment")
        return _delivery(row)

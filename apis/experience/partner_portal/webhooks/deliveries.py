"""The log of partner webhook deliveries: one row per (subscription, event), and who attempts it.

States::

    pending ──attempt ok──▶ delivered
       │  ▲                    │
       │  └──── redeliver ◀────┤ (from delivered, failed or dead: a fresh round of attempts)
       ▼                       │
    failed ──attempt ok──▶ delivered
       │ (retried at next_attempt_at, backoff doubling per attempt)
       └── attempts = max ──▶ dead

Attempts are workflows on the engine's queue (:mod:`apis.experience.partner_portal.webhooks.worker`).
A due delivery is *owned* by exactly one attempt workflow: ``claimed_by`` holds that workflow's id
(``<delivery id>:<random>``, :func:`new_owner`). An attempt sends only while it owns the delivery
(:meth:`DeliveryQueue.begin`), and a failed attempt hands the delivery to the next attempt's
workflow in the same write that records it (:meth:`DeliveryQueue.finish`); a redelivery hands it
to a fresh one, so an attempt of an earlier round that is still waiting in the queue finds it is
no longer the owner and sends nothing. ``claimed_until`` marks an attempt in flight (a
redelivery then answers 409); a process that dies mid-attempt leaves its workflow to be
recovered, which sends again: receivers de-duplicate by ``webhook-id``.
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
    """A delivery an attempt workflow is sending: what to send, and the workflow (its owner)."""

    id: str
    subscription_id: str
    event_id: str
    payload: bytes
    attempts: int
    token: str


class Owned(msgspec.Struct, frozen=True, kw_only=True):
    """A due delivery and the attempt workflow that owns it."""

    id: str
    owner: str | None
    """The owning attempt workflow's id (``None``: a delivery queued before attempts were workflows)."""
    partner_id: str
    due_at: float


class Finished(msgspec.Struct, frozen=True, kw_only=True):
    """What became of a delivery after an attempt."""

    status: str
    next_owner: str | None = None
    """The next attempt's workflow id (a failed attempt with attempts left)."""
    retry_in: float = 0.0
    """Seconds until the next attempt is due."""


def new_owner(delivery_id: str) -> str:
    """A fresh attempt workflow id for the delivery."""
    return f"{delivery_id}:{uuid.uuid4().hex[:12]}"


def _owned(row: Any) -> Owned:
    return Owned(id=row.id, owner=row.claimed_by, partner_id=row.partner_id, due_at=float(row.next_attempt_at or 0))


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
        inserted, _ = await self.queue_first(subscription_id, partner_id, event)
        return inserted

    async def queue_first(self, subscription_id: str, partner_id: str, event: CloudEvent) -> tuple[bool, Owned | None]:
        """Queue ``event`` for the subscription, due now: whether this call queued it, and its first
        attempt to enqueue (again, for a duplicate not attempted yet; ``None`` once attempted)."""
        now = time.time()
        delivery_id = f"whd_{ULID()}"
        owner = new_owner(delivery_id)
        row = {
            "id": delivery_id,
            "subscription_id": subscription_id,
            "partner_id": partner_id,
            "event_id": event.id,
            "event_type": event.type,
            "payload": msgspec.json.encode(event).decode(),
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "claimed_by": owner,
            "created_at": now,
        }
        async with self._engine.begin() as connection:
            inserted = await insert_ignoring(connection, _d, row, "subscription_id", "event_id")
        if inserted:
            return True, Owned(id=delivery_id, owner=owner, partner_id=partner_id, due_at=now)
        return False, await self.due(subscription_id, event.id)

    async def due(self, subscription_id: str, event_id: str) -> Owned | None:
        """The delivery of ``event_id`` to the subscription if no attempt was made yet: the first
        attempt to enqueue (again: enqueuing is idempotent by its workflow id)."""
        query = select(_d.c.id, _d.c.claimed_by, _d.c.partner_id, _d.c.next_attempt_at).where(
            _d.c.subscription_id == subscription_id, _d.c.event_id == event_id, _d.c.status == PENDING,
            _d.c.attempts == 0,
        )  # fmt: skip
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return _owned(row) if row is not None and row.claimed_by else None

    async def begin(self, delivery_id: str, owner: str, lease_seconds: float) -> Claimed | None:
        """Start the attempt of ``owner`` (an attempt workflow's id): what to send, marked in
        flight for ``lease_seconds``; ``None`` when ``owner`` no longer owns the delivery (it was
        redelivered, delivered, or deleted with its subscription): nothing is to be sent."""
        mine = and_(_d.c.id == delivery_id, _d.c.claimed_by == owner, _d.c.status.in_(_due))
        async with self._engine.begin() as connection:
            changed = await connection.execute(update(_d).where(mine).values(claimed_until=time.time() + lease_seconds))
            if not changed.rowcount:
                return None
            row = (
                await connection.execute(
                    select(_d.c.subscription_id, _d.c.event_id, _d.c.payload, _d.c.attempts).where(
                        _d.c.id == delivery_id
                    )
                )
            ).one()
        return Claimed(
            id=delivery_id,
            subscription_id=row.subscription_id,
            event_id=row.event_id,
            payload=row.payload.encode(),
            attempts=row.attempts,
            token=owner,
        )

    async def finish(
        self, claimed: Claimed, attempt: Attempt, *, max_attempts: int, backoff_base_ms: int, backoff_max_ms: int
    ) -> Finished | None:
        """Log ``attempt`` and move the delivery on (``None``: the attempt's workflow lost the
        delivery meanwhile — redelivered or deleted — and nothing is recorded).

        A failed attempt with attempts left hands the delivery to the next attempt's workflow
        (:attr:`Finished.next_owner`), due after the backoff.
        """
        async with self._engine.begin() as connection:
            current = (
                await connection.execute(
                    select(_d.c.attempts).where(and_(_d.c.id == claimed.id, _d.c.claimed_by == claimed.token))
                )
            ).scalar_one_or_none()
            if current is None:
                return None
            await connection.execute(_a.insert().values(delivery_id=claimed.id, **msgspec.structs.asdict(attempt)))
            attempts = int(current) + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "last_status_code": attempt.status_code,
                "last_error": attempt.error[:500] if attempt.error else None,
                "last_attempt_at": attempt.at,
                "claimed_until": None,
            }
            finished = Finished(status=DELIVERED)
            if attempt.error is None:
                values |= {"status": DELIVERED, "next_attempt_at": None, "delivered_at": attempt.at}
            elif attempts >= max_attempts:
                values |= {"status": DEAD, "next_attempt_at": None}
                finished = Finished(status=DEAD)
            else:
                pause = backoff_seconds(attempts, backoff_base_ms, backoff_max_ms)
                finished = Finished(status=FAILED, next_owner=new_owner(claimed.id), retry_in=pause)
                values |= {"status": FAILED, "next_attempt_at": attempt.at + pause, "claimed_by": finished.next_owner}
            await connection.execute(update(_d).where(_d.c.id == claimed.id).values(**values))
        return finished

    async def stranded(self, *, older_than: float, limit: int = 200) -> list[Owned]:
        """Deliveries due since before ``older_than`` (epoch seconds) and not in flight: each should
        have an attempt workflow waiting in the engine's queue; the sweep checks that it does."""
        free = or_(_d.c.claimed_until.is_(None), _d.c.claimed_until < time.time())
        query = (
            select(_d.c.id, _d.c.claimed_by, _d.c.partner_id, _d.c.next_attempt_at)
            .where(and_(_d.c.status.in_(_due), _d.c.next_attempt_at <= older_than, free))
            .order_by(_d.c.next_attempt_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return [_owned(row) for row in (await connection.execute(query)).all()]

    async def hand_over(self, delivery_id: str, owner: str | None, to: str) -> bool:
        """Give a due delivery to a new attempt workflow ``to`` if ``owner`` still owns it."""
        owned = _d.c.claimed_by.is_(None) if owner is None else _d.c.claimed_by == owner
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                update(_d).where(and_(_d.c.id == delivery_id, owned, _d.c.status.in_(_due))).values(claimed_by=to)
            )
        return bool(changed.rowcount)

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

    async def redeliver(self, partner_id: str, subscription_id: str, delivery_id: str, owner: str) -> Delivery:
        """Make the delivery due now with a fresh round of attempts (its log keeps the earlier ones),
        owned by the attempt workflow ``owner`` (:func:`new_owner`), which the caller enqueues.

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
                .values(status=PENDING, attempts=0, next_attempt_at=now, claimed_by=owner, claimed_until=None)
            )
            row = (await connection.execute(select(_d).where(mine))).mappings().first()
        if row is None:
            raise NotFound(f"No delivery {delivery_id}")
        if not changed.rowcount:
            raise Conflict(f"delivery {delivery_id} is being attempted right now; ask again in a moment")
        return _delivery(row)

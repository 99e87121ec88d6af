"""Business events: CloudEvents 1.0 envelopes, a durable outbox, at-least-once delivery.

A workflow step that changes state writes the event describing it **in the same database
transaction** (:func:`append`), so there is never a state change without its event, nor an
event for a change that was rolled back. Event ids are deterministic
(:func:`deterministic_event_id` of the workflow id, the step and the type), so a step re-run
after a crash writes the same event again — and the outbox keeps one (the id is unique).

:class:`OutboxRelay` delivers the outbox to subscribers (the data-platform sink, CRM status
updates, partner webhooks), each with a cursor of its own: in ``seq`` order, at least once —
a subscriber sees an event again if the process dies between delivery and cursor update, so
consumers de-duplicate by event id. A subscriber that fails an event is retried with backoff;
after ``max_attempts`` the event goes to the dead letters (with the error) and the subscriber
moves on, so one poisoned event does not stop the rest. A subscriber whose system is out of
reach (a refused or cut connection, a time-out, a retryable 5xx: :func:`is_outage`) is not
failing an event: its cursor stays where it is and the next round tries the same event again,
however long the outage lasts, so an outage of Redis or a receiver never dead-letters events. With several processes on
PostgreSQL, a subscriber's cursor row is locked (``FOR UPDATE SKIP LOCKED``) while one process
delivers a batch, so the processes share subscribers instead of racing on one.
:meth:`OutboxRelay.purge` drops events every subscriber has received, after the retention.

Envelope (structured JSON mode): ``specversion``, ``id``, ``source``, ``type``
(``strata.<object>.<event>``), ``subject``, ``time``, ``datacontenttype``, ``data``, and the
extension attributes ``correlationid`` and ``traceparent`` (lowercase alphanumerics, as the
spec requires). The AsyncAPI document is ``contracts/events/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
import structlog
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.backoff import backoff_delay
from core.db import insert_ignoring, outbox_cursors, outbox_dead_letters, outbox_events
from core.errors import RetryableError
from core.personal_data import mask_personal

logger = structlog.get_logger("strata.events")

EVENT_TYPE = re.compile(r"^strata\.[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
EVENT_NAMESPACE = uuid.UUID("6f1c1f2e-1d4a-5a8e-9b7a-3d2c0e4b5a61")
"""Namespace of the UUIDv5 event ids (fixed forever: changing it changes every id)."""
SOURCE = "/strata"


class CloudEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A CloudEvents 1.0 event in structured JSON mode (optional attributes left out when unset)."""

    id: str
    """Unique per event; deterministic for events written by workflow steps."""
    type: str
    """``strata.<object>.<event>``, e.g. ``strata.contract.activated``."""
    source: str
    """URI reference of the producer, e.g. ``/strata/process/quote-to-cash``."""
    specversion: str
    """CloudEvents version: ``1.0``."""
    subject: str | None = None
    """The business object the event is about (a canonical id)."""
    time: str | None = None
    """When the change happened, RFC 3339 UTC."""
    datacontenttype: str
    """Media type of ``data``: ``application/json``."""
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    """The event's payload (canonical objects only)."""
    correlationid: str | None = None
    """Extension: the correlation id of the business transaction."""
    traceparent: str | None = None
    """Extension: W3C trace context of the step that wrote it."""


def deterministic_event_id(workflow_id: str, step: str, event_type: str) -> str:
    """The id of the event ``event_type`` written by ``step`` of ``workflow_id``: the same every run."""
    return f"evt_{uuid.uuid5(EVENT_NAMESPACE, f'{workflow_id}|{step}|{event_type}').hex}"


def new_event(
    event_type: str,
    *,
    event_id: str,
    data: dict[str, Any],
    subject: str | None = None,
    source: str = SOURCE,
    correlation_id: str | None = None,
    traceparent: str | None = None,
    at: dt.datetime | None = None,
) -> CloudEvent:
    """A checked event envelope.

    Raises:
        ValueError: the type is not ``strata.<object>.<event>``.
    """
    if not EVENT_TYPE.match(event_type):
        raise ValueError(f"event type {event_type!r} is not strata.<object>.<event>")
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return CloudEvent(
        id=event_id,
        type=event_type,
        source=source,
        specversion="1.0",
        datacontenttype="application/json",
        subject=subject,
        time=when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        # Every envelope is made here, and the data platform sink and partner webhooks send
        # envelopes as they are: personal fields never leave in one (ids do).
        data=mask_personal(data),
        correlationid=correlation_id,
        traceparent=traceparent,
    )


async def append(connection: AsyncConnection, event: CloudEvent) -> bool:
    """Write ``event`` to the outbox inside the caller's transaction; False if it was there."""
    return await insert_ignoring(connection, outbox_events, outbox_row(event), "event_id")


def outbox_row(event: CloudEvent) -> dict[str, Any]:
    """The outbox row of ``event`` (its ``event_id`` is unique: a second write of it is ignored)."""
    return {
        "event_id": event.id,
        "type": event.type,
        "subject": event.subject,
        "correlation_id": event.correlationid,
        "envelope": msgspec.json.encode(event).decode(),
        "created_at": time.time(),
    }


Handler = Callable[[CloudEvent], Awaitable[None]]
"""A subscriber's delivery function; raising means "not delivered, try again"."""


class Subscriber(msgspec.Struct, frozen=True, kw_only=True):
    """One consumer of the outbox."""

    name: str
    """Stable name (its cursor is stored under it)."""
    handler: Handler
    """Delivers one event."""
    types: tuple[str, ...] = ()
    """Event types it wants (prefix match, e.g. ``strata.invoice.``); empty = all."""

    def wants(self, event_type: str) -> bool:
        """Whether events of ``event_type`` go to this subscriber."""
        return not self.types or any(event_type.startswith(prefix) for prefix in self.types)


class RelayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Pacing of the relay."""

    poll_seconds: float = 0.5
    """Pause between rounds when the outbox had nothing new."""
    batch_size: int = 100
    """Events read per subscriber per round."""
    max_attempts: int = 5
    """Deliveries of one event to one subscriber before it is dead-lettered."""
    backoff_base_seconds: float = 0.2
    """Pause after the first failed delivery; doubles per attempt."""
    retention_seconds: float = 7 * 24 * 3600.0
    """Delivered events are purged after this long."""
    lease_seconds: float = 60.0
    """How long a relay holds a subscriber before another process may take it over."""


class OutboxRelay:
    """Delivers the outbox to its subscribers, from a background task of this process."""

    def __init__(
        self, engine: AsyncEngine, subscribers: Sequence[Subscriber], config: RelayConfig | None = None
    ) -> None:
        self._engine = engine
        self._subscribers = list(subscribers)
        self.config = config or RelayConfig()
        self.relay_id = f"relay-{uuid.uuid4().hex[:12]}"
        """Who holds a subscriber's lease (one per relay instance)."""
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Run rounds in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop after the delivery in progress."""
        from core.background import cancel_and_wait

        await cancel_and_wait(self._task)
        self._task = None

    def notify(self) -> None:
        """New events were appended: start a round now instead of at the next poll."""
        self._wake.set()

    async def run_once(self) -> int:
        """One round over every subscriber; returns how many deliveries succeeded."""
        delivered = 0
        for subscriber in self._subscribers:
            delivered += await self._deliver_batch(subscriber)
        return delivered

    async def purge(self, now: float | None = None) -> int:
        """Delete events older than the retention that every subscriber has received."""
        cutoff = (now or time.time()) - self.config.retention_seconds
        names = [subscriber.name for subscriber in self._subscribers]
        async with self._engine.begin() as connection:
            positions = (
                await connection.execute(
                    select(outbox_cursors.c.subscriber, outbox_cursors.c.last_seq).where(
                        outbox_cursors.c.subscriber.in_(names)
                    )
                )
            ).all()
            if len(positions) < len(names):
                return 0  # a subscriber that never ran has received nothing yet
            low = min((row.last_seq for row in positions), default=0)
            result = await connection.execute(
                delete(outbox_events).where(and_(outbox_events.c.seq <= low, outbox_events.c.created_at < cutoff))
            )
        return int(result.rowcount or 0)

    async def _run(self) -> None:
        while True:
            # Cleared before the round, not after: a notify() arriving while the round reads the
            # outbox must start the next round at once, not be erased and wait for the poll.
            self._wake.clear()
            try:
                delivered = await self.run_once()
            except Exception:  # a database hiccup must not end the relay
                logger.exception("outbox relay round failed")
                delivered = 0
            if delivered == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.config.poll_seconds)

    async def _deliver_batch(self, subscriber: Subscriber) -> int:
        cursor = await self._claim(subscriber.name)
        if cursor is None:
            return 0  # another process holds this subscriber's lease
        async with self._engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(
                        outbox_events.c.seq, outbox_events.c.event_id, outbox_events.c.type, outbox_events.c.envelope
                    )
                    .where(outbox_events.c.seq > cursor)
                    .order_by(outbox_events.c.seq)
                    .limit(self.config.batch_size)
                )
            ).all()
        # Deliveries happen outside any transaction: a slow subscriber holds no database lock.
        delivered = 0
        last = cursor
        for row in rows:
            if subscriber.wants(row.type):
                event = msgspec.json.decode(row.envelope, type=CloudEvent)
                error, outage = await self._deliver(subscriber, event)
                if outage:
                    logger.warning(
                        "subscriber out of reach; its events wait",
                        subscriber=subscriber.name,
                        error=(error or "")[:200],
                    )
                    break  # the cursor stays before this event: the next round tries it again
                if error is None:
                    delivered += 1
                else:
                    await self._dead_letter(subscriber.name, row.event_id, row.seq, error)
            last = row.seq
            await self._advance(subscriber.name, last)
        await self._release(subscriber.name)
        return delivered

    async def _deliver(self, subscriber: Subscriber, event: CloudEvent) -> tuple[str | None, bool]:
        """Deliver with retries: (the last error's text when every attempt failed, whether that
        error was an outage of the subscriber's system rather than a refusal of this event)."""
        error, outage = "", False
        for attempt in range(self.config.max_attempts):
            try:
                await subscriber.handler(event)
                return None, False
            except Exception as exc:
                error, outage = f"{type(exc).__name__}: {exc}", is_outage(exc)
                if attempt + 1 < self.config.max_attempts:
                    # No ceiling: max_attempts bounds the pauses (0.2 s doubling 4 times by default).
                    await asyncio.sleep(backoff_delay(attempt, base=self.config.backoff_base_seconds, cap=math.inf))
        return error, outage

    async def _claim(self, name: str) -> int | None:
        """Take the subscriber's lease (creating its cursor at 0); its position, or None if held."""
        now = time.time()
        async with self._engine.begin() as connection:
            await insert_ignoring(
                connection, outbox_cursors, {"subscriber": name, "last_seq": 0, "updated_at": now}, "subscriber"
            )
            free = or_(
                outbox_cursors.c.lease_until.is_(None),
                outbox_cursors.c.lease_until < now,
                outbox_cursors.c.leased_by == self.relay_id,
            )
            claimed = await connection.execute(
                update(outbox_cursors)
                .where(and_(outbox_cursors.c.subscriber == name, free))
                .values(leased_by=self.relay_id, lease_until=now + self.config.lease_seconds)
            )
            if not claimed.rowcount:
                return None
            position = await connection.execute(
                select(outbox_cursors.c.last_seq).where(outbox_cursors.c.subscriber == name)
            )
            return int(position.scalar_one())

    async def _advance(self, name: str, seq: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outbox_cursors)
                .where(and_(outbox_cursors.c.subscriber == name, outbox_cursors.c.last_seq < seq))
                .values(last_seq=seq, updated_at=time.time(), lease_until=time.time() + self.config.lease_seconds)
            )

    async def _release(self, name: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(outbox_cursors)
                .where(and_(outbox_cursors.c.subscriber == name, outbox_cursors.c.leased_by == self.relay_id))
                .values(leased_by=None, lease_until=None)
            )

    async def _dead_letter(self, name: str, event_id: str, seq: int, error: str) -> None:
        async with self._engine.begin() as connection:
            row = {
                "subscriber": name,
                "event_id": event_id,
                "seq": seq,
                "attempts": self.config.max_attempts,
                "error": error[:500],
                "at": time.time(),
            }
            await insert_ignoring(connection, outbox_dead_letters, row, "subscriber", "event_id")
        logger.warning("event dead-lettered", subscriber=name, event_id=event_id, error=error[:200])


async def outbox_size(engine: AsyncEngine) -> int:
    """Events currently in the outbox (delivered ones included until purged)."""
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(outbox_events))).scalar_one())


def is_outage(error: BaseException) -> bool:
    """Whether a delivery failed because the subscriber's system is out of reach (worth waiting
    for), not because it refused the event: connection and time-out errors of sockets, Redis and
    HTTP, and our own retryable errors (a vendor's 5xx or 429 through a connector)."""
    import httpx
    import redis.exceptions

    transient = (
        OSError,
        TimeoutError,
        RetryableError,
        httpx.TransportError,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
        redis.exceptions.BusyLoadingError,
    )
    return isinstance(error, transient)

"""Business events between gateway processes on Redis Streams.

The outbox (:mod:`apis.process.events`) delivers each event at least once to its subscribers in
*one* process at a time. To reach consumers in every process, one of those subscribers is a
:class:`StreamPublisher`: it appends the CloudEvents envelope to a Redis stream (``XADD``,
``strata:events`` by default, trimmed to an approximate ``MAXLEN``). Each consumer — the CRM
status updater, the partner webhooks — is a :class:`StreamConsumer` in a consumer group of
its own, present in every process: Redis hands each entry to one member of the group.

Delivery is at least once, end to end:

* an entry is acknowledged (``XACK``) only after the handler returned;
* entries a consumer read but never acknowledged (it crashed, or its handler failed) are
  taken over with ``XAUTOCLAIM`` once they have been pending longer than ``claim_idle_ms``,
  by whichever member of the group asks first;
* after ``max_attempts`` deliveries the entry goes to the dead-letter stream
  ``<stream>:dead`` with the last error, and is acknowledged;
* the relay may add an event twice (it is at-least-once too), so the handler is guarded by
  a key per group and event id (``SET NX EX retention``): a second entry with the same
  event id is acknowledged without calling the handler.

The one remaining window — the handler succeeded and the process died before the key was
marked done — re-delivers that event: handlers must still be idempotent.

Entry fields: ``id`` (the event id), ``type`` (the event type) and ``event`` (the envelope,
JSON). Redis clients passed in may decode responses or not; both are handled.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from redis.exceptions import ResponseError

from apis.process.events import CloudEvent, Handler, Subscriber
from core.redis_pool import RedisClient as Redis

logger = structlog.get_logger("strata.events.streams")

DEFAULT_STREAM = "strata:events"
DEAD_LETTER_SUFFIX = ":dead"
DONE = "done"
"""Value of a de-duplication key once its event was handled (before: the id of the entry handling it)."""


class StreamPublisherConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where :class:`StreamPublisher` appends events."""

    stream: str = DEFAULT_STREAM
    """The stream key."""
    maxlen: int | None = 100_000
    """Approximate length the stream is trimmed to on each append (``MAXLEN ~``); None keeps everything.

    Must exceed what the slowest consumer group can fall behind by: a trimmed entry is lost to
    a group that had not read it yet.
    """

    def __post_init__(self) -> None:
        if not self.stream:
            raise ValueError("stream must not be empty")
        if self.maxlen is not None and self.maxlen < 1:
            raise ValueError("maxlen must be positive (or None)")


class StreamPublisher:
    """An outbox delivery function: appends each event's envelope to a Redis stream."""

    def __init__(self, redis: Redis, config: StreamPublisherConfig | None = None) -> None:
        self._redis = redis
        self.config = config or StreamPublisherConfig()

    async def __call__(self, event: CloudEvent) -> None:
        """``XADD`` the event; raising (Redis unreachable) makes the relay retry it."""
        fields: dict[Any, Any] = {"id": event.id, "type": event.type, "event": msgspec.json.encode(event)}
        await self._redis.xadd(self.config.stream, fields, maxlen=self.config.maxlen, approximate=True)

    def subscriber(self, name: str = "redis-stream", types: tuple[str, ...] = ()) -> Subscriber:
        """This publisher as an :class:`~apis.process.events.Subscriber` of the outbox relay."""
        return Subscriber(name=name, handler=self, types=types)


def default_consumer_name() -> str:
    """``<host>-<pid>``: unique per running process, readable in ``XINFO CONSUMERS``."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One consumer group's reading of the stream."""

    group: str
    """Consumer group name: one per consuming application (e.g. ``crm-status``), shared by its processes."""
    stream: str = DEFAULT_STREAM
    """The stream key."""
    consumer: str = ""
    """This member's name in the group; empty means :func:`default_consumer_name`."""
    start_id: str = "0"
    """Where a group created by this consumer starts: ``0`` (everything still in the stream) or ``$`` (new only)."""
    block_ms: int = 1000
    """How long one ``XREADGROUP`` waits for new entries (the Redis client's socket timeout must be longer)."""
    batch_size: int = 50
    """Entries read or claimed per call."""
    claim_idle_ms: int = 30_000
    """An entry pending longer than this is taken over (a crashed member's, or a failed one to retry)."""
    max_attempts: int = 5
    """Deliveries of one entry before it is dead-lettered."""
    dedup_retention_seconds: int = 7 * 24 * 3600
    """How long an event id is remembered as handled (at least the relay's outbox retention)."""
    dead_letter_maxlen: int | None = 10_000
    """Approximate length of the dead-letter stream; None keeps everything."""
    types: tuple[str, ...] = ()
    """Event types handled (prefix match, e.g. ``strata.transaction.``); others are acknowledged unseen."""
    retry_seconds: float = 1.0
    """Pause of the background loop after a Redis error."""

    def __post_init__(self) -> None:
        if not self.group or not self.stream:
            raise ValueError("group and stream must not be empty")
        if self.block_ms < 1:
            raise ValueError("block_ms must be at least 1 (0 would block forever)")
        if self.batch_size < 1 or self.max_attempts < 1:
            raise ValueError("batch_size and max_attempts must be at least 1")
        if self.claim_idle_ms <= self.block_ms:
            raise ValueError("claim_idle_ms must exceed block_ms, or entries are claimed while still being read")
        if self.dedup_retention_seconds < 1:
            raise ValueError("dedup_retention_seconds must be positive")


@dataclass
class ConsumerStats:
    """What a consumer did since it was built."""

    handled: int = 0
    """Events its handler processed successfully."""
    duplicates: int = 0
    """Entries acknowledged without calling the handler: their event id was handled already."""
    failed: int = 0
    """Handler failures (each left its entry pending, or dead-lettered it)."""
    dead_lettered: int = 0
    """Entries moved to the dead-letter stream."""
    claimed: int = 0
    """Entries taken over after ``claim_idle_ms``."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class StreamConsumer:
    """One member of a consumer group, delivering the stream's events to ``handler``."""

    def __init__(self, redis: Redis, handler: Handler, config: StreamConsumerConfig) -> None:
        self._redis = redis
        self._handler = handler
        self.config = config
        self.consumer = config.consumer or default_consumer_name()
        self.dead_letter_stream = config.stream + DEAD_LETTER_SUFFIX
        self.stats = ConsumerStats()
        self._group_ready = False
        self._claim_cursor = "0-0"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Read in the background until :meth:`stop`."""
        self._task = asyncio.create_task(self._run(), name=f"stream-consumer-{self.config.group}")

    async def stop(self) -> None:
        """Stop; an entry being handled stays pending and is claimed later."""
        from core.background import cancel_and_wait

        await cancel_and_wait(self._task)
        self._task = None

    async def run_once(self) -> int:
        """Claim what is overdue, read what is new (waiting up to ``block_ms``), handle both.

        Returns how many events the handler processed successfully.
        """
        await self._ensure_group()
        handled = 0
        for entry_id, fields, attempts in await self._claim():
            handled += await self._process(entry_id, fields, attempts)
        for entry_id, fields in await self._read():
            handled += await self._process(entry_id, fields, 1)
        return handled

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # a Redis hiccup must not end the consumer
                logger.exception("stream consumer round failed", group=self.config.group)
                self._group_ready = False  # the stream may have been deleted: create it again
                await asyncio.sleep(self.config.retry_seconds)

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._redis.xgroup_create(
                self.config.stream, self.config.group, id=self.config.start_id, mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def _read(self) -> list[tuple[str, dict[str, Any]]]:
        try:
            reply: Any = await self._redis.xreadgroup(
                self.config.group,
                self.consumer,
                {self.config.stream: ">"},
                count=self.config.batch_size,
                block=self.config.block_ms,
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                self._group_ready = False  # the stream was deleted under us: next round recreates it
                return []
            raise
        entries: list[tuple[str, dict[str, Any]]] = []
        for _stream, stream_entries in reply or []:
            entries.extend((_text(entry_id), fields) for entry_id, fields in stream_entries)
        return entries

    async def _claim(self) -> list[tuple[str, dict[str, Any], int]]:
        """Entries pending longer than ``claim_idle_ms`` (any member's), with their delivery counts."""
        reply: Any = await self._redis.xautoclaim(
            self.config.stream,
            self.config.group,
            self.consumer,
            min_idle_time=self.config.claim_idle_ms,
            start_id=self._claim_cursor,
            count=self.config.batch_size,
        )
        # The cursor walks the pending list across rounds; "0-0" means it went round once.
        self._claim_cursor = _text(reply[0])
        claimed: list[tuple[str, dict[str, Any], int]] = []
        for raw_id, fields in reply[1]:
            if fields is None:  # trimmed from the stream while pending: nothing left to deliver
                continue
            entry_id = _text(raw_id)
            pending = await self._redis.xpending_range(
                self.config.stream, self.config.group, min=entry_id, max=entry_id, count=1
            )
            attempts = int(pending[0]["times_delivered"]) if pending else 1
            claimed.append((entry_id, fields, attempts))
        self.stats.claimed += len(claimed)
        return claimed

    async def _process(self, entry_id: str, raw_fields: dict[Any, Any], attempts: int) -> int:
        """Handle one entry; 1 if the handler processed it now."""
        fields = {_text(key): value for key, value in raw_fields.items()}
        try:
            event = msgspec.json.decode(fields["event"], type=CloudEvent)
        except (KeyError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            await self._dead_letter(entry_id, fields, attempts, f"undecodable entry: {exc}", event_id=None)
            return 0
        if self.config.types and not event.type.startswith(self.config.types):
            await self._redis.xack(self.config.stream, self.config.group, entry_id)
            return 0
        key = self._dedup_key(event.id)
        # One round trip: claim the event id for this entry, or learn who holds it.
        holder = await self._redis.set(key, entry_id, nx=True, get=True, ex=self.config.dedup_retention_seconds)
        if holder is not None and _text(holder) != entry_id:
            # Handled already ("done"), or held by another entry of the same event that is pending
            # (that one is retried or dead-lettered on its own): this copy is redundant.
            self.stats.duplicates += 1
            await self._redis.xack(self.config.stream, self.config.group, entry_id)
            return 0
        if attempts > self.config.max_attempts:
            # Delivered that often without an ack or a handler error: it kills its consumers.
            error = f"delivered {attempts} times without an acknowledgement"
            await self._dead_letter(entry_id, fields, attempts, error, event_id=event.id)
            return 0
        try:
            await self._handler(event)
        except Exception as exc:
            self.stats.failed += 1
            error = f"{type(exc).__name__}: {exc}"
            if attempts >= self.config.max_attempts:
                await self._dead_letter(entry_id, fields, attempts, error, event_id=event.id)
            else:
                logger.info("event handler failed; left pending", event_id=event.id, error=error[:200])
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(key, DONE, ex=self.config.dedup_retention_seconds)
            pipe.xack(self.config.stream, self.config.group, entry_id)
            await pipe.execute()
        self.stats.handled += 1
        return 1

    async def _dead_letter(
        self, entry_id: str, fields: dict[str, Any], attempts: int, error: str, *, event_id: str | None
    ) -> None:
        """Move the entry to ``<stream>:dead`` and acknowledge it, in one transaction."""
        record: dict[Any, Any] = {
            "group": self.config.group,
            "consumer": self.consumer,
            "entry_id": entry_id,
            "attempts": attempts,
            "error": error[:500],
            **{name: fields[name] for name in ("id", "type", "event") if name in fields},
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self.dead_letter_stream, record, maxlen=self.config.dead_letter_maxlen, approximate=True)
            pipe.xack(self.config.stream, self.config.group, entry_id)
            if event_id is not None:
                # Forget the id: a replay of the event (after a fix) must reach the handler again.
                pipe.delete(self._dedup_key(event_id))
            await pipe.execute()
        self.stats.dead_lettered += 1
        logger.warning(
            "stream entry dead-lettered",
            group=self.config.group,
            entry_id=entry_id,
            event_id=event_id,
            error=error[:200],
        )

    def _dedup_key(self, event_id: str) -> str:
        return f"{self.config.stream}:seen:{self.config.group}:{event_id}"

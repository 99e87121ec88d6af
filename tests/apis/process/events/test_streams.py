"""Events across processes on a real Redis: outbox relay → stream → consumer groups."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import msgspec
import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.event_streams import StreamConsumer, StreamConsumerConfig, StreamPublisher, StreamPublisherConfig
from apis.process.event_types import EVENT_TYPES, decode_data
from apis.process.events import CloudEvent, OutboxRelay, RelayConfig, append
from core.db import create_engine
from core.migrations import create_schema
from core.redis_pool import fail_fast_redis
from tests.apis.process.events.samples import SAMPLES, sample_event

pytestmark = pytest.mark.redis

FAST_RELAY = RelayConfig(poll_seconds=0.01, max_attempts=2, backoff_base_seconds=0.001)
CLAIM_IDLE_MS = 200
DEADLINE_SECONDS = 2.0


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = fail_fast_redis(redis_url, timeout=1.0, max_connections=8)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def stream(redis: Redis) -> AsyncIterator[str]:
    """A stream name of this test only; it, its dead letters and its de-duplication keys are deleted after."""
    name = f"strata:test:events:{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{name}*")]
        if keys:
            await redis.delete(*keys)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'state.sqlite'}")
    await create_schema(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def _config(stream: str, consumer: str, **overrides: object) -> StreamConsumerConfig:
    settings: dict[str, object] = {
        "group": "crm-status",
        "stream": stream,
        "consumer": consumer,
        "block_ms": 20,
        "batch_size": 5,
        "claim_idle_ms": CLAIM_IDLE_MS,
        "max_attempts": 3,
        "dedup_retention_seconds": 60,
    }
    return StreamConsumerConfig(**(settings | overrides))  # type: ignore[arg-type]


class Recorder:
    """A handler recording the events it received; fails an event id ``fail[id]`` times first."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.received: list[CloudEvent] = []
        self.calls: dict[str, int] = {}
        self.fail = dict(fail or {})

    async def __call__(self, event: CloudEvent) -> None:
        self.calls[event.id] = self.calls.get(event.id, 0) + 1
        if self.fail.get(event.id, 0) > 0:
            self.fail[event.id] -= 1
            raise ConnectionError("CRM unreachable")
        self.received.append(event)

    @property
    def ids(self) -> list[str]:
        return [event.id for event in self.received]


async def _until(condition: Callable[[], Awaitable[bool]], *rounds: StreamConsumer) -> None:
    """Run the consumers' rounds until ``condition`` holds; fail after the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_SECONDS
    while not await condition():
        assert loop.time() < deadline, "condition not reached before the deadline"
        await asyncio.gather(*(consumer.run_once() for consumer in rounds))


def _events(count: int) -> list[CloudEvent]:
    types = sorted(EVENT_TYPES)
    return [sample_event(types[n % len(types)], n) for n in range(count)]


async def _pending(redis: Redis, stream: str, group: str = "crm-status") -> int:
    return int((await redis.xpending(stream, group))["pending"])


async def test_two_consumers_of_one_group_share_the_relayed_entries_each_handled_once(
    engine: AsyncEngine, redis: Redis, stream: str
) -> None:
    events = _events(20)
    async with engine.begin() as connection:
        for event in events:
            await append(connection, event)
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream, maxlen=1000))
    assert await OutboxRelay(engine, [publisher.subscriber()], FAST_RELAY).run_once() == 20
    assert await redis.xlen(stream) == 20
    first, second = Recorder(), Recorder()
    consumers = (
        StreamConsumer(redis, first, _config(stream, "a")),
        StreamConsumer(redis, second, _config(stream, "b")),
    )

    async def all_handled() -> bool:
        return len(first.received) + len(second.received) >= 20

    await _until(all_handled, *consumers)
    assert sorted(first.ids + second.ids) == sorted(event.id for event in events)  # each exactly once
    assert first.ids and second.ids  # both members took a share
    assert await _pending(redis, stream) == 0
    assert await consumers[0].run_once() == 0 and await consumers[1].run_once() == 0


async def test_entries_of_a_consumer_that_died_before_acking_are_taken_over(redis: Redis, stream: str) -> None:
    events = _events(3)
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream))
    entered = asyncio.Event()

    async def hangs(event: CloudEvent) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process is killed while handling

    dying = StreamConsumer(redis, hangs, _config(stream, "dying"))
    survivor_received = Recorder()
    survivor = StreamConsumer(redis, survivor_received, _config(stream, "survivor"))
    await survivor.run_once()  # creates the group, finds nothing
    for event in events:
        await publisher(event)
    doomed = asyncio.create_task(dying.run_once())
    await asyncio.wait_for(entered.wait(), DEADLINE_SECONDS)
    doomed.cancel()
    assert await _pending(redis, stream) == 3  # read by the dead consumer, never acknowledged
    assert await survivor.run_once() == 0  # not idle long enough yet: still the dead one's
    await asyncio.sleep(CLAIM_IDLE_MS / 1000 + 0.05)
    assert await survivor.run_once() == 3
    assert survivor_received.ids == [event.id for event in events]
    assert survivor.stats.claimed == 3 and await _pending(redis, stream) == 0


async def test_an_entry_that_keeps_killing_its_consumers_is_dead_lettered_unhandled(redis: Redis, stream: str) -> None:
    event = sample_event("strata.transaction.compensated")
    entered = asyncio.Event()

    async def crashes(event: CloudEvent) -> None:
        entered.set()
        await asyncio.Event().wait()  # the process dies while handling this event

    dying = StreamConsumer(redis, crashes, _config(stream, "dying", max_attempts=1, claim_idle_ms=100))
    await dying.run_once()
    await StreamPublisher(redis, StreamPublisherConfig(stream=stream))(event)
    doomed = asyncio.create_task(dying.run_once())
    await asyncio.wait_for(entered.wait(), DEADLINE_SECONDS)
    doomed.cancel()
    await asyncio.sleep(0.15)
    survivor_received = Recorder()
    survivor = StreamConsumer(redis, survivor_received, _config(stream, "survivor", max_attempts=1, claim_idle_ms=100))
    assert await survivor.run_once() == 0
    assert survivor_received.calls == {}  # not handed to a third victim
    [(_, dead)] = await redis.xrange(survivor.dead_letter_stream)
    assert dead[b"id"].decode() == event.id and dead[b"error"] == b"delivered 2 times without an acknowledgement"
    assert await _pending(redis, stream) == 0


async def test_the_same_event_added_twice_is_handled_once_per_group(redis: Redis, stream: str) -> None:
    event = sample_event("strata.contract.activated")
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream))
    crm, lake = Recorder(), Recorder()
    crm_consumer = StreamConsumer(redis, crm, _config(stream, "crm-1"))
    lake_consumer = StreamConsumer(redis, lake, _config(stream, "lake-1", group="lake"))
    await asyncio.gather(crm_consumer.run_once(), lake_consumer.run_once())
    await publisher(event)
    await publisher(event)  # the relay re-delivered it (died before moving its cursor)
    assert await redis.xlen(stream) == 2
    for _ in range(3):
        await asyncio.gather(crm_consumer.run_once(), lake_consumer.run_once())
    assert crm.ids == [event.id] and lake.ids == [event.id]
    assert crm_consumer.stats.duplicates == 1 and lake_consumer.stats.duplicates == 1
    assert await _pending(redis, stream) == 0 and await _pending(redis, stream, "lake") == 0


async def test_a_failing_handler_is_retried_then_dead_lettered(redis: Redis, stream: str) -> None:
    poisoned, flaky = _events(2)
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream))
    handler = Recorder(fail={poisoned.id: 99, flaky.id: 1})
    consumer = StreamConsumer(redis, handler, _config(stream, "c1", claim_idle_ms=100))
    await consumer.run_once()
    await publisher(poisoned)
    await publisher(flaky)

    async def dead_lettered() -> bool:
        return await redis.xlen(consumer.dead_letter_stream) > 0

    await _until(dead_lettered, consumer)
    assert handler.calls == {poisoned.id: 3, flaky.id: 2}  # max_attempts deliveries, then given up
    assert handler.ids == [flaky.id]
    [(_, dead)] = await redis.xrange(consumer.dead_letter_stream)
    assert dead[b"id"].decode() == poisoned.id and dead[b"attempts"] == b"3" and dead[b"group"] == b"crm-status"
    assert b"ConnectionError: CRM unreachable" in dead[b"error"]
    assert msgspec.json.decode(dead[b"event"], type=CloudEvent) == poisoned  # the envelope travels along
    assert await _pending(redis, stream) == 0
    # Once the cause is fixed, replaying the event reaches the handler (its id was not kept as "seen").
    handler.fail.clear()
    await publisher(poisoned)

    async def replayed() -> bool:
        return poisoned.id in handler.ids

    await _until(replayed, consumer)


async def test_an_undecodable_entry_is_dead_lettered_at_once(redis: Redis, stream: str) -> None:
    handler = Recorder()
    consumer = StreamConsumer(redis, handler, _config(stream, "c1"))
    await consumer.run_once()
    await redis.xadd(stream, {"id": "evt_broken", "event": b"{not json"})
    assert await consumer.run_once() == 0
    [(_, dead)] = await redis.xrange(consumer.dead_letter_stream)
    assert dead[b"id"] == b"evt_broken" and dead[b"error"].startswith(b"undecodable entry")
    assert handler.calls == {} and await _pending(redis, stream) == 0


async def test_round_trip_from_the_outbox_through_redis_to_a_background_consumer(
    engine: AsyncEngine, redis: Redis, stream: str
) -> None:
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream))
    relay = OutboxRelay(engine, [publisher.subscriber()], RelayConfig(poll_seconds=30))
    received = Recorder()
    consumer = StreamConsumer(redis, received, _config(stream, "crm-1", types=("strata.contract.",)))
    relay.start()
    consumer.start()
    try:
        activated = sample_event("strata.contract.activated")
        needs_attention = sample_event("strata.transaction.needs_attention")
        async with engine.begin() as connection:
            await append(connection, needs_attention)  # not a type this consumer wants
            await append(connection, activated)
        relay.notify()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_SECONDS
        while not received.received:
            assert loop.time() < deadline, "the event did not arrive before the deadline"
            await asyncio.sleep(0.01)
        assert received.received == [activated]  # the whole envelope, unchanged
        assert decode_data(activated.type, received.received[0].data) == SAMPLES[activated.type]
        assert await redis.xlen(stream) == 2
    finally:
        await consumer.stop()
        await relay.stop()


async def test_the_stream_is_trimmed_to_about_maxlen(redis: Redis, stream: str) -> None:
    publisher = StreamPublisher(redis, StreamPublisherConfig(stream=stream, maxlen=10))
    event = sample_event("strata.reconciliation.completed")
    for _ in range(300):
        await publisher(event)
    # MAXLEN ~ trims whole radix-tree nodes (100 entries by default): about, never below, maxlen.
    assert 10 <= await redis.xlen(stream) <= 200


def test_a_consumer_config_that_would_claim_entries_still_being_read_is_refused() -> None:
    with pytest.raises(ValueError, match="claim_idle_ms must exceed block_ms"):
        StreamConsumerConfig(group="crm-status", block_ms=500, claim_idle_ms=200)
    with pytest.raises(ValueError, match="block forever"):
        StreamConsumerConfig(group="crm-status", block_ms=0)

"""The event outbox on SQLite and PostgreSQL: written with the state, delivered at least once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import msgspec
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.events import (
    CloudEvent,
    OutboxRelay,
    RelayConfig,
    Subscriber,
    append,
    deterministic_event_id,
    new_event,
    outbox_size,
)
from core.db import create_engine, outbox_dead_letters
from core.migrations import create_schema

FAST = RelayConfig(poll_seconds=0.01, max_attempts=3, backoff_base_seconds=0.001, retention_seconds=0)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await create_schema(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def _event(n: int, event_type: str = "strata.invoice.posted") -> CloudEvent:
    return new_event(
        event_type,
        event_id=deterministic_event_id(f"invoice-to-ledger:in_{n}", "post_invoice", event_type),
        data={"invoice_id": f"inv_{n}"},
        subject=f"inv_{n}",
        correlation_id=f"corr-{n}",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )


async def _publish(engine: AsyncEngine, *events: CloudEvent) -> None:
    async with engine.begin() as connection:
        for event in events:
            await append(connection, event)


class Recorder:
    """A subscriber that records what it received, failing the first ``fail`` deliveries of ids
    (with ``ConnectionError``: it is out of reach) and refusing every delivery of ``refuse`` ids
    (with ``ValueError``: the event itself is what it cannot take)."""

    def __init__(self, fail: dict[str, int] | None = None, refuse: set[str] | None = None) -> None:
        self.received: list[str] = []
        self.fail = dict(fail or {})
        self.refuse = set(refuse or ())

    async def __call__(self, event: CloudEvent) -> None:
        if event.id in self.refuse:
            raise ValueError("the subscriber refuses this event")
        if self.fail.get(event.id, 0) > 0:
            self.fail[event.id] -= 1
            raise ConnectionError("subscriber unreachable")
        self.received.append(event.id)


def test_ids_are_deterministic_and_the_envelope_is_structured_cloudevents() -> None:
    first, again = _event(1), _event(1)
    assert first.id == again.id and first.id.startswith("evt_")
    assert _event(2).id != first.id
    envelope = json.loads(msgspec.json.encode(first))
    assert envelope["specversion"] == "1.0" and envelope["type"] == "strata.invoice.posted"
    assert envelope["time"].endswith("Z") and envelope["datacontenttype"] == "application/json"
    assert envelope["correlationid"] == "corr-1" and envelope["traceparent"].startswith("00-")
    assert all(key.isalnum() and key.islower() for key in envelope)
    with pytest.raises(ValueError, match=r"strata\.<object>\.<event>"):
        new_event("InvoicePosted", event_id="evt_x", data={})


async def test_an_event_exists_only_if_its_transaction_committed_and_only_once(engine: AsyncEngine) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as connection:
            await append(connection, _event(1))
            raise RuntimeError("the state change failed")
    assert await outbox_size(engine) == 0
    async with engine.begin() as connection:
        assert await append(connection, _event(1)) is True
    async with engine.begin() as connection:
        assert await append(connection, _event(1)) is False  # a re-run step writes the same event
    assert await outbox_size(engine) == 1


async def test_each_subscriber_gets_its_events_in_order_once(engine: AsyncEngine) -> None:
    await _publish(engine, _event(1), _event(2, "strata.payment.applied"), _event(3))
    ledger, everything = Recorder(), Recorder()
    relay = OutboxRelay(
        engine,
        [
            Subscriber(name="ledger", handler=ledger, types=("strata.invoice.",)),
            Subscriber(name="lake", handler=everything),
        ],
        FAST,
    )
    assert await relay.run_once() == 5  # two invoice events for the ledger, three for the lake
    assert await relay.run_once() == 0
    assert ledger.received == [_event(1).id, _event(3).id]
    assert everything.received == [_event(1).id, _event(2, "strata.payment.applied").id, _event(3).id]
    # A relay started later (a restarted process) resumes from the stored cursors.
    again = Recorder()
    assert await OutboxRelay(engine, [Subscriber(name="lake", handler=again)], FAST).run_once() == 0


async def test_a_failing_delivery_is_retried_then_dead_lettered_without_blocking_the_rest(engine: AsyncEngine) -> None:
    await _publish(engine, _event(1), _event(2), _event(3))
    flaky = Recorder(fail={_event(1).id: 2}, refuse={_event(2).id})
    relay = OutboxRelay(engine, [Subscriber(name="crm", handler=flaky)], FAST)
    assert await relay.run_once() == 2
    assert flaky.received == [_event(1).id, _event(3).id]
    async with engine.connect() as connection:
        dead = (await connection.execute(select(outbox_dead_letters))).all()
    assert [(row.subscriber, row.event_id, row.attempts) for row in dead] == [("crm", _event(2).id, 3)]
    assert "ValueError" in dead[0].error


async def test_a_subscriber_out_of_reach_holds_its_events_however_long_instead_of_dead_lettering(
    engine: AsyncEngine,
) -> None:
    """Found by the fault suite: a 3 s Redis outage dead-lettered events bound for the stream."""
    await _publish(engine, _event(1), _event(2), _event(3))
    down = Recorder(fail={_event(2).id: 7})  # more failures than one round's attempts (3), in a row
    relay = OutboxRelay(engine, [Subscriber(name="stream", handler=down)], FAST)
    assert await relay.run_once() == 1  # event 1; event 2 waits, and event 3 behind it (order kept)
    assert await relay.run_once() == 0
    assert await relay.run_once() == 2  # back: 2 then 3
    assert down.received == [_event(1).id, _event(2).id, _event(3).id]
    async with engine.connect() as connection:
        assert (await connection.execute(select(outbox_dead_letters))).all() == []


async def test_two_relays_share_a_subscriber_without_delivering_twice(engine: AsyncEngine) -> None:
    await _publish(engine, *(_event(n) for n in range(30)))
    received = Recorder()
    subscriber = Subscriber(name="lake", handler=received)
    first, second = OutboxRelay(engine, [subscriber], FAST), OutboxRelay(engine, [subscriber], FAST)
    for _ in range(5):
        await asyncio.gather(first.run_once(), second.run_once())
    assert sorted(received.received) == sorted(_event(n).id for n in range(30))


async def test_a_lease_left_by_a_dead_relay_expires(engine: AsyncEngine) -> None:
    await _publish(engine, _event(1))
    short = RelayConfig(poll_seconds=0.01, lease_seconds=0.2)
    received = Recorder()
    dead = OutboxRelay(engine, [Subscriber(name="lake", handler=received)], short)
    assert await dead._claim("lake") == 0  # claimed, then the process "died"
    survivor = OutboxRelay(engine, [Subscriber(name="lake", handler=received)], short)
    assert await survivor.run_once() == 0
    await asyncio.sleep(0.25)
    assert await survivor.run_once() == 1


async def test_purge_keeps_what_some_subscriber_has_not_received(engine: AsyncEngine) -> None:
    await _publish(engine, _event(1), _event(2))
    lake, crm = Recorder(), Recorder()
    relay = OutboxRelay(engine, [Subscriber(name="lake", handler=lake), Subscriber(name="crm", handler=crm)], FAST)
    only_lake = OutboxRelay(engine, [Subscriber(name="lake", handler=lake)], FAST)
    await only_lake.run_once()
    assert await relay.purge() == 0  # crm never ran: it has received nothing
    await relay.run_once()
    assert await relay.purge() == 2
    assert await outbox_size(engine) == 0
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT COUNT(*) FROM outbox_cursors"))).scalar_one() == 2


async def test_the_background_relay_delivers_soon_after_a_notify(engine: AsyncEngine) -> None:
    received = Recorder()
    relay = OutboxRelay(engine, [Subscriber(name="lake", handler=received)], RelayConfig(poll_seconds=30))
    relay.start()
    try:
        await asyncio.sleep(0.05)  # the first round found nothing and waits
        await _publish(engine, _event(7))
        relay.notify()
        for _ in range(1000):  # a deadline, not a timing claim: the poll alone would take 30 s
            if received.received:
                break
            await asyncio.sleep(0.01)
        assert received.received == [_event(7).id]
    finally:
        await relay.stop()

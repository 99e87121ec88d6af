"""The delivery log on a real database: which attempt workflow owns a delivery, and what an
attempt that lost it may do (nothing). The engine's queue runs the attempts; these are the rules
that keep an attempt of an earlier round from sending or recording.

The same tests on SQLite and on the PostgreSQL server.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.experience.partner_portal.webhooks.deliveries import Attempt, DeliveryQueue, backoff_seconds, new_owner
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.db import create_engine, partner_webhook_deliveries
from core.errors import Conflict
from core.migrations import create_schema
from tests.apis.experience.partner_webhooks.portal import customer_synced


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    database = create_engine(database_url)
    await create_schema(database)
    try:
        yield database
    finally:
        await database.dispose()


def _failed() -> Attempt:
    return Attempt(at=time.time(), status_code=503, error="the endpoint answered HTTP 503", duration_ms=3)


async def _queued(engine: AsyncEngine, count: int) -> tuple[DeliveryQueue, str]:
    subscriptions = SubscriptionStore(engine, SecretBox("x" * 32))
    created, _secret = await subscriptions.create(
        "partner-x", "https://hooks.example/x", ["strata.customer.synced"], None
    )
    queue = DeliveryQueue(engine)
    for _ in range(count):
        assert await queue.enqueue(created.id, "partner-x", customer_synced("001x"))
    return queue, created.id


async def test_an_event_is_queued_once_per_subscription(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 0)
    event = customer_synced("001x")
    assert await queue.enqueue(subscription_id, "partner-x", event)
    assert not await queue.enqueue(subscription_id, "partner-x", event)  # the relay delivered it twice


FINISH = {"max_attempts": 3, "backoff_base_ms": 1000, "backoff_max_ms": 60_000}


async def test_the_first_attempt_owns_a_new_delivery_and_a_failure_hands_it_to_the_next(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 0)
    event = customer_synced("001x")
    assert await queue.enqueue(subscription_id, "partner-x", event)
    first = await queue.due(subscription_id, event.id)
    assert first is not None and first.owner is not None and first.owner.startswith(f"{first.id}:")
    assert first.partner_id == "partner-x"
    claimed = await queue.begin(first.id, first.owner, lease_seconds=30)
    assert claimed is not None and claimed.event_id == event.id and claimed.attempts == 0
    finished = await queue.finish(claimed, _failed(), **FINISH)
    assert finished is not None and finished.status == "failed"
    assert finished.next_owner is not None and finished.next_owner != first.owner
    assert finished.retry_in == backoff_seconds(1, 1000, 60_000)
    assert await queue.due(subscription_id, event.id) is None  # attempted: no longer a first attempt
    assert await queue.begin(first.id, first.owner, lease_seconds=30) is None  # the old owner sends nothing
    again = await queue.begin(first.id, finished.next_owner, lease_seconds=30)
    assert again is not None and again.attempts == 1


async def test_a_redelivered_delivery_belongs_to_the_new_round_and_the_old_attempt_records_nothing(
    engine: AsyncEngine,
) -> None:
    queue, subscription_id = await _queued(engine, 1)
    [listed], _ = await queue.page("partner-x", subscription_id, limit=5, position=None, status=None)
    owned = await queue.due(subscription_id, listed.event_id)
    assert owned is not None and owned.owner is not None
    claimed = await queue.begin(owned.id, owned.owner, lease_seconds=30)
    assert claimed is not None
    with pytest.raises(Conflict):  # in flight: a redelivery waits for the attempt to end
        await queue.redeliver("partner-x", subscription_id, owned.id, new_owner(owned.id))
    async with engine.begin() as connection:  # the attempt's process died: its lease ran out
        await connection.execute(update(partner_webhook_deliveries).values(claimed_until=time.time() - 1))
    fresh = new_owner(owned.id)
    redelivered = await queue.redeliver("partner-x", subscription_id, owned.id, fresh)
    assert (redelivered.status, redelivered.attempts) == ("pending", 0)
    assert await queue.finish(claimed, _failed(), **FINISH) is None  # the old round's attempt lost it
    assert await queue.begin(owned.id, owned.owner, lease_seconds=30) is None
    assert await queue.begin(owned.id, fresh, lease_seconds=30) is not None


async def test_a_dead_delivery_has_no_next_owner(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 1)
    [listed], _ = await queue.page("partner-x", subscription_id, limit=5, position=None, status=None)
    owned = await queue.due(subscription_id, listed.event_id)
    assert owned is not None and owned.owner is not None
    owner: str | None = owned.owner
    for attempt in range(3):
        assert owner is not None
        claimed = await queue.begin(owned.id, owner, lease_seconds=30)
        assert claimed is not None and claimed.attempts == attempt
        finished = await queue.finish(claimed, _failed(), **FINISH)
        assert finished is not None
        owner = finished.next_owner
    assert finished.status == "dead" and owner is None
    delivery, log = await queue.get("partner-x", subscription_id, owned.id)
    assert (delivery.status, delivery.attempts, len(log)) == ("dead", 3, 3)


async def test_the_sweep_finds_deliveries_due_before_a_moment_and_not_in_flight(engine: AsyncEngine) -> None:
    queue, _ = await _queued(engine, 2)
    assert await queue.stranded(older_than=time.time() - 60) == []  # due just now, not before
    stranded = await queue.stranded(older_than=time.time() + 1)
    assert len(stranded) == 2 and all(s.owner for s in stranded)
    one = stranded[0]
    assert one.owner is not None
    assert await queue.begin(one.id, one.owner, lease_seconds=30) is not None  # now in flight
    assert [s.id for s in await queue.stranded(older_than=time.time() + 1)] == [stranded[1].id]
    assert not await queue.hand_over(one.id, "someone-else", new_owner(one.id))  # not theirs to give
    assert await queue.hand_over(one.id, one.owner, new_owner(one.id))


async def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, 100, 1000) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]


async def test_deleting_a_subscription_drops_its_queued_deliveries(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 2)
    owned = await queue.stranded(older_than=time.time() + 1)
    assert len(owned) == 2
    subscriptions = SubscriptionStore(engine, SecretBox("x" * 32))
    await subscriptions.delete("partner-x", subscription_id)
    assert await queue.stranded(older_than=time.time() + 1) == []
    for delivery in owned:  # their attempt workflows, still in the engine's queue, send nothing
        assert delivery.owner is not None
        assert await queue.begin(delivery.id, delivery.owner, lease_seconds=30) is None
    assert await subscriptions.signing_target(subscription_id) is None


async def test_a_relayed_duplicate_gets_the_same_first_attempt_until_it_was_attempted(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 0)
    event = customer_synced("001x")
    inserted, first = await queue.queue_first(subscription_id, "partner-x", event)
    assert inserted and first is not None and first.owner is not None
    again, same = await queue.queue_first(subscription_id, "partner-x", event)  # the relay hands it over again
    assert not again and same == first  # enqueued again under the same workflow id: nothing twice
    claimed = await queue.begin(first.id, first.owner, lease_seconds=30)
    assert claimed is not None
    await queue.finish(claimed, _failed(), **FINISH)
    assert await queue.queue_first(subscription_id, "partner-x", event) == (False, None)

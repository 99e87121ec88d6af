"""The delivery queue's claims on a real database: disjoint between workers, taken over after a lease.

The same tests on SQLite and on the PostgreSQL server (where ``FOR UPDATE SKIP LOCKED`` makes
concurrent workers skip each other's rows).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.experience.partner_portal.webhooks.deliveries import Attempt, DeliveryQueue, backoff_seconds
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.db import create_engine, partner_webhook_deliveries
from core.migrations import create_schema
from tests.apis.experience.partner_webhooks.portal import customer_synced


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database: SQLite in the test's folder, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


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


async def test_concurrent_claims_are_disjoint_and_cover_every_due_delivery(engine: AsyncEngine) -> None:
    queue, _ = await _queued(engine, 30)
    batches = await asyncio.gather(*(queue.claim(limit=8, lease_seconds=30) for _ in range(5)))
    ids = [claimed.id for batch in batches for claimed in batch]
    assert len(ids) == len(set(ids)) == 30
    assert await queue.claim(limit=8, lease_seconds=30) == []  # all held


async def test_an_event_is_queued_once_per_subscription(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 0)
    event = customer_synced("001x")
    assert await queue.enqueue(subscription_id, "partner-x", event)
    assert not await queue.enqueue(subscription_id, "partner-x", event)  # the relay delivered it twice


async def test_an_expired_claim_is_taken_over_and_the_old_holder_records_nothing(engine: AsyncEngine) -> None:
    queue, _ = await _queued(engine, 1)
    [first] = await queue.claim(limit=5, lease_seconds=30)
    async with engine.begin() as connection:  # the holder died: its lease runs out
        await connection.execute(update(partner_webhook_deliveries).values(claimed_until=time.time() - 1))
    [second] = await queue.claim(limit=5, lease_seconds=30)
    assert second.id == first.id and second.token != first.token
    finish = {"max_attempts": 3, "backoff_base_ms": 1000, "backoff_max_ms": 60_000}
    assert await queue.finish(first, _failed(), **finish) is None
    assert await queue.finish(second, _failed(), **finish) == "failed"
    assert await queue.claim(limit=5, lease_seconds=30) == []  # not due before its backoff


async def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(n, 100, 1000) for n in (1, 2, 3, 4, 5)] == [0.1, 0.2, 0.4, 0.8, 1.0]


async def test_deleting_a_subscription_drops_its_queued_deliveries(engine: AsyncEngine) -> None:
    queue, subscription_id = await _queued(engine, 2)
    subscriptions = SubscriptionStore(engine, SecretBox("x" * 32))
    await subscriptions.delete("partner-x", subscription_id)
    assert await queue.claim(limit=5, lease_seconds=30) == []
    assert await subscriptions.signing_target(subscription_id) is None

"""Executor leases on a real database (SQLite and PostgreSQL): slots, heartbeats, takeover, release.

The clock is a plain function the test moves (the leases read no other time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.executor_leases import ExecutorLease, slot_prefix
from core.db import create_engine
from core.migrations import create_schema

LEASE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest_asyncio.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await create_schema(engine)
    yield engine
    await engine.dispose()


async def claim(engine: AsyncEngine, clock: Clock, configured: str = "") -> ExecutorLease:
    return await ExecutorLease.claim(engine, configured=configured, port=8080, lease_seconds=LEASE, clock=clock)


async def test_each_process_gets_its_own_slot_and_a_released_slot_is_claimed_again(engine: AsyncEngine) -> None:
    clock = Clock()
    first, second, third = [await claim(engine, clock) for _ in range(3)]
    prefix = slot_prefix(8080)
    assert [first.executor_id, second.executor_id, third.executor_id] == [f"{prefix}:0", f"{prefix}:1", f"{prefix}:2"]
    assert len({first.holder, second.holder, third.holder}) == 3

    await second.release()  # a graceful stop: the next process to start takes slot 1 back
    again = await claim(engine, clock)
    assert again.executor_id == f"{prefix}:1"
    assert not await second.renew()  # the released lease is no longer second's


async def test_a_configured_id_is_taken_whatever_holds_it(engine: AsyncEngine) -> None:
    clock = Clock()
    old = await claim(engine, clock, configured="gw-0")
    new = await claim(engine, clock, configured="gw-0")  # a restart after a crash, lease still running
    assert new.executor_id == old.executor_id == "gw-0"
    assert await new.renew() and not await old.renew()


async def test_a_lease_without_heartbeat_expires_and_exactly_one_process_takes_it_over(engine: AsyncEngine) -> None:
    clock = Clock()
    dead, alive_a, alive_b = [await claim(engine, clock) for _ in range(3)]
    assert await alive_a.expired_executors() == []

    clock.now += LEASE / 2  # the living renew; the dead one does not
    assert await alive_a.renew() and await alive_b.renew()
    assert await alive_a.expired_executors() == []  # half a lease without heartbeat is not dead
    clock.now += LEASE / 2 + 1
    assert await alive_a.renew() and await alive_b.renew()
    assert await alive_a.expired_executors() == [dead.executor_id]
    assert await alive_b.expired_executors() == [dead.executor_id]

    wins = await asyncio.gather(alive_a.win_takeover(dead.executor_id), alive_b.win_takeover(dead.executor_id))
    assert sorted(wins) == [False, True]
    assert await alive_a.expired_executors() == []
    assert not await dead.renew()  # a process that only stalled learns it was taken over
    # its slot is free: a new process claims it
    assert (await claim(engine, clock)).executor_id == dead.executor_id


async def test_a_live_lease_is_never_taken_over(engine: AsyncEngine) -> None:
    clock = Clock()
    holder, other = await claim(engine, clock), await claim(engine, clock)
    clock.now += LEASE - 1
    assert not await other.win_takeover(holder.executor_id)
    assert await holder.renew()

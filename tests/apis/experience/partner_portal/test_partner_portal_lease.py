"""The domain lease that serialises deal registrations, on every idempotency store (SQLite, PostgreSQL, Redis)."""

from __future__ import annotations

import asyncio
import time

import pytest

from apis.experience.partner_portal import deals
from apis.experience.partner_portal.deals import LeaseUnavailable, RegistrationInProgress, domain_lock
from core.idempotency_store import Claim, IdempotencyStore, RedisIdempotencyStore


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deals, "LOCK_WAIT_SECONDS", 0.3)


async def test_one_holder_at_a_time_and_a_waiter_gives_up(store: IdempotencyStore) -> None:
    async with domain_lock(store, "fabrikam.com"):
        started = time.monotonic()
        with pytest.raises(RegistrationInProgress, match=r"fabrikam\.com"):
            async with domain_lock(store, "fabrikam.com"):
                pytest.fail("two holders of one domain")
        assert time.monotonic() - started >= 0.3
        async with domain_lock(store, "contoso.com"):  # another domain is not held up
            pass
    async with domain_lock(store, "fabrikam.com"):  # released: free again
        pass


async def test_a_waiter_gets_the_lease_once_the_holder_is_done(store: IdempotencyStore) -> None:
    order: list[str] = []
    held = asyncio.Event()

    async def hold(name: str, seconds: float) -> None:
        async with domain_lock(store, "fabrikam.com"):
            order.append(f"{name} in")
            held.set()
            await asyncio.sleep(seconds)
            order.append(f"{name} out")

    first = asyncio.create_task(hold("first", 0.1))
    await held.wait()  # the holder has the lease (on a Redis Cluster its first round trips take longer)
    await asyncio.gather(first, hold("second", 0))
    assert order == ["first in", "first out", "second in", "second out"]


async def test_the_lease_of_a_crashed_holder_runs_out(store: IdempotencyStore) -> None:
    now = time.time()
    crashed = Claim(deals.LOCK_CLIENT, "fabrikam.com", "crashed-holder", "domain-lease")
    assert (await store.claim(crashed, deals.LOCK_ROUTE, now, now + 0.15)).claim is not None  # never released
    async with domain_lock(store, "fabrikam.com"):
        assert time.time() - now >= 0.15


async def test_a_store_that_fails_refuses_the_registration() -> None:
    dead = RedisIdempotencyStore("redis://127.0.0.1:1/0", socket_timeout=0.2)
    try:
        with pytest.raises(LeaseUnavailable) as raised:
            async with domain_lock(dead, "fabrikam.com"):
                pytest.fail("registered without a lease")
        assert raised.value.status == 503 and raised.value.retry_after
    finally:
        await dead.aclose()

"""A cap on a vendor's exchanges in flight, per process or across every process sharing Redis.

A vendor that limits concurrent requests per account (NetSuite: the account's concurrency limit,
429 ``CONCURRENCY_LIMIT_EXCEEDED`` beyond it) counts the requests of every gateway process
together, so a per-process ``asyncio.Semaphore`` of N lets P processes send P×N. Two caps share
one interface, :class:`ConcurrencyCap` (``async with cap.slot(): ...``):

* :class:`ProcessCap` — an ``asyncio.Semaphore``: the cap of one process (no Redis configured).
* :class:`SharedCap` — a counting semaphore in Redis, on top of the process's own semaphore (so
  a process never has more waiters polling Redis than slots). It is a sorted set of holders, each
  scored with the moment its lease ends; one Lua script (atomic in Redis) drops the expired
  holders, then adds the caller if fewer than ``limit`` remain. Time is Redis's own clock
  (``TIME``), so hosts with skewed clocks agree. A holder that dies (SIGKILL, a lost host) never
  releases: its lease runs out and the slot frees itself. The lease must outlast the longest hold
  — one exchange under its deadline — or a slow exchange loses its slot to another process
  (:func:`concurrency_cap` sets it to the deadline plus a margin). A waiter polls (every
  ``poll_seconds``, jittered); there is no queue, so waiting is not first-come first-served.

Why our own ~20 lines of Lua over redis-py's ``register_script`` rather than a library:
redis-py ships a mutex (``Lock``), not a counting semaphore; the ``limits`` library counts
requests per window, not requests in flight; the semaphore packages on PyPI are unmaintained
(``aioredis-semaphore`` 0.1.0, 2023, on the deprecated ``aioredis``). The sorted set with lease
scores is the well-known pattern (the counting semaphore of "Redis in Action", §6.3), made one
script so taking a slot is a single atomic round trip.

When Redis fails (down, slow beyond its timeout), ``on_backend_error`` decides, as for the other
Redis-backed policies: ``allow`` (the default) goes on under the process's own semaphore — the
cap degrades to per process, and a vendor that is then over its limit answers 429, which the
connector already retries — while ``deny`` raises :class:`~core.errors.UpstreamRateLimited`
(retryable: a workflow step retries it durably, a direct call answers 503) until Redis is back.
Either way the failure is logged (at most every :data:`BACKEND_ERROR_LOG_SECONDS`) and counted in
``strata_concurrency_cap_errors_total``.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal, Protocol

import structlog
from prometheus_client import Counter
from redis.exceptions import RedisError

from core.errors import UpstreamRateLimited
from core.redis_pool import fail_fast_redis

log = structlog.get_logger(__name__)

KEY_PREFIX = "strata:concurrency"
REDIS_TIMEOUT_SECONDS = 0.5
"""Every wait on Redis (connect, reply, a free connection) is bounded by this."""
BACKEND_ERROR_LOG_SECONDS = 10.0
LEASE_MARGIN_SECONDS = 5.0
"""How much longer than the exchange deadline a slot's lease runs."""
DENY_RETRY_AFTER_SECONDS = 5.0
"""``retry_after`` of the error raised when Redis is down and ``on_backend_error`` is ``deny``."""

BackendErrorAnswer = Literal["allow", "deny"]

BACKEND_ERRORS = Counter(
    "strata_concurrency_cap_errors_total", "Shared concurrency slots that could not be taken or given back", ["cap"]
)

# KEYS[1] the holders; ARGV: token, limit, lease in ms. 1 = taken, 0 = full.
_ACQUIRE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0
"""


class ConcurrencyCap(Protocol):
    """At most ``limit`` holders at once."""

    limit: int

    def slot(self) -> Any:
        """An async context manager holding one slot while it is entered."""

    async def aclose(self) -> None:
        """Release what the cap holds (its Redis connections)."""


class ProcessCap:
    """The cap of one process: an ``asyncio.Semaphore``."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._slots = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the process's slots."""
        async with self._slots:
            yield

    async def aclose(self) -> None:
        """Nothing to release."""


class SharedCap:
    """The cap across every process using the same Redis and ``name`` (see the module docstring)."""

    def __init__(
        self,
        redis: Any,
        name: str,
        limit: int,
        *,
        lease_seconds: float,
        on_backend_error: BackendErrorAnswer = "allow",
        poll_seconds: float = 0.02,
    ) -> None:
        if limit < 1 or lease_seconds <= 0 or poll_seconds <= 0:
            raise ValueError("limit must be at least 1; lease_seconds and poll_seconds above 0")
        self.limit = limit
        self.name = name
        self.key = f"{KEY_PREFIX}:{name}"
        self.lease_ms = int(lease_seconds * 1000)
        self.on_backend_error = on_backend_error
        self.poll_seconds = poll_seconds
        self._redis = redis
        self._acquire = redis.register_script(_ACQUIRE)
        self._local = ProcessCap(limit)
        self._random = random.Random()
        self._last_error_log = 0.0

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one slot of the shared cap (and one of this process's) while entered.

        Raises:
            UpstreamRateLimited: Redis failed and ``on_backend_error`` is ``deny``.
        """
        async with self._local.slot():
            token = await self._take()
            try:
                yield
            finally:
                if token is not None:
                    await self._give_back(token)

    async def _take(self) -> str | None:
        """A slot's token once one is free; ``None`` when Redis failed and the answer is ``allow``."""
        token = secrets.token_hex(12)
        while True:
            try:
                taken = await self._acquire(keys=[self.key], args=[token, self.limit, self.lease_ms])
            except (RedisError, OSError) as error:
                self._backend_failed(error)
                if self.on_backend_error == "deny":
                    raise UpstreamRateLimited(
                        f"the shared concurrency cap {self.name!r} cannot be checked (Redis unavailable)",
                        retry_after=DENY_RETRY_AFTER_SECONDS,
                    ) from None
                return None
            if taken:
                return token
            await asyncio.sleep(self.poll_seconds * (0.5 + self._random.random()))

    async def _give_back(self, token: str) -> None:
        try:
            await self._redis.zrem(self.key, token)
        except (RedisError, OSError) as error:  # the lease frees it in time
            self._backend_failed(error)

    def _backend_failed(self, error: BaseException) -> None:
        BACKEND_ERRORS.labels(cap=self.name).inc()
        now = time.monotonic()
        if now - self._last_error_log >= BACKEND_ERROR_LOG_SECONDS:
            self._last_error_log = now
            log.warning(
                "shared concurrency cap: Redis failed",
                cap=self.name,
                on_backend_error=self.on_backend_error,
                error=type(error).__name__,
            )

    async def aclose(self) -> None:
        """Close the Redis client the cap owns."""
        await self._redis.aclose()


def concurrency_cap(
    name: str,
    limit: int,
    *,
    redis_url: str = "",
    hold_seconds: float,
    on_backend_error: BackendErrorAnswer = "allow",
) -> ConcurrencyCap:
    """The cap for ``name``: shared through Redis when ``redis_url`` is set, else per process.

    Args:
        name: what the cap counts, the same in every process (e.g. the vendor and its account).
        limit: holders at once.
        redis_url: the gateway's Redis; empty = per process.
        hold_seconds: the longest one holder keeps its slot (the exchange deadline); the lease adds
            :data:`LEASE_MARGIN_SECONDS`.
        on_backend_error: what a Redis failure means (see the module docstring).
    """
    if not redis_url:
        return ProcessCap(limit)
    redis = fail_fast_redis(redis_url, timeout=REDIS_TIMEOUT_SECONDS, max_connections=limit + 2)
    return SharedCap(
        redis,
        name,
        limit,
        lease_seconds=hold_seconds + LEASE_MARGIN_SECONDS,
        on_backend_error=on_backend_error,
    )

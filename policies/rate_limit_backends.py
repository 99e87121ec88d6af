"""Storage strategies for rate limits: in-process memory or shared Redis.

As in Kong's rate-limiting plugin, the policy talks to a :class:`RateLimitBackend` and does
not know which one it has; the backend is chosen once, from ``settings.redis_url``, by
:func:`rate_limit_backend_for`.

Semantics shared by both backends (so a deployment behaves the same on either):

* **Fixed windows aligned to the epoch** (a ``N/day`` window is a UTC day). The window
  start is part of the counter key, so a new window is a new counter.
* **Exact multi-limit admission**: one admission checks every limit of the request and
  consumes ``cost`` from all of them only if all pass. A rejected request consumes nothing.

Why not the ``limits`` library's limiters for counting (it is still used to *parse* the
limit notation, see :func:`parse_limits`):

* ``FixedWindowRateLimiter.hit`` increments even when it rejects, so rejected requests
  would consume quota; ``test`` over every limit then ``hit`` over every limit avoids that
  in one process, but it is two steps and not atomic across processes on Redis.
* Its memory storage starts a window at the first hit (not aligned like our Redis keys),
  takes a thread lock per call and runs a background expiry timer thread. Our own memory
  counters are a dict lookup per limit, atomic in the event loop because :meth:`admit` has
  no ``await`` between check and consume.

On Redis the check and the increment of all limits are **one Lua script** (``EVALSHA``,
one round trip per request; redis-py reloads the script on ``NOSCRIPT``), so admission
stays exact across any number of gateway processes. Keys are
``strata:rl:{<client>}:<limit name>:<window start>``; the braces are a hash tag that keeps
all counters of one client in one Redis Cluster slot, as a multi-key script requires.
Window starts come from the gateway's clock: hosts must be NTP-synchronised (skew only
moves where a window boundary falls for one host).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from limits import parse_many

from core.redis_pool import RedisClient, fail_fast_redis
from core.resp import PipelinedRedis

DEFAULT_REDIS_SOCKET_TIMEOUT = 0.25
"""Seconds to wait for Redis before the policy's ``on_backend_error`` decides (fail fast)."""
DEFAULT_REDIS_MAX_CONNECTIONS = 64
"""Connections per process; more concurrent admissions wait (up to the socket timeout) for one."""
DEFAULT_KEY_PREFIX = "strata:rl:"
_SWEEP_MIN_ENTRIES = 10_000
"""Memory backend: expired counters are swept once the dict grows past this (amortised)..."""
_SWEEP_INTERVAL_SECONDS = 60.0
"""... and at least this often, so idle keys do not linger."""

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class Limit:
    """One parsed limit: ``amount`` units per ``window`` seconds."""

    name: str
    """Stable, sf-string-safe name, e.g. ``5-per-second``, ``100-per-5-minute``."""
    amount: int
    window: int
    """Window length in seconds."""


class LimitState(NamedTuple):
    """One limit after an admission: what is left and when the window resets."""

    limit: Limit
    remaining: int
    reset_after: int
    """Whole seconds until the window resets (at least 1)."""
    exceeded: bool


class Admission(NamedTuple):
    """The outcome of one admission over all limits of a request."""

    allowed: bool
    states: tuple[LimitState, ...]


class RateLimitBackend(Protocol):
    """Checks all limits of one request and consumes ``cost`` from each only if all pass."""

    async def admit(self, key: str, limits: Sequence[Limit], cost: int) -> Admission:
        """Admit or reject one request of ``cost`` units for ``key`` (a client or an address)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def parse_limits(texts: Sequence[str]) -> tuple[Limit, ...]:
    """Parse limits notation (``"5/second"``, ``"100/5 minutes"``, ``"1/s;10/min"``).

    Duplicate limits collapse into one (they share a counter anyway).

    Raises:
        ValueError: a string is not in limits notation.
    """
    parsed: dict[str, Limit] = {}
    for text in texts:
        for item in parse_many(text):
            granularity = item.GRANULARITY.name
            per = granularity if item.multiples == 1 else f"{item.multiples}-{granularity}"
            name = f"{item.amount}-per-{per}"
            parsed[name] = Limit(name=name, amount=item.amount, window=int(item.get_expiry()))
    return tuple(parsed.values())


def _window_start(now: float, window: int) -> int:
    return int(now // window) * window


def _reset_after(now: float, start: int, window: int) -> int:
    return max(1, math.ceil(start + window - now))


class MemoryRateLimitBackend:
    """In-process fixed-window counters: the embedded default and the pre-auth limiter.

    Exact within one process (no ``await`` between check and consume); each process has
    its own counters, so N workers admit up to N times a limit. Use Redis to share them.
    """

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._counters: dict[tuple[str, str], tuple[int, int, int]] = {}
        """(key, limit name) -> (window start, window end, units consumed)."""
        self._sweep_at = _SWEEP_MIN_ENTRIES
        self._next_sweep = clock() + _SWEEP_INTERVAL_SECONDS

    async def admit(self, key: str, limits: Sequence[Limit], cost: int) -> Admission:
        """See :meth:`RateLimitBackend.admit`."""
        return self.admit_now(key, limits, cost)

    def admit_now(self, key: str, limits: Sequence[Limit], cost: int) -> Admission:
        """Synchronous admission (no I/O), usable where an ``await`` is not wanted."""
        now = self._clock()
        counters = self._counters
        # One pass reads every counter and decides; a second consumes only if all passed.
        slots: list[tuple[Limit, tuple[str, str], int, int]] = []
        allowed = True
        for limit in limits:
            start = int(now // limit.window) * limit.window
            slot_key = (key, limit.name)
            slot = counters.get(slot_key)
            count = slot[2] if slot is not None and slot[0] == start else 0
            if count + cost > limit.amount:
                allowed = False
            slots.append((limit, slot_key, start, count))
        states: list[LimitState] = []
        for limit, slot_key, start, count in slots:
            exceeded = count + cost > limit.amount
            if allowed:
                count += cost
                counters[slot_key] = (start, start + limit.window, count)
            states.append(
                LimitState(limit, max(0, limit.amount - count), _reset_after(now, start, limit.window), exceeded)
            )
        if len(counters) > self._sweep_at or now >= self._next_sweep:
            self._sweep(now)
        return Admission(allowed, tuple(states))

    def consume(self, key: str, limits: Sequence[Limit], cost: int) -> bool:
        """Like :meth:`admit_now` without the per-limit report: the flood guard's fast path."""
        now = self._clock()
        counters = self._counters
        starts: list[int] = []
        for limit in limits:
            start = int(now // limit.window) * limit.window
            slot = counters.get((key, limit.name))
            if (slot[2] if slot is not None and slot[0] == start else 0) + cost > limit.amount:
                return False
            starts.append(start)
        for limit, start in zip(limits, starts, strict=True):
            slot = counters.get((key, limit.name))
            count = (slot[2] if slot is not None and slot[0] == start else 0) + cost
            counters[(key, limit.name)] = (start, start + limit.window, count)
        if len(counters) > self._sweep_at or now >= self._next_sweep:
            self._sweep(now)
        return True

    def _sweep(self, now: float) -> None:
        self._counters = {slot: value for slot, value in self._counters.items() if value[1] > now}
        self._sweep_at = max(_SWEEP_MIN_ENTRIES, 2 * len(self._counters))
        self._next_sweep = now + _SWEEP_INTERVAL_SECONDS

    async def aclose(self) -> None:
        """Nothing to release."""


# KEYS[i]: counter of limit i (window start included). ARGV[1]: cost;
# ARGV[1+i]: amount of limit i; ARGV[1+n+i]: seconds the counter must live.
# Returns {allowed (1|0), count_1, ..., count_n}: counts after consumption if allowed,
# else the current counts (nothing was consumed).
_ADMIT_SCRIPT = """
local cost = tonumber(ARGV[1])
local n = #KEYS
local counts = {}
local allowed = 1
for i = 1, n do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  counts[i] = count
  if count + cost > tonumber(ARGV[1 + i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, n do
    counts[i] = redis.call('INCRBY', KEYS[i], cost)
    if counts[i] == cost then redis.call('EXPIRE', KEYS[i], ARGV[1 + n + i]) end
  end
end
table.insert(counts, 1, allowed)
return counts
"""


class _RedisPyScripts:
    """``evalsha`` over redis-py, for URLs the pipelined client does not speak (rediss://, unix://)."""

    def __init__(self, redis_url: str, socket_timeout: float, max_connections: int) -> None:
        self._redis: RedisClient = fail_fast_redis(redis_url, timeout=socket_timeout, max_connections=max_connections)
        self._scripts: dict[str, Any] = {}

    async def evalsha(self, script: str, keys: Sequence[str], args: Sequence[int | str]) -> Any:
        registered = self._scripts.get(script)
        if registered is None:
            registered = self._scripts[script] = self._redis.register_script(script)
        return await registered(keys=keys, args=args)

    async def aclose(self) -> None:
        await self._redis.aclose()


class RedisRateLimitBackend:
    """Counters shared by every gateway process, one Lua script round trip per admission.

    ``redis://`` URLs go through :class:`core.resp.PipelinedRedis` (one multiplexed
    connection, ~10x cheaper per call than redis-py's asyncio client on these machines);
    other schemes through redis-py: TLS (``rediss://``), ``unix://`` and a Redis Cluster
    (``redis+cluster://``: redis-py's cluster client routes each call to its slot's node and
    follows ``MOVED``/``ASK``, which the pipelined client does not).
    """

    def __init__(
        self,
        redis_url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        socket_timeout: float = DEFAULT_REDIS_SOCKET_TIMEOUT,
        max_connections: int = DEFAULT_REDIS_MAX_CONNECTIONS,
        clock: Clock = time.time,
    ) -> None:
        self._client: PipelinedRedis | _RedisPyScripts = (
            PipelinedRedis(redis_url, timeout=socket_timeout)
            if redis_url.startswith("redis://")
            else _RedisPyScripts(redis_url, socket_timeout, max_connections)
        )
        self._prefix = key_prefix
        self._clock = clock
        self._timeout = socket_timeout

    async def admit(self, key: str, limits: Sequence[Limit], cost: int) -> Admission:
        """See :meth:`RateLimitBackend.admit`; raises on Redis errors and timeouts."""
        now = self._clock()
        starts = [_window_start(now, limit.window) for limit in limits]
        keys = [f"{self._prefix}{{{key}}}:{limit.name}:{start}" for limit, start in zip(limits, starts, strict=True)]
        args: list[int] = [cost]
        args.extend(limit.amount for limit in limits)
        args.extend(_reset_after(now, start, limit.window) + 1 for limit, start in zip(limits, starts, strict=True))
        client = self._client
        if type(client) is PipelinedRedis and client.connected:
            # Bounded already: the client's own timer fails a call after one timeout, and a
            # script reload after one more (asyncio.timeout() here would cost ~5 µs a request).
            reply = await client.evalsha(_ADMIT_SCRIPT, keys, args)
        else:
            # Bounds the whole call, connection included, whatever the socket does.
            async with asyncio.timeout(self._timeout * 2):
                reply = await client.evalsha(_ADMIT_SCRIPT, keys, args)
        allowed = int(reply[0]) == 1
        states = tuple(
            LimitState(
                limit,
                max(0, limit.amount - int(count)),
                _reset_after(now, start, limit.window),
                int(count) + (0 if allowed else cost) > limit.amount,
            )
            for limit, start, count in zip(limits, starts, reply[1:], strict=True)
        )
        return Admission(allowed, states)

    async def aclose(self) -> None:
        """Close the connection(s)."""
        await self._client.aclose()


def rate_limit_backend_for(redis_url: str) -> RateLimitBackend:
    """The backend for a deployment: Redis when ``redis_url`` is set, else in-process memory."""
    if redis_url:
        return RedisRateLimitBackend(redis_url)
    return MemoryRateLimitBackend()

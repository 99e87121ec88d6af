"""Limits on failed client authentication (``/oauth/token``, ``/oauth/introspect``, ``/oauth/revoke``).

Who gets blocked, and why (moving windows; only failures count, so a well-behaved client is
never throttled here; a blocked request gets 429 with ``Retry-After`` before any credential
check):

* **per (client id, source address)** — :attr:`AuthFailureLimits.per_client_and_source`
  failures against one client id from one address block that pair. Guessing a client's
  secret from one address stops there, while the client itself, calling from its own
  address, is not affected: a stranger who knows a client id (it is in every token) cannot
  lock its owner out.
* **per source address** — :attr:`AuthFailureLimits.per_source` failures from one address
  across all client ids block that address: spraying many client ids from one address
  would otherwise get the per-pair allowance once per id. It is higher than the pair
  limit, and it only ever blocks the address that failed (and whoever shares it: behind a
  proxy, configure ``trusted_proxies`` so the source is the real client).
* **per client id** — counted from every address, never blocking: reaching
  :attr:`AuthFailureLimits.per_client_signal` is a *signal* (a client under attack), which
  the caller logs, meters and audits (at most once per :data:`SIGNAL_REPEAT` per client id).

Counters live in Redis when the gateway has ``redis_url`` (the ``limits`` library's async
Redis storage over redis-py), so the limits hold across every process; otherwise in
process memory. If Redis fails, :attr:`AuthFailureLimits.on_backend_error` decides:
``allow`` (the default) counts nothing and lets the credential check decide — secrets are
256-bit random values and assertions are signed, so the limiter is a second line, and an
outage of it must not lock every client out of its tokens — while ``deny`` answers 429
until Redis is back. Either way the failure is logged (at most every
:data:`BACKEND_ERROR_LOG_SECONDS`) and counted in ``strata_oauth_failure_limiter_errors_total``.
Checking then counting is not atomic across processes: concurrent failures can overshoot a
limit by the number of requests in flight at that moment.
"""

from __future__ import annotations

import base64
import math
import time
import urllib.parse
from typing import Literal

import msgspec
import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisClusterStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

from core.redis_pool import is_cluster_url

log = structlog.get_logger(__name__)

KEY_PREFIX = "strata:oauth-failures"
REDIS_TIMEOUT_SECONDS = 0.25
"""Every wait on Redis (connect, reply, a free connection) is bounded by this."""
REDIS_MAX_CONNECTIONS = 16
BACKEND_ERROR_LOG_SECONDS = 10.0
SIGNAL_REPEAT = "1/minute"
"""The alarm for one client id is raised at most this often while its failures go on."""
DENY_RETRY_AFTER_SECONDS = 5
"""``Retry-After`` when Redis is down and ``on_backend_error`` is ``deny``."""

BACKEND_ERRORS = Counter(
    "strata_oauth_failure_limiter_errors_total", "Failed-authentication counters that could not be read or written"
)


class AuthFailureLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """How failed client authentications are limited (``limits`` notation, e.g. ``10/minute``)."""

    per_client_and_source: str = "10/minute"
    """Failures one address may make against one client id before that pair must wait."""
    per_source: str = "50/minute"
    """Failures one address may make across all client ids before it must wait (spraying)."""
    per_client_signal: str = "10/minute"
    """Failures against one client id from any address that raise the alarm; never blocks."""
    on_backend_error: Literal["allow", "deny"] = "allow"
    """When Redis fails: ``allow`` counts nothing (the credential check still decides); ``deny`` answers 429."""

    def __post_init__(self) -> None:
        for field in ("per_client_and_source", "per_source", "per_client_signal"):
            try:
                parse(getattr(self, field))
            except ValueError:
                raise ValueError(f"{field}: {getattr(self, field)!r} is not a limit like '10/minute'") from None


def _redis_storage(redis_url: str) -> RedisStorage:
    """Async Redis storage for ``limits`` over redis-py, failing fast (no retries, short timeouts)."""
    from redis.asyncio import BlockingConnectionPool
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    if is_cluster_url(redis_url):
        # limits builds redis-py's cluster client itself, from its own scheme and these options.
        parts = urllib.parse.urlsplit(redis_url)
        options: dict[str, float | str | bool] = dict(urllib.parse.parse_qsl(parts.query))
        options |= {"socket_timeout": REDIS_TIMEOUT_SECONDS, "socket_connect_timeout": REDIS_TIMEOUT_SECONDS}
        options |= {"max_connections": REDIS_MAX_CONNECTIONS}
        if parts.scheme == "rediss+cluster":
            options["ssl"] = True
        location = parts._replace(scheme="async+redis+cluster", query="").geturl()
        return RedisClusterStorage(location, implementation="redispy", key_prefix=KEY_PREFIX, **options)  # type: ignore[arg-type]  # options are the client's, not wrap_exceptions
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),
    )
    scheme = "async+redis+" if redis_url.startswith("unix://") else "async+"
    return RedisStorage(
        scheme + redis_url,
        implementation="redispy",
        key_prefix=KEY_PREFIX,
        connection_pool=pool,  # type: ignore[arg-type]  # handed to redis.asyncio.Redis as is
    )


def _client_key(client_id: str) -> str:
    """A client id as one key segment: ``limits`` joins segments with ``/``, which an id may contain."""
    return base64.urlsafe_b64encode(client_id[:64].encode()).decode()


class AuthFailureLimiter:
    """Counts authentication failures; says when a (client id, source) pair or a source must wait."""

    def __init__(self, limits: AuthFailureLimits | None = None, *, redis_url: str | None = None) -> None:
        self.limits = limits or AuthFailureLimits()
        self._pair: RateLimitItem = parse(self.limits.per_client_and_source)
        self._source: RateLimitItem = parse(self.limits.per_source)
        self._signal: RateLimitItem = parse(self.limits.per_client_signal)
        self._signal_repeat: RateLimitItem = parse(SIGNAL_REPEAT)
        self._storage: Storage = _redis_storage(redis_url) if redis_url else MemoryStorage()
        self._limiter = MovingWindowRateLimiter(self._storage)
        self._logged_error_at = -math.inf

    @property
    def shared(self) -> bool:
        """Whether the counters are shared by every process (Redis)."""
        return isinstance(self._storage, RedisStorage)

    async def retry_after(self, client_id: str | None, source: str) -> int | None:
        """Seconds to wait if the (client id, source) pair or the source has used up its failures, else None."""
        try:
            waits = []
            for item, key in self._blocking_keys(client_id, source):
                if not await self._limiter.test(item, *key):
                    reset = (await self._limiter.get_window_stats(item, *key)).reset_time
                    waits.append(max(1, math.ceil(reset - time.time())))
        except Exception as exc:
            self._backend_failed(exc)
            return DENY_RETRY_AFTER_SECONDS if self.limits.on_backend_error == "deny" else None
        return max(waits) if waits else None

    async def record_failure(self, client_id: str | None, source: str) -> bool:
        """Count one failed authentication; True when it makes the client id reach the signal threshold."""
        try:
            for item, key in self._blocking_keys(client_id, source):
                await self._limiter.hit(item, *key)
            if not client_id:
                return False
            signal_key = ("client", _client_key(client_id))
            # The hit that uses the last unit of the window is the crossing; while the failures go
            # on, old ones leave the window and new ones cross again: raise it once per SIGNAL_REPEAT.
            counted = await self._limiter.hit(self._signal, *signal_key)
            if not counted or await self._limiter.test(self._signal, *signal_key):
                return False
            return await self._limiter.hit(self._signal_repeat, "signal-raised", *signal_key[1:])
        except Exception as exc:
            self._backend_failed(exc)
            return False

    async def aclose(self) -> None:
        """Close the Redis connections (nothing to do in memory)."""
        if isinstance(self._storage, RedisStorage):
            await self._storage.bridge.storage.aclose()  # type: ignore[attr-defined]

    def _blocking_keys(self, client_id: str | None, source: str) -> list[tuple[RateLimitItem, tuple[str, ...]]]:
        keys: list[tuple[RateLimitItem, tuple[str, ...]]] = [(self._source, ("source", source))]
        if client_id:
            keys.append((self._pair, ("client-source", _client_key(client_id), source)))
        return keys

    def _backend_failed(self, exc: Exception) -> None:
        BACKEND_ERRORS.inc()
        now = time.monotonic()
        if now - self._logged_error_at >= BACKEND_ERROR_LOG_SECONDS:
            self._logged_error_at = now
            log.warning(
                "failed-authentication counters unavailable",
                error=str(exc)[:200],
                on_backend_error=self.limits.on_backend_error,
            )

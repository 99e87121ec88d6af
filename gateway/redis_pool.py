"""redis-py clients that fail fast, for policies whose backend errors have a configured answer.

A limiter or idempotency store that waits seconds for Redis would turn a Redis hiccup into
a gateway outage; with ``on_backend_error`` deciding what a failure means, the client
should fail within its timeout and never retry on its own.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff


def fail_fast_redis(redis_url: str, *, timeout: float, max_connections: int) -> Redis:
    """A client whose every wait (free connection, connect, reply) is bounded by ``timeout``."""
    pool = BlockingConnectionPool.from_url(
        redis_url,
        max_connections=max_connections,
        timeout=timeout,  # waiting for a free connection counts as a failure too
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        # A retry would double the wait, while on_backend_error already has the answer.
        retry=Retry(NoBackoff(), 0),
    )
    return Redis.from_pool(pool)

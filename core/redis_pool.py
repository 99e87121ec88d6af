"""redis-py clients that fail fast, for policies whose backend errors have a configured answer.

A limiter or idempotency store that waits seconds for Redis would turn a Redis hiccup into
a gateway outage; with ``on_backend_error`` deciding what a failure means, the client
should fail within its timeout and never retry on its own.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = structlog.get_logger(__name__)


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


async def listen_forever(
    redis: Any,
    channel: str,
    on_message: Callable[[Any], Awaitable[None] | None],
    subscribed: asyncio.Event,
    *,
    on_subscribed: Callable[[], Awaitable[None]] | None = None,
    retry_seconds: float = 1.0,
    name: str = "listener",
) -> None:
    """Deliver every message of a pub/sub ``channel`` to ``on_message`` until cancelled.

    ``subscribed`` is set while the subscription is live (a publish before it would be
    missed); ``on_subscribed`` runs after each (re)subscription, to catch up on what was
    published while disconnected. Whatever Redis does, the loop reconnects after
    ``retry_seconds``.
    """
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(channel)
                subscribed.set()
                if on_subscribed is not None:
                    await on_subscribed()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        handled = on_message(message.get("data"))
                        if inspect.isawaitable(handled):
                            await handled
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # keep listening whatever Redis does
            subscribed.clear()
            log.warning(f"{name} lost Redis; retrying", error=str(exc))
            await asyncio.sleep(retry_seconds)

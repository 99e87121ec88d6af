"""redis-py clients for every Redis user of the gateway: one server, TLS, or a Redis Cluster.

The Redis URL says which: ``redis://`` (TCP), ``rediss://`` (TLS; ``?ssl_ca_certs=/path`` names a
private CA, the certificate and host name are verified), ``unix://``, and for a Redis Cluster
``redis+cluster://`` / ``rediss+cluster://`` naming any one node (the scheme the ``limits``
library uses for the same thing): the client learns the slot map from it and follows ``MOVED``
and ``ASK`` redirections. Every key a multi-key script or command touches carries a hash tag
(``{…}``), so it lands in one slot.

A limiter or idempotency store that waits seconds for Redis would turn a Redis hiccup into
a gateway outage; with ``on_backend_error`` deciding what a failure means, the client
should fail within its timeout and never retry on its own (a cluster client still follows
redirections: they are not failures).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

log = structlog.get_logger(__name__)


CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
CLUSTER_MIN_CONNECTIONS_PER_NODE = 512
"""redis-py's asyncio cluster client refuses a command (``MaxConnectionsError``) when a node's pool
is full instead of waiting like the single-server ``BlockingConnectionPool``: its pools are
sized for the gateway's concurrency, not for a wait (connections open lazily, as needed)."""


class InitializedRedisCluster(RedisCluster):
    """redis-py's cluster client, initialised (slot map, command table) before its first command.

    Initialised lazily, concurrent first commands race the initialisation (redis-py 8.1.0: of 20
    concurrent first calls most failed with ``ConnectionError`` or ``AttributeError``, seen in
    ``tests/integration/test_redis_tls_and_cluster.py``); :meth:`initialize` holds a lock, so every
    caller waits for the one that initialises.
    """

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        if self._initialize:
            await self.initialize()
        return await super().execute_command(*args, **kwargs)


RedisClient = Redis | RedisCluster
"""What the factories give: the commands the gateway uses are common to both."""


def is_cluster_url(redis_url: str) -> bool:
    """Whether the URL names a Redis Cluster (``redis+cluster://``, ``rediss+cluster://``)."""
    return redis_url.startswith(CLUSTER_SCHEMES)


def redis_py_url(redis_url: str) -> str:
    """The URL as redis-py reads it (the ``+cluster`` marker removed)."""
    return redis_url.replace("+cluster://", "://", 1) if is_cluster_url(redis_url) else redis_url


def redis_client(redis_url: str, **options: Any) -> RedisClient:
    """A client for ``redis_url`` (cluster-aware) with redis-py's defaults and ``options``."""
    if is_cluster_url(redis_url):
        return InitializedRedisCluster.from_url(redis_py_url(redis_url), **options)
    return Redis.from_url(redis_url, **options)


def fail_fast_redis(redis_url: str, *, timeout: float, max_connections: int) -> RedisClient:
    """A client whose every wait (free connection, connect, reply) is bounded by ``timeout``."""
    if is_cluster_url(redis_url):
        # One pool per node, each bounded; redirections are followed, failures not retried: a retry
        # of a script whose reply was lost would count twice. (When a slot moves, redis-py may re-read
        # the slot map and close connections under commands still in flight: those fail once, and
        # on_backend_error answers them, as for any other Redis failure.)
        return InitializedRedisCluster.from_url(
            redis_py_url(redis_url),
            max_connections=max(max_connections, CLUSTER_MIN_CONNECTIONS_PER_NODE),
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )
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
            if isinstance(redis, RedisCluster):  # its pub/sub routes by the slot map: learn it first
                await redis.initialize()
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

"""Delivering the outbox: business events to the data platform, across processes via Redis.

A background job of every process with the engine (:func:`deliver_events`):

* without Redis, the process's :class:`~apis.process.events.OutboxRelay` delivers the outbox
  straight to the subscribers (with several processes on PostgreSQL, a subscriber's cursor
  lease makes them take turns);
* with Redis, the relay's one subscriber publishes every event to the Redis stream
  (``event_stream``) and each consuming application reads it as a consumer group
  (:class:`~apis.process.event_streams.StreamConsumer`): any process may take over another's
  pending entries, and each event id is handled once per group.

Subscribers today: the **data platform** (each event landed as a one-event batch through the
data system API, whose batch id — the event id — makes a redelivery overwrite, not duplicate),
and those the composition root handed to the runtime (:attr:`ProcessRuntime.event_subscribers
<apis.process.runtime.ProcessRuntime.event_subscribers>`: the experience APIs', i.e. the
partner webhooks' fan-out). Each subscriber is a consumer group of its own with Redis.
Delivered events are purged from the outbox after ``outbox_retention_hours``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING

import structlog

from apis.canonical import BusinessEvent, EventBatch
from apis.process.events import CloudEvent, Handler, OutboxRelay, RelayConfig, Subscriber

if TYPE_CHECKING:
    from apis.process.event_streams import StreamConsumer
    from apis.process.runtime import ProcessRuntime

logger = structlog.get_logger("strata.events")
PURGE_INTERVAL_SECONDS = 300.0


def data_platform_sink(process: ProcessRuntime) -> Handler:
    """Lands one business event in the data platform (raising = not delivered, retried)."""

    async def deliver(event: CloudEvent) -> None:
        when = dt.datetime.fromisoformat(event.time.replace("Z", "+00:00")) if event.time else dt.datetime.now(dt.UTC)
        landed = BusinessEvent(
            id=event.id,
            type=event.type,
            source=event.source,
            time=when,
            subject=event.subject,
            correlation_id=event.correlationid,
            data=dict(event.data),
        )
        await process.data.ingest_events(event.id, EventBatch(events=[landed]))

    return deliver


async def deliver_events(process: ProcessRuntime) -> None:
    """Background job: relay the outbox (and consume the stream, with Redis) until cancelled."""
    settings = process.settings
    config = RelayConfig(retention_seconds=settings.outbox_retention_hours * 3600.0)
    subscribers = [Subscriber(name="data-platform", handler=data_platform_sink(process))]
    subscribers += process.event_subscribers(process)
    consumers: list[StreamConsumer] = []
    redis = None
    if settings.redis_url:
        from apis.process.event_streams import (
            StreamConsumer,
            StreamConsumerConfig,
            StreamPublisher,
            StreamPublisherConfig,
        )
        from core.redis_pool import fail_fast_redis

        # The socket timeout must outlast a blocking read, or every idle read times out.
        redis = fail_fast_redis(settings.redis_url, timeout=2.0, max_connections=8)
        publisher = StreamPublisher(redis, StreamPublisherConfig(stream=settings.event_stream))
        relay = OutboxRelay(process.database, [publisher.subscriber("redis-stream")], config)
        consumers = [
            StreamConsumer(
                redis,
                subscriber.handler,
                StreamConsumerConfig(
                    group=subscriber.name,
                    stream=settings.event_stream,
                    consumer=process.engine.executor_id,
                    types=subscriber.types,
                ),
            )
            for subscriber in subscribers
        ]
    else:
        relay = OutboxRelay(process.database, subscribers, config)
    relay.start()
    for consumer in consumers:
        consumer.start()
    process.relay = relay
    try:
        while True:
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)
            try:
                purged = await relay.purge()
            except Exception:  # the database is away: try again next time
                logger.exception("outbox purge failed")
            else:
                if purged:
                    logger.info("outbox purged", events=purged)
    finally:
        for consumer in consumers:
            await consumer.stop()
        await relay.stop()
        if redis is not None:
            await redis.aclose()

"""With Redis, the partner webhooks' fan-out is a consumer group of the event stream of its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.apis.experience.partner_webhooks.portal import FAST_WEBHOOK_SETTINGS, customer_synced, make_hooks
from tests.apis.experience.partner_webhooks.receiver import Receiver, verify
from tests.support.harness import running_gateway

pytestmark = pytest.mark.redis


async def test_with_redis_events_cross_the_stream_to_the_partners_endpoint(tmp_path: Path, redis_url: str) -> None:
    stream = f"strata:test-webhooks:{tmp_path.name}"
    settings = {
        "workflows_enabled": True,
        "reconciliation_schedule_hour": -1,
        "redis_url": redis_url,
        "event_stream": stream,
        **FAST_WEBHOOK_SETTINGS,
    }
    receiver = Receiver().start()
    client = Redis.from_url(redis_url)
    try:
        async with running_gateway(tmp_path / "gw", **settings) as gw:
            hooks = await make_hooks(gw)
            created = await hooks.subscribe(hooks.a, receiver.url)
            event = customer_synced(hooks.a.account_id)
            await hooks.happen(event)
            [request] = await receiver.wait_for(event.id)
            verify(created["secret"], request.headers, request.body)
            groups = {g["name"].decode() for g in await client.xinfo_groups(stream)}
            assert {"data-platform", "partner-webhooks"} <= groups
    finally:
        receiver.close()
        keys = [key async for key in client.scan_iter(f"{stream}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()

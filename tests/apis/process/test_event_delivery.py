"""Business events reach the data platform: straight from the outbox, or across Redis Streams."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, Process, _process, deal
from tests.support.harness import running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")


KNOWN = ("strata.contract.activated", "strata.transaction.needs_attention")


def _types_in(lake: Path) -> set[str]:
    found: set[str] = set()
    for path in lake.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            found.update(t for t in KNOWN if t in text)
    return found


def _objects_with(lake: Path, text: str) -> list[Path]:
    return [p for p in lake.rglob("*") if p.is_file() and text in p.read_text(errors="ignore")]


async def landed_event_types(lake: Path, within: float = 15.0, *, wanted: str) -> set[str]:
    """The event types of every business event landed in the local lake, once ``wanted`` is among them."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await asyncio.to_thread(_types_in, lake)
        if wanted in found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.1)


async def _complete_one(process: Process) -> dict[str, object]:
    [made] = await process.deals(deal("Event Delivery Corp"))
    done = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    assert done["state"] == "completed", done
    return done


async def test_a_completed_order_lands_its_contract_activated_event_in_the_data_platform(process: Process) -> None:
    done = await _complete_one(process)
    [event] = done["events"]
    lake = Path(process.gw.app.state.settings.state_dir) / "lake"
    assert "strata.contract.activated" in await landed_event_types(lake, wanted="strata.contract.activated")
    landed = await asyncio.to_thread(_objects_with, lake, event["id"])
    assert len(landed) == 1, landed  # one object per event: a redelivery overwrites it


async def test_with_redis_the_events_cross_a_stream_to_the_data_platform(tmp_path: Path, any_redis_url: str) -> None:
    """On each kind of Redis deployment (one server, TLS, a Cluster)."""
    redis_url = any_redis_url
    stream = f"strata:test-events:{tmp_path.name}"
    settings = {**FAST_PROCESS_SETTINGS, "redis_url": redis_url, "event_stream": stream}
    async with running_gateway(tmp_path / "gw", **settings) as gw:
        process = await _process(gw)
        await _complete_one(process)
        lake = Path(gw.app.state.settings.state_dir) / "lake"
        assert "strata.contract.activated" in await landed_event_types(lake, wanted="strata.contract.activated")
        from core.redis_pool import redis_client

        client = redis_client(redis_url)
        try:
            assert await client.xlen(stream) >= 1
            groups = {g["name"].decode() for g in await client.xinfo_groups(stream)}
            assert "data-platform" in groups
        finally:
            keys = [key async for key in client.scan_iter(f"{stream}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

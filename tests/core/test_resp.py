"""The pipelined RESP client, against the real Redis."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis

from core.resp import PipelinedRedis, RedisReplyError, RedisUnavailable, encode_command


def test_commands_are_resp_arrays_of_bulk_strings() -> None:
    assert encode_command("SET", "k", 12) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n12\r\n"


async def test_concurrent_calls_share_one_connection_and_get_their_own_replies(redis_url: str) -> None:
    client = PipelinedRedis(redis_url)
    name = f"strata-resp-{uuid.uuid4().hex[:8]}"
    await client.call("CLIENT", "SETNAME", name)
    key = f"strata:test:resp:{uuid.uuid4().hex}"
    replies = await asyncio.gather(*(client.call("INCR", key) for _ in range(200)))
    assert sorted(replies) == list(range(1, 201))
    checker = Redis.from_url(redis_url)
    connections = [entry for entry in await checker.client_list() if entry.get("name") == name]
    await checker.delete(key)
    await checker.aclose()
    await client.aclose()
    assert len(connections) == 1


async def test_error_replies_raise_and_the_connection_stays_usable(redis_url: str) -> None:
    client = PipelinedRedis(redis_url)
    with pytest.raises(RedisReplyError, match="ERR"):
        await client.call("NOSUCHCOMMAND")
    assert await client.call("PING") == b"PONG"
    await client.aclose()


async def test_scripts_load_themselves_after_a_flush(redis_url: str) -> None:
    client = PipelinedRedis(redis_url)
    script = f"return {{'{uuid.uuid4().hex}', ARGV[1]}}"
    checker = Redis.from_url(redis_url)
    await checker.script_flush()
    reply = await client.evalsha(script, [], [7])
    assert reply[1] == b"7"
    await checker.aclose()
    await client.aclose()


async def test_a_killed_connection_fails_pending_calls_and_reconnects(redis_url: str) -> None:
    client = PipelinedRedis(redis_url, timeout=2.0)
    await client.call("CLIENT", "SETNAME", "strata-resp-test")
    blocked = asyncio.create_task(client.call("BLPOP", f"strata:test:never:{uuid.uuid4().hex}", 1))
    await asyncio.sleep(0.05)
    checker = Redis.from_url(redis_url)
    for entry in await checker.client_list():
        if entry.get("name") == "strata-resp-test":
            await checker.client_kill_filter(_id=entry["id"])
    with pytest.raises(RedisUnavailable):
        await blocked
    assert await client.call("PING") == b"PONG"  # a new connection
    await checker.aclose()
    await client.aclose()


async def test_a_late_reply_does_not_shift_the_next_ones(redis_url: str) -> None:
    client = PipelinedRedis(redis_url, timeout=0.1)
    with pytest.raises(RedisUnavailable, match="no reply"):
        await client.call("BLPOP", f"strata:test:never:{uuid.uuid4().hex}", 1)  # answers after ~1 s
    client.timeout = 3.0
    assert await client.call("ECHO", "mine") == b"mine"  # not the BLPOP's nil
    await client.aclose()


async def test_an_unreachable_server_is_unavailable() -> None:
    client = PipelinedRedis("redis://127.0.0.1:1/0")
    with pytest.raises(RedisUnavailable, match="cannot connect"):
        await client.call("PING")

"""The S3 connector's failure mapping, against real HTTP: moto, a closed port, and a throttling S3 stand-in."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from apis.system.data.connectors.s3 import S3Config
from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitOpen
from core.errors import UpstreamContractViolation, UpstreamRateLimited, UpstreamTimeout, UpstreamUnavailable
from tests.apis.system.data.conftest import FAST_S3, Script, s3_client, s3_connector


async def test_slow_down_is_retried_with_the_same_key_then_succeeds(stand_in: tuple[str, Script]) -> None:
    url, script = stand_in
    script.answers = ["slowdown", "slowdown"]
    connector = s3_connector(url)
    try:
        await connector.put("events/type=a/date=2026-01-01/part-b.jsonl", b"{}\n")
    finally:
        await connector.aclose()
    assert script.puts == ["/strata-lake-test/lake/events/type%3Da/date%3D2026-01-01/part-b.jsonl"] * 3


async def test_persistent_slow_down_is_upstream_rate_limited(stand_in: tuple[str, Script]) -> None:
    url, script = stand_in
    script.answers = ["slowdown"] * 10
    connector = s3_connector(url)
    try:
        with pytest.raises(UpstreamRateLimited) as raised:
            await connector.put("k", b"x")
    finally:
        await connector.aclose()
    assert raised.value.vendor_code == "SlowDown" and len(script.puts) == FAST_S3.max_retries + 1


async def test_a_stalled_put_is_a_timeout_within_the_deadline(stand_in: tuple[str, Script]) -> None:
    url, script = stand_in
    script.answers = ["stall"]
    config = S3Config(timeout_seconds=0.3, connect_timeout_seconds=0.3, max_retries=0)
    connector = s3_connector(url, config=config)
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await connector.put("k", b"x")
    assert time.monotonic() - started < 1.0
    await connector.aclose()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_s3_is_unavailable_and_opens_the_breaker() -> None:
    breaker = CircuitBreaker("data-platform-test")
    connector = s3_connector(f"http://127.0.0.1:{_closed_port()}", config=S3Config(max_retries=0))
    connector.breaker = breaker
    try:
        for _ in range(20):
            with pytest.raises(UpstreamUnavailable):
                await connector.put("k", b"x")
            if breaker.state == "open":
                break
        assert breaker.state == "open"
        with pytest.raises(CircuitOpen):
            await connector.put("k", b"x")
    finally:
        await connector.aclose()


async def test_a_missing_bucket_is_a_set_up_error_not_a_retry(moto_url: str) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(f"{moto_url}/moto-api/reset")).raise_for_status()
    connector = s3_connector(moto_url)
    try:
        with pytest.raises(UpstreamContractViolation) as raised:
            await connector.put("k", b"x")
    finally:
        await connector.aclose()
    assert raised.value.vendor_code == "NoSuchBucket"
    assert "Buckets" in s3_client(moto_url).list_buckets()

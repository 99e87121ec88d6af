"""Rate-limit policy on the memory and Redis backends: exactness, cost, headers, modes."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from prometheus_client import REGISTRY

from policies.context import Principal, RequestContext
from policies.governance import ClientOverride, Governance, RateLimitConfig, TierConfig
from policies.rate_limit import QUOTA_EXCEEDED, RateLimitPolicy
from policies.rate_limit_backends import (
    MemoryRateLimitBackend,
    RateLimitBackend,
    RedisRateLimitBackend,
    parse_limits,
    rate_limit_backend_for,
)
from policies.routes import ApiVersion, CompiledRoute

# Frozen a little after a whole minute, so a test never straddles a window by accident.
T0 = datetime(2030, 1, 7, 12, 0, 0, 100_000, tzinfo=UTC)

API = ApiVersion(layer="system", name="crm", version=1, base_path="/system/crm/v1")


def route(cost: int = 1) -> CompiledRoute:
    return CompiledRoute(
        api=API,
        operation_id="createAccount",
        method="POST",
        path_template="/system/crm/v1/accounts",
        security=(frozenset({"system:crm:write"}),),
        rate_cost=cost,
    )


def principal(client_id: str = "acme", tier: str | None = "bronze") -> Principal:
    return Principal(
        subject=client_id, client_id=client_id, issuer="https://strata.test", oauth_scopes=frozenset(), tier=tier
    )


def ctx(who: Principal | None, cost: int = 1) -> RequestContext:
    return RequestContext(
        method="POST",
        path="/system/crm/v1/accounts",
        headers={},
        query_string=b"",
        path_params={},
        source="192.0.2.1",
        route=route(cost),
        principal=who,
    )


def governance(**rate_limit: str) -> Governance:
    return Governance(
        tiers={
            "bronze": TierConfig(limits=("5/second",)),
            "multi": TierConfig(limits=("2/second", "3/minute")),
            "wide": TierConfig(limits=("5/second", "2000/day")),
        },
        clients={"vip": ClientOverride(limits=("2/second",))},
        rate_limit=RateLimitConfig(**rate_limit),  # type: ignore[arg-type]
    )


@pytest.fixture(params=["memory", "redis", "redis-tls", "redis-cluster"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[RateLimitBackend]:
    """Each backend for real: memory, the shared Redis, a private Redis over TLS, a private Redis Cluster."""
    if request.param == "memory":
        yield MemoryRateLimitBackend()
        return
    url = request.getfixturevalue(f"{request.param.replace('-', '_')}_url")
    # TLS handshakes and cluster set-up get time on a loaded test machine; the shared server keeps the default.
    timeout = {} if request.param == "redis" else {"socket_timeout": 2.0}
    redis_backend = RedisRateLimitBackend(url, key_prefix=f"strata:rl:test:{uuid.uuid4().hex}:", **timeout)
    yield redis_backend
    await redis_backend.aclose()


async def admitted(policy: RateLimitPolicy, who: Principal, count: int, cost: int = 1) -> int:
    accepted = 0
    for _ in range(count):
        if await policy.on_request(ctx(who, cost)) is None:
            accepted += 1
    return accepted


async def test_five_per_second_admits_exactly_five_of_seven(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False):
        assert await admitted(policy, principal(), 7) == 5


async def test_rejected_requests_consume_no_quota_of_other_limits(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    who = principal(tier="multi")  # 2/second and 3/minute
    with time_machine.travel(T0, tick=False) as clock:
        assert await admitted(policy, who, 12) == 2  # ten rejections by 2/second
        clock.shift(1)
        # The minute counter is at 2, not 12: exactly one more fits.
        assert await admitted(policy, who, 5) == 1
        clock.shift(1)
        denial = await policy.on_request(ctx(who))
        assert denial is not None
        assert denial.extensions["violated-policies"] == ["3-per-minute"]
        clock.shift(60)
        assert await admitted(policy, who, 3) == 2


async def test_window_rolls_over(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False) as clock:
        assert await admitted(policy, principal(), 6) == 5
        clock.shift(0.5)
        assert await admitted(policy, principal(), 1) == 0
        clock.shift(0.5)
        assert await admitted(policy, principal(), 6) == 5


async def test_route_cost_is_charged(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False):
        assert await admitted(policy, principal(), 3, cost=2) == 2  # 4 of 5 units used
        assert await admitted(policy, principal(), 1, cost=1) == 1  # the last unit still fits


async def test_clients_are_counted_apart_and_overrides_replace_the_tier(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False):
        assert await admitted(policy, principal("vip"), 5) == 2
        assert await admitted(policy, principal("acme"), 7) == 5
        assert await admitted(policy, principal("globex"), 7) == 5
        # No tier in the token: the default tier (bronze) applies.
        assert await admitted(policy, principal("initech", tier=None), 7) == 5


async def test_headers_follow_the_ratelimit_headers_draft(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False):
        first = ctx(principal(tier="wide"))
        assert await policy.on_request(first) is None
    headers = dict(first.response_headers)
    assert headers["RateLimit-Policy"] == '"5-per-second";q=5;w=1, "2000-per-day";q=2000;w=86400'
    # The most restrictive limit is the one with the least remaining quota.
    assert headers["RateLimit"] == '"5-per-second";r=4;t=1'
    assert re.fullmatch(r'"[A-Za-z0-9-]+";r=\d+;t=\d+', headers["RateLimit"])


async def test_denial_is_a_quota_exceeded_problem(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(), backend)
    with time_machine.travel(T0, tick=False):
        await admitted(policy, principal(tier="wide"), 5)
        denied = ctx(principal(tier="wide"))
        denial = await policy.on_request(denied)
    assert denial is not None
    assert denial.status == 429
    assert denial.problem == QUOTA_EXCEEDED
    assert denial.title == "Quota exceeded"
    assert int(denial.headers["Retry-After"]) >= 1
    assert denial.extensions == {"violated-policies": ["5-per-second"]}
    assert dict(denied.response_headers)["RateLimit"] == '"5-per-second";r=0;t=1'


async def test_shadow_mode_records_but_does_not_deny(backend: RateLimitBackend) -> None:
    policy = RateLimitPolicy(governance(mode="shadow"), backend)
    with time_machine.travel(T0, tick=False):
        await admitted(policy, principal(), 5)
        over = ctx(principal())
        assert await policy.on_request(over) is None
    assert over.shadow_denials == ["rate_limit"]
    assert "RateLimit" in dict(over.response_headers)


async def test_off_mode_and_public_routes_are_skipped() -> None:
    backend = MemoryRateLimitBackend()
    off = RateLimitPolicy(governance(mode="off"), backend)
    request = ctx(principal())
    for _ in range(10):
        assert await off.on_request(request) is None
    assert request.response_headers == []
    public = ctx(None)
    assert await RateLimitPolicy(governance(), backend).on_request(public) is None
    assert public.response_headers == []


def backend_errors(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "strata_rate_limit_backend_errors_total", {"policy": "rate_limit", "outcome": outcome}
    )
    return value or 0.0


@pytest.mark.parametrize("outcome", ["allow", "deny"])
async def test_backend_error_follows_on_backend_error(outcome: str, caplog: pytest.LogCaptureFixture) -> None:
    dead = RedisRateLimitBackend("redis://127.0.0.1:1/0", socket_timeout=0.2)
    policy = RateLimitPolicy(governance(on_backend_error=outcome), dead)
    before = backend_errors(outcome)
    denial = await policy.on_request(ctx(principal()))
    await dead.aclose()
    if outcome == "allow":
        assert denial is None
    else:
        assert denial is not None
        assert denial.status == 503
    assert backend_errors(outcome) == before + 1
    assert "rate-limit backend failed" in caplog.text


def test_limit_names_and_windows() -> None:
    limits = parse_limits(("5/second", "100/5 minutes", "2000/day", "5 per second"))
    assert [(limit.name, limit.amount, limit.window) for limit in limits] == [
        ("5-per-second", 5, 1),
        ("100-per-5-minute", 100, 300),
        ("2000-per-day", 2000, 86400),
    ]


def test_parsed_limits_are_cached_per_tuple() -> None:
    policy = RateLimitPolicy(governance(), MemoryRateLimitBackend())
    assert policy.limits(("5/second",)) is policy.limits(("5/second",))


def test_backend_is_chosen_by_redis_url() -> None:
    assert isinstance(rate_limit_backend_for(""), MemoryRateLimitBackend)
    assert isinstance(rate_limit_backend_for("redis://127.0.0.1:6379/0"), RedisRateLimitBackend)


async def test_memory_backend_sweeps_expired_counters() -> None:
    limits = parse_limits(("1/second",))
    with time_machine.travel(T0, tick=False) as clock:
        backend = MemoryRateLimitBackend()
        for index in range(100):
            await backend.admit(f"client-{index}", limits, 1)
        clock.shift(timedelta(seconds=2))
        await backend.admit("early", limits, 1)
        assert len(backend._counters) == 101  # not swept yet: the sweep is periodic
        clock.shift(timedelta(seconds=60))
        assert (await backend.admit("late", limits, 1)).allowed
        assert list(backend._counters) == [("late", "1-per-second")]
        for index in range(20_001):  # a flood of distinct keys is swept by size too
            await backend.admit(f"flood-{index}", limits, 1)
        clock.shift(timedelta(seconds=2))
        for index in range(20_001):
            await backend.admit(f"next-{index}", limits, 1)
        assert len(backend._counters) <= 20_001


async def test_redis_admission_is_one_round_trip_and_survives_noscript(redis_url: str) -> None:
    from redis.asyncio import Redis

    prefix = f"strata:rl:test:{uuid.uuid4().hex}:"
    backend = RedisRateLimitBackend(redis_url, key_prefix=prefix)
    limits = parse_limits(("5/second", "2000/day"))
    pipelined = backend._client
    calls: list[tuple[object, ...]] = []
    call = pipelined.call

    async def counting(*args: object) -> object:
        calls.append(args)
        return await call(*args)  # type: ignore[arg-type]

    pipelined.call = counting  # type: ignore[method-assign]
    client = Redis.from_url(redis_url)
    await client.script_flush()  # as after a failover: the server answers NOSCRIPT
    with time_machine.travel(T0, tick=False):
        assert (await backend.admit("acme", limits, 1)).allowed
        assert [command[0] for command in calls] == ["EVALSHA", "SCRIPT", "EVALSHA"]
        calls.clear()
        for _ in range(4):
            assert (await backend.admit("acme", limits, 1)).allowed
        assert [command[0] for command in calls] == ["EVALSHA"] * 4
        assert not (await backend.admit("acme", limits, 1)).allowed
        keys = sorted(key.decode() if isinstance(key, bytes) else key for key in await client.keys(f"{prefix}*"))
    start = int(T0.timestamp())
    day = start // 86400 * 86400
    assert keys == [f"{prefix}{{acme}}:2000-per-day:{day}", f"{prefix}{{acme}}:5-per-second:{start}"]
    assert 0 < await client.ttl(keys[1]) <= 2
    await client.delete(*keys)
    await client.aclose()
    await backend.aclose()

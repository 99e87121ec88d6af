"""Pre-auth limit per source address: in-process, before any signature check."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from policies.context import RequestContext
from policies.governance import PreAuthLimitConfig
from policies.pre_auth_limit import PreAuthLimitPolicy
from policies.rate_limit import QUOTA_EXCEEDED
from policies.routes import ApiVersion, CompiledRoute

T0 = datetime(2030, 1, 7, 12, 0, 0, 100_000, tzinfo=UTC)
ROUTE = CompiledRoute(
    api=ApiVersion(layer="system", name="crm", version=1, base_path="/system/crm/v1"),
    operation_id="listAccounts",
    method="GET",
    path_template="/system/crm/v1/accounts",
    security=(frozenset({"system:crm:read"}),),
    rate_cost=7,  # ignored: every request counts one before authentication
)


def ctx(source: str) -> RequestContext:
    return RequestContext(
        method="GET",
        path="/system/crm/v1/accounts",
        headers={"authorization": "Bearer not-even-a-jwt"},
        query_string=b"",
        path_params={},
        source=source,
        route=ROUTE,
    )


async def passed(policy: PreAuthLimitPolicy, source: str, count: int) -> int:
    return sum([await policy.on_request(ctx(source)) is None for _ in range(count)])


async def test_each_source_gets_exactly_its_limit() -> None:
    policy = PreAuthLimitPolicy(PreAuthLimitConfig(limits=("3/second",)))
    with time_machine.travel(T0, tick=False) as clock:
        assert await passed(policy, "198.51.100.7", 5) == 3
        assert await passed(policy, "2001:db8::1", 5) == 3
        clock.shift(1)
        assert await passed(policy, "198.51.100.7", 5) == 3


async def test_denial_is_429_with_retry_after() -> None:
    policy = PreAuthLimitPolicy(PreAuthLimitConfig(limits=("1/second", "100/minute")))
    with time_machine.travel(T0, tick=False):
        assert await policy.on_request(ctx("198.51.100.7")) is None
        denial = await policy.on_request(ctx("198.51.100.7"))
    assert denial is not None
    assert (denial.status, denial.problem, denial.title) == (429, QUOTA_EXCEEDED, "Quota exceeded")
    assert denial.headers["Retry-After"] == "1"
    assert denial.extensions == {"violated-policies": ["1-per-second"]}


async def test_shadow_and_off_modes() -> None:
    shadow = PreAuthLimitPolicy(PreAuthLimitConfig(mode="shadow", limits=("1/second",)))
    off = PreAuthLimitPolicy(PreAuthLimitConfig(mode="off", limits=("1/second",)))
    with time_machine.travel(T0, tick=False):
        assert await passed(shadow, "198.51.100.7", 1) == 1
        over = ctx("198.51.100.7")
        assert await shadow.on_request(over) is None
        assert over.shadow_denials == ["pre_auth_limit"]
        assert await passed(off, "198.51.100.7", 10) == 10

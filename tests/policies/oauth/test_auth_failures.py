"""Failed client authentication: blocked per (client id, source), per spraying source, never per client id.

Through the real gateway app, the source address is the ASGI scope's ``client`` (as a
server sets it); the per-client count is a signal (log, metric, audit), not a lock; with
Redis the counters are shared by every process; when Redis fails the limiter fails open.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.oauth import OAuthService
from policies.oauth.auth_failures import AuthFailureLimiter, AuthFailureLimits
from tests.policies.oauth.conftest import FORM, ISSUER, FailureLog, basic, make_app, make_settings
from tests.support.harness import Gateway, running_gateway

TOKEN = "/oauth/token"
GRANT = {"grant_type": "client_credentials"}
SIGNALS = "strata_oauth_client_failure_signals_total"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


def _from(app: object, address: str, base_url: str = "http://127.0.0.1:8080") -> httpx.AsyncClient:
    """A client whose requests reach ``app`` from ``address`` (the ASGI scope's ``client``)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)), base_url=base_url)


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_a_stranger_cannot_lock_the_owner_out(gw: Gateway) -> None:
    client_id, secret = await gw.create_client("gateway:catalog:read")
    signals_before = _metric(SIGNALS)
    async with _from(gw.app, "127.0.0.1") as stranger, _from(gw.app, "127.0.0.2") as owner:
        statuses = [(await stranger.post(TOKEN, data=GRANT, auth=(client_id, "guess"))).status_code for _ in range(20)]
        assert statuses == [401] * 10 + [429] * 10
        # The stranger's address stays blocked for this client, even with the right secret ...
        assert (await stranger.post(TOKEN, data=GRANT, auth=(client_id, secret))).status_code == 429
        # ... while the owner, from its own address, gets its token.
        issued = await owner.post(TOKEN, data=GRANT, auth=(client_id, secret))
        assert issued.status_code == 200, issued.text

    # The per-client count is a signal: metered once, and audited.
    assert _metric(SIGNALS) == signals_before + 1
    await gw.app.state.components.audit.flush()
    auditor = await gw.bearer("gateway:audit:read")
    events = await gw.client.get(
        "/gateway/v1/audit/events", params={"client_id": client_id, "policy": "client_authentication"}, headers=auditor
    )
    reasons = [str(event["reason"]) for event in events.json()["items"]]
    assert sum(reason.startswith("signal:") for reason in reasons) == 1, reasons
    assert all(event["source"] == "127.0.0.1" for event in events.json()["items"])


async def test_one_address_spraying_many_client_ids_is_limited(service: OAuthService) -> None:
    limits = service.failure_limiter.limits
    allowed = int(limits.per_source.split("/")[0])
    assert allowed > int(limits.per_client_and_source.split("/")[0])
    record, secret = await service.clients.create("Real", ["system:crm:read"], "gold")

    async def attempt(client_id: str, password: str, source: str = "10.9.9.9") -> int:
        body = b"grant_type=client_credentials"
        return (await service.token(body, FORM["Content-Type"], basic(client_id, password).items(), source)).status

    assert [await attempt(f"cli_sprayed{index}", "guess") for index in range(allowed)] == [401] * allowed
    assert await attempt("cli_one_more", "guess") == 429
    assert await attempt(record.client_id, secret) == 429  # that address waits, whichever id it claims
    assert await attempt(record.client_id, secret, source="10.9.9.10") == 200  # no one else does


@pytest.mark.redis
async def test_the_pair_limit_holds_across_processes_sharing_redis(
    tmp_path: Path, engine: AsyncEngine, any_redis_url: str
) -> None:
    first = await OAuthService.start(make_settings(tmp_path), engine, any_redis_url)
    second = await OAuthService.start(make_settings(tmp_path), engine, any_redis_url)  # memory of its own
    source = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"  # fresh in Redis
    try:
        assert first.failure_limiter.shared and second.failure_limiter.shared
        record, secret = await first.clients.create("Shared", ["system:crm:read"], "gold")
        allowed = int(first.failure_limiter.limits.per_client_and_source.split("/")[0])
        async with _from(make_app(first), source, ISSUER) as one, _from(make_app(second), source, ISSUER) as two:
            statuses = []
            for attempt in range(allowed + 2):
                process = one if attempt % 2 == 0 else two
                statuses.append((await process.post(TOKEN, data=GRANT, auth=(record.client_id, "guess"))).status_code)
            assert statuses == [401] * allowed + [429, 429]  # in total, not per process
            assert (await one.post(TOKEN, data=GRANT, auth=(record.client_id, secret))).status_code == 429
            assert (await two.post(TOKEN, data=GRANT, auth=(record.client_id, secret))).status_code == 429
    finally:
        await first.stop()
        await second.stop()


@pytest.mark.parametrize(("on_backend_error", "expected"), [("allow", [401, 200]), ("deny", [429, 429])])
async def test_when_redis_is_down_the_configured_answer_holds(
    service: OAuthService, failures: FailureLog, on_backend_error: str, expected: list[int]
) -> None:
    limits = AuthFailureLimits(on_backend_error=on_backend_error)  # type: ignore[arg-type]
    service.failure_limiter = AuthFailureLimiter(limits, redis_url="redis://127.0.0.1:1/0")  # nothing listens
    record, secret = await service.clients.create("Down", ["system:crm:read"], "gold")
    errors_before = _metric("strata_oauth_failure_limiter_errors_total")
    statuses = []
    for password in ("guess", secret):
        headers = basic(record.client_id, password).items()
        response = await service.token(b"grant_type=client_credentials", FORM["Content-Type"], headers, "10.8.8.8")
        statuses.append(response.status)
    await service.failure_limiter.aclose()
    assert statuses == expected
    assert _metric("strata_oauth_failure_limiter_errors_total") > errors_before


def test_limits_are_checked_at_construction() -> None:
    with pytest.raises(ValueError, match="per_source"):
        AuthFailureLimits(per_source="lots")

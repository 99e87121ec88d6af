"""The edge end to end: a real gateway app, requests from chosen peers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Request, get
from prometheus_client import REGISTRY

from tests.support.harness import Gateway, problem, running_gateway
from tests.support.probe import PROBE_HANDLERS, get_probe_public, probe_options

ORIGIN = "https://portal.example.com"
GATE: asyncio.Event | None = None
"""When set, the probe's public operation waits on it (a slow handler)."""
ENTERED: list[str] = []


@get("/system/probe/v1/public")
async def echo_public(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The probe's public operation (its schema allows more members): echoes what it saw."""
    ENTERED.append("x")
    if GATE is not None:
        await GATE.wait()
    return {
        "ok": True,
        "client": request.client.host if request.client else None,
        "port": request.client.port if request.client else None,
        "scheme": request.scope["scheme"],
        "headers": sorted(name for name in request.headers),
    }


HANDLERS = [handler for handler in PROBE_HANDLERS if handler is not get_probe_public] + [echo_public]


def edge_options(tmp_path: Path, governance_cors: str = "", pre_auth: str = "") -> dict[str, Any]:
    options = probe_options(tmp_path)
    options["extra_route_handlers"] = HANDLERS
    governance = Path(options["contracts_dir"]) / "governance.yaml"
    text = governance.read_text()
    if governance_cors:
        text = text.replace("cors: {}", governance_cors)
    if pre_auth:
        text = text.replace('limits: ["200/second"]', pre_auth)
    governance.write_text(text)
    return options


def peer(gw: Gateway, address: str, port: int = 5555) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=gw.app, client=(address, port))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080", timeout=30)


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    cors = f'cors:\n  system/probe/v1: {{origins: ["{ORIGIN}"], max_age: 300}}'
    async with running_gateway(
        tmp_path, trusted_proxies="10.0.0.0/8", **edge_options(tmp_path, governance_cors=cors)
    ) as gateway:
        yield gateway


# ------------------------------------------------------------------ identity headers


async def test_inbound_identity_headers_never_reach_a_handler(gw: Gateway) -> None:
    spoofed = {
        "X-Consumer-Username": "admin",
        "X-Authenticated-Userid": "root",
        "X-Client-Id": "internal-app",
        "X-Credential-Username": "svc",
        "X-User-Id": "1",
        "X-Forwarded-User": "admin",
        "X-Partner-Id": "p-1",
        "X-Customer-Id": "c-1",
        "X-Request-ID": "req-1",
    }
    response = await gw.client.get("/system/probe/v1/public", headers=spoofed)
    assert response.status_code == 200
    seen = response.json()["headers"]
    assert "x-request-id" in seen
    for name in spoofed:
        if name != "X-Request-ID":
            assert name.lower() not in seen


# ------------------------------------------------------------------ trusted proxies


async def test_spoofed_forwarding_headers_from_an_untrusted_peer_change_nothing(gw: Gateway) -> None:
    spoof = {"X-Forwarded-For": "10.0.0.9, 8.8.8.8", "X-Forwarded-Proto": "https", "Forwarded": "for=9.9.9.9"}
    response = await gw.client.get("/system/probe/v1/public", headers=spoof)  # peer 127.0.0.1
    assert response.json()["client"] == "127.0.0.1"
    assert response.json()["scheme"] == "http"
    assert "strict-transport-security" not in response.headers


async def test_a_trusted_proxy_names_the_client_and_scheme(gw: Gateway) -> None:
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7, 10.2.3.4", "X-Forwarded-Proto": "https"}
    async with peer(gw, "10.0.0.1") as client:
        response = await client.get("/system/probe/v1/public", headers=headers)
        body = response.json()
        assert (body["client"], body["scheme"]) == ("198.51.100.7", "https")
        assert response.headers["strict-transport-security"] == "max-age=31536000"
        forwarded = await client.get("/system/probe/v1/public", headers={"Forwarded": "for=192.0.2.1:4000;proto=http"})
        assert (forwarded.json()["client"], forwarded.json()["port"]) == ("192.0.2.1", 4000)
        assert "strict-transport-security" not in forwarded.headers


async def test_the_pre_auth_limit_counts_the_real_client(tmp_path: Path) -> None:
    options = edge_options(tmp_path, pre_auth='limits: ["2/minute"]')
    async with running_gateway(tmp_path, trusted_proxies="10.0.0.0/8", **options) as gw:
        # An untrusted peer rotating X-Forwarded-For is still one client.
        statuses = [
            (await gw.client.get("/system/probe/v1/public", headers={"X-Forwarded-For": f"7.7.7.{i}"})).status_code
            for i in range(3)
        ]
        assert statuses == [200, 200, 429]
        # Behind the trusted proxy, distinct clients have distinct budgets...
        async with peer(gw, "10.0.0.1") as proxy:
            for i in range(3):
                ok = await proxy.get("/system/probe/v1/public", headers={"X-Forwarded-For": f"203.0.113.{i}"})
                assert ok.status_code == 200
            # ...and one client behind it is limited like any other.
            same = [
                (await proxy.get("/system/probe/v1/public", headers={"X-Forwarded-For": "203.0.113.0"})).status_code
                for _ in range(2)
            ]
            assert same == [200, 429]


# ------------------------------------------------------------------ CORS


async def test_preflight_from_an_allowlisted_origin(gw: Gateway) -> None:
    response = await gw.client.options(
        "/system/probe/v1/items/abc",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PATCH" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"]
    for name in ("Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID", "traceparent"):
        assert name in allowed
    assert response.headers["access-control-max-age"] == "300"
    assert response.headers["vary"] == "Origin"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize(
    ("path", "origin"),
    [
        ("/system/probe/v1/items/abc", "https://evil.example.com"),
        ("/system/probe/v1/items/abc", "https://portal.example.com.evil.example"),
        ("/system/probe/v1/items/abc", "null"),
        ("/system/crm/v1/accounts", ORIGIN),  # an API without CORS config
        ("/oauth/token", ORIGIN),
    ],
)
async def test_preflight_from_anywhere_else_is_403_without_cors_headers(gw: Gateway, path: str, origin: str) -> None:
    response = await gw.client.options(path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert response.status_code == 403
    assert problem(response)["type"].endswith("/cors-origin-not-allowed")
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_actual_requests_get_cors_headers_only_from_allowlisted_origins(gw: Gateway) -> None:
    allowed = await gw.client.get("/system/probe/v1/public", headers={"Origin": ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["vary"] == "Origin"
    exposed = allowed.headers["access-control-expose-headers"]
    for name in ("RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID", "Deprecation", "Sunset", "Link"):
        assert name in exposed
    # A denial is readable by the allowed page too (a 401 from the pipeline).
    denied = await gw.client.get("/system/probe/v1/items/abc", headers={"Origin": ORIGIN})
    assert denied.status_code == 401
    assert denied.headers["access-control-allow-origin"] == ORIGIN

    for response in (
        await gw.client.get("/system/probe/v1/public", headers={"Origin": "https://evil.example.com"}),
        await gw.client.get("/system/probe/v1/public"),
        await gw.client.get("/system/crm/v1/accounts", headers={"Origin": ORIGIN}),
        await gw.client.get("/health/live", headers={"Origin": ORIGIN}),
    ):
        assert not [name for name in response.headers if name.startswith("access-control-")], response.headers


# ------------------------------------------------------------------ security headers


async def test_security_headers_on_every_response_once(gw: Gateway) -> None:
    for path in ("/system/probe/v1/public", "/system/nothing/v1/here", "/health/live", "/metrics"):
        response = await gw.client.get(path)
        assert response.headers.get_list("x-content-type-options") == ["nosniff"], path
        assert "strict-transport-security" not in response.headers
    not_found = await gw.client.get("/gateway/nothing")
    assert not_found.status_code == 404
    assert not_found.headers.get_list("cache-control") == ["no-store"]


async def test_token_responses_are_never_cached(gw: Gateway) -> None:
    client_id, secret = await gw.create_client("system:probe:read")
    for auth, status in (((client_id, secret), 200), ((client_id, "wrong"), 401)):
        response = await gw.client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=auth)
        assert response.status_code == status, response.text
        assert response.headers.get_list("cache-control") == ["no-store"]
        assert response.headers.get_list("pragma") == ["no-cache"]


async def test_hsts_when_the_public_url_is_https(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, public_url="https://api.example.com", **edge_options(tmp_path)) as gw:
        for path in ("/system/probe/v1/public", "/nowhere"):
            response = await gw.client.get(path)
            assert response.headers.get_list("strict-transport-security") == ["max-age=31536000"]


# ------------------------------------------------------------------ load shedding


def shed_count() -> float:
    return REGISTRY.get_sample_value("strata_shed_requests_total") or 0.0


async def test_requests_beyond_max_in_flight_are_shed_at_once(tmp_path: Path) -> None:
    global GATE
    async with running_gateway(tmp_path, max_in_flight=2, **edge_options(tmp_path)) as gw:
        GATE = asyncio.Event()
        ENTERED.clear()
        try:
            slow = [asyncio.create_task(gw.client.get("/system/probe/v1/public")) for _ in range(2)]
            for _ in range(200):
                if len(ENTERED) == 2:
                    break
                await asyncio.sleep(0.01)
            assert len(ENTERED) == 2
            before = shed_count()
            shed = await asyncio.wait_for(gw.client.get("/system/probe/v1/public", headers={"Origin": ORIGIN}), 2)
            assert shed.status_code == 503
            assert problem(shed)["type"].endswith("/overloaded")
            assert shed.headers["retry-after"] == "1"
            assert shed.headers["x-content-type-options"] == "nosniff"
            assert (await gw.client.get("/nowhere")).status_code == 503  # even a 404 is work
            assert shed_count() == before + 2
            # Health and metrics are exempt.
            assert (await asyncio.wait_for(gw.client.get("/health/live"), 2)).status_code == 200
            assert (await asyncio.wait_for(gw.client.get("/metrics"), 2)).status_code == 200
            GATE.set()
            assert [(await task).status_code for task in slow] == [200, 200]
            assert (await gw.client.get("/system/probe/v1/public")).status_code == 200
        finally:
            GATE.set()
            GATE = None


async def test_zero_max_in_flight_sheds_nothing(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, max_in_flight=0, **edge_options(tmp_path)) as gw:
        responses = await asyncio.gather(*(gw.client.get("/system/probe/v1/public") for _ in range(20)))
        assert {response.status_code for response in responses} == {200}

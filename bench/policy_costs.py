"""In-process cost of each policy, in CPU microseconds per request, on the cheap route.

The app is the real one (lifespan started), the context is what the middleware would build
for ``GET /system/bench/v1/ping`` with a valid bearer token; each policy's ``on_request``
runs ``iterations`` times. Authentication is measured twice: with the verified-token cache
warm (the steady state) and with it cleared before every call (a full RS256 verification).
"""

from __future__ import annotations

import time
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from policies.context import CapturedResponse, RequestContext
from policies.observe import ObservePolicy


async def _response_side(app: Any, route: Any, token: str, iterations: int) -> dict[str, float]:
    """CPU µs of the response contract check and of audit + metrics on a 200."""
    body = b'{"pong":true,"echo":"hello"}'
    results: dict[str, float] = {}
    for policy in route.response_policies:
        start = time.process_time()
        for _ in range(iterations):
            response = CapturedResponse(200, [(b"content-type", b"application/json")], body)
            await policy.on_response(_context(route, token), response)
        results[f"{policy.name} (response)"] = (time.process_time() - start) / iterations * 1e6
    observe = app.state.chain.policy(ObservePolicy)
    start = time.process_time()
    for _ in range(iterations):
        await observe.on_complete(_context(route, token), 200)
    results["observe (audit + metrics)"] = (time.process_time() - start) / iterations * 1e6
    return results


def _context(route: Any, token: str) -> RequestContext:
    return RequestContext(
        method="GET",
        path="/system/bench/v1/ping",
        headers={"authorization": f"Bearer {token}", "host": "127.0.0.1", "accept": "*/*"},
        query_string=b"echo=hello",
        path_params={},
        source="127.0.0.1",
        route=route,
        state={"header_bytes": 120, "authorization_count": 1},
        started_at=time.perf_counter(),
        body_read=True,
    )


async def measure(prepared: dict[str, Any], iterations: int) -> dict[str, float]:
    """CPU µs per call of each policy of the cheap route's chain."""
    from bench.app import bench_ping
    from gateway.app import create_app

    app = create_app(prepared["settings"], extra_route_handlers=[bench_ping])
    token = prepared["token"]
    results: dict[str, float] = {}
    async with AsyncTestClient(app=app.litestar):
        route = next(r for r in app.state.route_table.routes if r.operation_id == "benchPing")
        for policy in route.policies:
            ctx = _context(route, token)
            await policy.on_request(ctx)  # warm caches (token cache, compiled limits)
            principal = ctx.principal
            start = time.process_time()
            for _ in range(iterations):
                ctx = _context(route, token)
                ctx.principal = principal
                await policy.on_request(ctx)
            results[policy.name] = (time.process_time() - start) / iterations * 1e6
            if policy.name == "authentication":
                start = time.process_time()
                for _ in range(iterations // 5):
                    policy.forget_cached()  # type: ignore[attr-defined]
                    await policy.on_request(_context(route, token))
                results["authentication (cold: full verify)"] = (time.process_time() - start) / (iterations // 5) * 1e6
        results.update(await _response_side(app, route, token, iterations))
        results["total (warm)"] = sum(v for k, v in results.items() if "cold" not in k)
        results.update(await _pii_side(app, iterations // 5))
    return {name: round(value, 2) for name, value in results.items()}


CONTACTS_BODY = msgspec.json.encode(
    {
        "items": [
            {
                "id": f"003{index:015d}",
                "account_id": "001000000000001AAA",
                "first_name": "Jane",
                "last_name": f"Doe {index}",
                "email": f"jane.doe{index}@acme.example",
                "phone": "+49 30 1234567",
                "title": "Head of Finance",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
            for index in range(50)
        ],
        "next_cursor": None,
    }
)
"""A CRM contacts page of 50 (about 12 KB): four marked fields per item."""


async def _pii_side(app: Any, iterations: int) -> dict[str, float]:
    """CPU µs of the PII policy on a 50-contact page: masked (no ``pii`` scope) and revealed (with it)."""
    from policies.context import Principal
    from policies.pii import PiiPolicy

    route = next(r for r in app.state.route_table.routes if r.operation_id == "listContacts")
    policy = app.state.chain.policy(PiiPolicy)
    results: dict[str, float] = {}
    for label, scopes in (("masking", {"system:crm:read"}), ("revealing", {"system:crm:read", "system:crm:pii"})):
        principal = Principal(subject="c", client_id="c", issuer="i", oauth_scopes=frozenset(scopes))
        start = time.process_time()
        for _ in range(iterations):
            ctx = _context(route, "")
            ctx.principal = principal
            response = CapturedResponse(200, [(b"content-type", b"application/json")], CONTACTS_BODY)
            await policy.on_response(ctx, response)
        results[f"pii (response, 50 contacts, {label})"] = (time.process_time() - start) / iterations * 1e6
    return results

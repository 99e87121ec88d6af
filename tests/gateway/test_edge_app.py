"""The edge is the ASGI app the server runs: it wraps the Litestar app and forwards lifespan.

Driven here as a server drives it, by the ASGI lifespan protocol and then requests, with no
test client's own lifespan handling in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from gateway.app import GatewayApp, create_app
from policies.edge import Edge
from tests.support.harness import gateway_settings, problem, seed_state

ORIGIN = "https://elsewhere.example"
Lifespan = tuple[Callable[[str], Awaitable[None]], Callable[[], Awaitable[str]], "asyncio.Task[None]"]


def _lifespan(app: GatewayApp) -> Lifespan:
    """Start ``app`` on the lifespan protocol; return (send an event, next answer, the task)."""
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    answers: asyncio.Queue[str] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await events.get()

    async def send(message: dict[str, Any]) -> None:
        await answers.put(message["type"])

    async def event(kind: str) -> None:
        await events.put({"type": kind})

    async def answer() -> str:
        return await asyncio.wait_for(answers.get(), timeout=60)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    return event, answer, asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]


async def test_lifespan_passes_through_the_edge_and_unrouted_requests_meet_it(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path / "state")
    await seed_state(settings)
    app = create_app(settings)
    assert isinstance(app, Edge)
    assert not isinstance(app.litestar.asgi_handler, Edge)  # Litestar's handler is its own

    event, answer, task = _lifespan(app)
    await event("lifespan.startup")
    assert await answer() == "lifespan.startup.complete"
    assert app.state.oauth is not None  # the components started: the lifespan reached Litestar

    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        missing = await client.get("/system/crm/v1/no-such-thing")
        wrong_method = await client.delete("/health/live")
        preflight = await client.options(
            "/system/crm/v1/accounts", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
        )
    assert missing.status_code == 404 and wrong_method.status_code == 405
    for response in (missing, wrong_method):
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]  # the edge's, once
    assert preflight.status_code == 403
    assert problem(preflight)["type"].endswith("cors-origin-not-allowed")

    await event("lifespan.shutdown")
    assert await answer() == "lifespan.shutdown.complete"
    await asyncio.wait_for(task, timeout=60)

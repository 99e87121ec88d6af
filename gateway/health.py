"""Health endpoints for load balancers and orchestrators.

* ``GET /health/live`` — the process is up and its event loop answers. Nothing else: a
  liveness probe that checks dependencies gets healthy processes restarted when Redis blips.
* ``GET /health/ready`` — this process can serve: the state database answers, Redis answers
  when configured, signing keys are loaded. Each check has its own short deadline and all
  run concurrently; any failure → 503 ``application/problem+json`` naming the failing parts
  (never their error text, which could leak hosts or credentials into a public probe).
  It also reports every vendor's circuit breaker (``vendors``), without failing on them:
  see :mod:`apis.system.kit.circuit_breaker`. Every answer says which ``mode`` runs (``demo``
  or ``production``). On the public port in production, or once an admin port is set
  (:mod:`gateway.listeners`), it answers without details: ``{"status", "mode"}``, or a 503
  problem naming no part; the details are on the admin listener.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.response import Response
from sqlalchemy import text

from core.problems import PROBLEM_MEDIA_TYPE, problem_body
from gateway.components import Components
from gateway.listeners import admin_paths_split

CHECK_TIMEOUT_SECONDS = 1.0


@get("/health/live", include_in_schema=False, sync_to_thread=False)
def health_live() -> dict[str, str]:
    """The process is up and serving."""
    return {"status": "ok"}


async def _database(components: Any) -> None:
    async with components.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _redis(components: Any) -> None:
    from core.redis_pool import redis_client

    client = redis_client(components.settings.redis_url, socket_timeout=CHECK_TIMEOUT_SECONDS)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def _signing_keys(components: Any) -> None:
    oauth = components.oauth
    if oauth is None:
        raise RuntimeError("the authorization server has not started")
    oauth.keys.current()


def readiness_checks(components: Any) -> dict[str, Callable[[Any], Awaitable[None]]]:
    """The checks that apply to this process's configuration."""
    checks: dict[str, Callable[[Any], Awaitable[None]]] = {"database": _database, "signing_keys": _signing_keys}
    if components.settings.redis_url:
        checks["redis"] = _redis
    return checks


async def _run(name: str, check: Callable[[Any], Awaitable[None]], components: Any) -> tuple[str, str, float]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            await check(components)
        outcome = "ok"
    except TimeoutError:
        outcome = "timeout"
    except Exception:  # a failing dependency is a "not ready", never a 500
        outcome = "failed"
    return name, outcome, round((time.perf_counter() - started) * 1000, 2)


@get("/health/ready", include_in_schema=False)
async def health_ready(request: Request[Any, Any, Any], components: NamedDependency[Components]) -> Response[bytes]:
    """Ready when every dependency of this process answers within its deadline."""
    results = await asyncio.gather(
        *(_run(name, check, components) for name, check in readiness_checks(components).items())
    )
    settings = components.settings
    if request.app.state.get("listener", "public") == "public" and admin_paths_split(settings):
        return _without_details(request, settings, ready=all(outcome == "ok" for _, outcome, _ in results))
    checks = {name: {"status": outcome, "duration_ms": duration} for name, outcome, duration in results}
    failing = sorted(name for name, outcome, _ in results if outcome != "ok")
    # Informational: an open vendor circuit does not make this instance unready (see
    # apis.system.kit.circuit_breaker); it tells an operator which vendor calls fail fast right now.
    vendors = {vendor: breaker.describe() for vendor, breaker in components.circuit_breakers.items()}
    if not failing:
        import msgspec

        ready = {"status": "ready", "mode": settings.mode, "checks": checks, "vendors": vendors}
        return Response(msgspec.json.encode(ready), media_type="application/json")
    body = problem_body(
        status=503,
        problem="not-ready",
        title="Not ready",
        detail=f"failing: {', '.join(failing)}",
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        extensions={"mode": settings.mode, "checks": checks, "vendors": vendors},
        base_uri=components.settings.problem_base_uri,
    )
    return Response(body, status_code=503, media_type=PROBLEM_MEDIA_TYPE, headers={"Retry-After": "5"})


def _without_details(request: Request[Any, Any, Any], settings: Any, *, ready: bool) -> Response[bytes]:
    """The public port's readiness when the details live on the admin listener: the verdict and the mode."""
    import msgspec

    if ready:
        return Response(msgspec.json.encode({"status": "ready", "mode": settings.mode}), media_type="application/json")
    body = problem_body(
        status=503,
        problem="not-ready",
        title="Not ready",
        detail="this instance cannot serve yet",
        instance=request.url.path,
        request_id=request.scope.get("state", {}).get("request_id"),
        extensions={"mode": settings.mode},
        base_uri=settings.problem_base_uri,
    )
    return Response(body, status_code=503, media_type=PROBLEM_MEDIA_TYPE, headers={"Retry-After": "5"})

"""The benchmark's apps: the real gateway plus one cheap governed route, and bare Litestar.

``BENCH_GOVERNED=0`` builds the same app without binding contracts, so the same handlers
run with the policy chain switched off: the side-by-side baseline. ``create_bare_app`` is
Litestar alone serving the same handler (no edge, no middleware, no lifespan): the ceiling
of the framework on the same server.
"""

from __future__ import annotations

import os

from litestar import Litestar, get

from gateway.app import GatewayApp, create_app
from gateway.settings import load_settings
from policies.pii import PiiPolicy


@get("/system/bench/v1/ping", sync_to_thread=False)
def bench_ping(echo: str | None = None) -> dict[str, object]:
    """The cheapest possible handler: a constant body."""
    return {"pong": True, "echo": echo}


@get("/health/live", sync_to_thread=False)
def bare_live() -> dict[str, str]:
    """The bare app's liveness probe (the bench waits for it)."""
    return {"status": "ok"}


def create_bench_app() -> GatewayApp:
    """Gateway app for the benchmark (settings from ``STRATA_*``)."""
    governed = os.environ.get("BENCH_GOVERNED", "1") == "1"
    app = create_app(load_settings(), extra_route_handlers=[bench_ping], governed=governed)
    if os.environ.get("BENCH_PII", "1") == "0":
        # The PII policy left out of every route (what ``mode = "off"`` does), for its cost line:
        # a benchmark switch only, the product has none.
        app.state.chain.policy(PiiPolicy).mode = "off"
        if app.state.route_table is not None:
            for route in app.state.route_table.routes:
                app.state.chain.compile(route)
    return app


def create_bare_app() -> Litestar:
    """Litestar with the bench handler only, as the gateway configures it (no OpenAPI, no logging config)."""
    return Litestar(route_handlers=[bench_ping, bare_live], openapi_config=None, logging_config=None, debug=False)

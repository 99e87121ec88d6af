"""The benchmark's app: the real gateway plus one cheap governed route.

``BENCH_GOVERNED=0`` builds the same app without binding contracts, so the same handlers
run with the policy chain switched off: the side-by-side baseline.
"""

from __future__ import annotations

import os

from litestar import get

from gateway.app import GatewayApp, create_app
from gateway.settings import load_settings


@get("/system/bench/v1/ping", sync_to_thread=False)
def bench_ping(echo: str | None = None) -> dict[str, object]:
    """The cheapest possible handler: a constant body."""
    return {"pong": True, "echo": echo}


def create_bench_app() -> GatewayApp:
    """Gateway app for the benchmark (settings from ``STRATA_*``)."""
    governed = os.environ.get("BENCH_GOVERNED", "1") == "1"
    return create_app(load_settings(), extra_route_handlers=[bench_ping], governed=governed)

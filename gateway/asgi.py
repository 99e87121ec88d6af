"""ASGI entry points for servers that import the app (granian workers, uvicorn)."""

from __future__ import annotations

from gateway.app import GatewayApp, create_app
from gateway.settings import load_settings


def create_app_from_environment() -> GatewayApp:
    """Build the app from ``STRATA_*`` settings (the CLI passes its resolved values on).

    The server runs the edge around the Litestar app; lifespan events pass through it.
    """
    return create_app(load_settings())

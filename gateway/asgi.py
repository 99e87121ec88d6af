"""ASGI entry points for servers that import the app (granian workers, uvicorn)."""

from __future__ import annotations

from litestar import Litestar

from gateway.app import create_app
from gateway.settings import load_settings


def create_app_from_environment() -> Litestar:
    """Build the app from ``STRATA_*`` settings (the CLI passes its resolved values on)."""
    return create_app(load_settings())

"""ASGI entry points for servers that import the app (granian workers, uvicorn).

Both refuse to build while :func:`gateway.startup_checks.startup_problems` finds anything (the
CLI has refused the same list already, with exit code 2; this covers a server started by hand).
"""

from __future__ import annotations

import msgspec

from gateway.app import GatewayApp, create_app
from gateway.listeners import ListenerApp, public_port_restricted
from gateway.settings import Settings, SettingsError, load_settings
from gateway.startup_checks import startup_problems


def _checked_settings() -> Settings:
    settings = load_settings()
    problems = startup_problems(settings)
    if problems:
        raise SettingsError("cannot start: " + "; ".join(problems))
    return settings


def create_app_from_environment() -> ListenerApp | GatewayApp:
    """The public listener's app, from ``STRATA_*`` settings (the CLI passes its resolved values on).

    The server runs the edge around the Litestar app; lifespan events pass through it.
    """
    settings = _checked_settings()
    app = create_app(settings)
    # Filtered only where some path leaves the public port: otherwise no per-request cost at all.
    return ListenerApp(app, "public") if public_port_restricted(settings) else app


def create_admin_app_from_environment() -> ListenerApp:
    """The admin listener's app (``STRATA_ADMIN_PORT``): admin paths only, and no workflow engine
    (the workers run the workflows; this process reads the state they share)."""
    settings = msgspec.structs.replace(_checked_settings(), workflows_enabled=False, build_sandboxes_at_start=False)
    return ListenerApp(create_app(settings), "admin")

"""Every vendor sandbox in a process of its own: ``strata sandboxes serve [--port]``.

The same simulators the embedded default mounts, under the same paths
(``/sandbox/<vendor>``), with their state under ``<state dir>/sandboxes/<vendor>``, so
gateway processes can be killed, restarted or multiplied while the "vendors" keep their
state. Point a gateway at them with the environment :func:`gateway_environment` returns
(``STRATA_SALESFORCE_URL=http://127.0.0.1:<port>/sandbox/salesforce`` …); a vendor whose URL
is set is not mounted in the gateway.

``GET /`` lists the sandboxes and their base URLs; ``GET /health`` answers 204.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get

from core.settings import Settings, load_settings
from sandboxes.mount import build_all, mount_handler
from sandboxes.registry import SANDBOXES


def gateway_environment(base_url: str) -> dict[str, str]:
    """``STRATA_*`` variables pointing every connector at the sandboxes served at ``base_url``."""
    base = base_url.rstrip("/")
    return {f"STRATA_{spec.url_setting.upper()}": f"{base}/sandbox/{spec.vendor}" for spec in SANDBOXES}


def create_sandboxes_app(settings: Settings) -> Litestar:
    """One ASGI app serving every sandbox of :data:`~sandboxes.registry.SANDBOXES`."""
    apps = build_all(settings, settings.state_path / "sandboxes")

    @get("/", sync_to_thread=False)
    def index(request: Request[Any, Any, Any]) -> Response[bytes]:
        base = f"{request.url.scheme}://{request.url.netloc}"
        listing = {vendor: f"{base}/sandbox/{vendor}" for vendor in apps}
        return Response(msgspec.json.encode({"sandboxes": listing}), media_type="application/json")

    @get("/health", status_code=204, sync_to_thread=False)
    def health() -> None:
        return None

    app = Litestar(
        route_handlers=[index, health, *(mount_handler(vendor, sandbox) for vendor, sandbox in apps.items())],
        openapi_config=None,
        debug=False,
    )
    app.state.sandboxes = apps
    return app


def create_sandboxes_app_from_environment() -> Litestar:
    """Factory for the server process (settings from ``STRATA_*``)."""
    return create_sandboxes_app(load_settings())

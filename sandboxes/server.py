"""Every vendor sandbox in a process of its own: the app of ``strata sandboxes serve [--port]``.

The same simulators the embedded default mounts, under the same paths
(``/sandbox/<vendor>``), so gateway processes can be killed, restarted or multiplied while the
"vendors" keep their state. The composition root builds the sandboxes from its settings
(``gateway/sandbox_apps.py``) and hands them to :func:`create_sandboxes_app`.

``GET /`` lists the sandboxes and their base URLs; ``GET /health`` answers 204.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get

from sandboxes.mount import mount_handler


def create_sandboxes_app(apps: Mapping[str, Any]) -> Litestar:
    """One ASGI app serving each sandbox of ``apps`` (vendor → its app) under ``/sandbox/<vendor>``."""

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

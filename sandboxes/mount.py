"""Mounting a vendor sandbox under ``/sandbox/<vendor>`` of a Litestar app.

Each sandbox is a separate ASGI app answering in its vendor's own dialect, outside the
governance pipeline and the contracts. Which sandboxes a gateway mounts, and with which
settings, is the composition root's choice (``gateway/sandbox_apps.py``): this module only
knows how to mount one, and how to build it on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar.handlers import asgi


class LazySandbox:
    """A sandbox app built on first use (a request, or a look at one of its attributes).

    A gateway mounts every sandbox, but most tests call few vendors: building seven Litestar
    apps (and seeding their data) was a third of a start-up. ``strata serve`` still builds them
    while starting (``build_sandboxes_at_start``): built on a first request, a sandbox's
    seeding would stall the event loop under that request's neighbours.
    """

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._app: Any = None

    @property
    def built(self) -> Any:
        """The sandbox app itself."""
        if self._app is None:
            self._app = self._build()
        return self._app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.built(scope, receive, send)

    def __getattr__(self, name: str) -> Any:
        # Only for attributes this wrapper lacks: the sandbox's own (faults, reset, state, ...).
        return getattr(self.built, name)


def mount_handler(vendor: str, app: Any) -> Any:
    """A Litestar handler serving ``app`` under ``/sandbox/<vendor>``."""

    @asgi(f"/sandbox/{vendor}", is_mount=True, copy_scope=True, name=f"sandbox-{vendor}")
    async def sandbox(scope: Any, receive: Any, send: Any) -> None:
        # Litestar hands a mount the rest of the path with a trailing slash added
        # (``/v1/prices`` → ``/v1/prices/``); vendors that match paths exactly (Stripe's
        # "Unrecognized request URL") must see the path the client sent.
        path, raw = scope.get("path", ""), scope.get("raw_path") or b""
        if len(path) > 1 and path.endswith("/") and not raw.split(b"?", 1)[0].endswith(b"/"):
            scope["path"] = path[:-1]
        await app(scope, receive, send)

    return sandbox

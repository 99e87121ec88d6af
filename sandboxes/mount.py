"""Mounting the vendor sandboxes under ``/sandbox/<vendor>`` in the embedded default.

Each sandbox is a separate ASGI app answering in its vendor's own dialect, outside the
governance pipeline and the contracts. The same instance is handed to the connector (over
an in-process ASGI transport), so what a test sees under ``/sandbox/salesforce`` is exactly
the state the CRM system API works on. The list of sandboxes is :mod:`sandboxes.registry`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from litestar.handlers import asgi

from sandboxes.registry import SANDBOXES, SandboxSpec, embedded_sandboxes

if TYPE_CHECKING:
    from pathlib import Path

    from core.settings import Settings
    from gateway.components import Components


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


def sandbox_mounts(components: Components) -> list[Any]:
    """Mount handlers for the embedded sandboxes; registers the apps on ``components``."""
    handlers = []
    for spec in embedded_sandboxes(components.settings):
        app = LazySandbox(partial(spec.factory, components.settings, components.sandbox_state_dir(spec.vendor)))
        if components.settings.build_sandboxes_at_start:
            _ = app.built
        components.sandbox_apps[spec.vendor] = app
        handlers.append(mount_handler(spec.vendor, app))
    return handlers


def build_all(settings: Settings, state_root: Path, specs: tuple[SandboxSpec, ...] = SANDBOXES) -> dict[str, Any]:
    """Every sandbox's app, each persisting under ``state_root/<vendor>`` (for ``sandboxes serve``)."""
    return {spec.vendor: spec.factory(settings, state_root / spec.vendor) for spec in specs}

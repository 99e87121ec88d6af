"""What every vendor sandbox app shares: its Litestar app and the common control API.

Each sandbox is a Litestar app of its own (outside the gateway's pipeline), reachable as
``app.state.sandbox``, with a :class:`~sandboxes.faults.FaultInjector` at ``.faults`` and a
``reset()``. The control routes that mean the same for every vendor live here:
``POST /_control/faults`` (one rule as JSON, or a list), ``DELETE /_control/faults`` and
``POST /_control/reset``. Counts and token controls differ per vendor and stay with it.

Every ``/_control`` route asks for the sandbox's own admin token (``Authorization: Bearer
<token>``, the sandbox's ``admin_token`` attribute, handed in by whoever builds it): without it,
anyone who reaches a sandbox could read its counts, inject faults or reset a vendor's data. A
sandbox with no admin token answers every control call 401.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec
from litestar import Litestar, Request, Response, delete, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from sandboxes.faults import FaultInjector, decode_rules


class Sandbox(Protocol):
    """What the shared control routes need of a sandbox."""

    faults: FaultInjector

    def reset(self) -> None:
        """Re-seed the data, drop faults and counters."""


CONTROL_PREFIX = "/_control"


def new_admin_token() -> str:
    """A fresh random admin token (for a sandbox built without one)."""
    return secrets.token_urlsafe(32)


def control_authorized(sandbox: Any, authorization: str | None) -> bool:
    """Whether ``authorization`` (an ``Authorization`` header) carries ``sandbox``'s admin token."""
    expected = getattr(sandbox, "admin_token", "") or ""
    scheme, _, token = (authorization or "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), expected.encode())


async def _control_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    if connection.scope.get("path", "").startswith(CONTROL_PREFIX) and not control_authorized(
        connection.app.state.sandbox, connection.headers.get("authorization")
    ):
        raise NotAuthorizedException("the sandbox's control API needs its admin token (Authorization: Bearer …)")


def sandbox_litestar(sandbox: Sandbox, route_handlers: Sequence[Any], exception_handlers: dict[Any, Any]) -> Litestar:
    """The Litestar app of a sandbox, with the shared control routes and ``state.sandbox`` set."""
    app = Litestar(
        route_handlers=[*route_handlers, *CONTROL_HANDLERS],
        exception_handlers=exception_handlers,
        guards=[_control_guard],
        openapi_config=None,
        # Runs in the gateway's process: Litestar's default logging config would replace
        # the process's JSON log handler with its own text format.
        logging_config=None,
        debug=False,
    )
    app.state.sandbox = sandbox
    return app


def _sandbox(request: Request[Any, Any, Any]) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    return sandbox


def _json(content: Any, status: int) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type="application/json")


@post("/_control/faults", status_code=201)
async def add_faults(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Add fault rules (one JSON rule or a list)."""
    try:
        rules = decode_rules(await request.body())
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return _json({"error": str(error)}, 400)
    _sandbox(request).faults.add(*rules)
    return _json({"active_rules": len(_sandbox(request).faults.rules)}, 201)


@delete("/_control/faults", status_code=204)
async def clear_faults(request: Request[Any, Any, Any]) -> None:
    """Remove every fault rule."""
    _sandbox(request).faults.clear()


@post("/_control/reset", status_code=204)
async def reset(request: Request[Any, Any, Any]) -> None:
    """Re-seed the data and drop faults and counters (each sandbox says what else it forgets)."""
    _sandbox(request).reset()


CONTROL_HANDLERS = [add_faults, clear_faults, reset]


def header(scope: Any, name: str) -> str:
    """The value of request header ``name`` (lower-case) in an ASGI ``scope``; empty when absent."""
    wanted = name.encode()
    for key, value in scope.get("headers", []):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return ""


class SnapshotStore(Protocol):
    """A sandbox store whose whole state can be taken and put back as bytes."""

    def snapshot(self) -> bytes:
        """The store's state."""

    def restore_snapshot(self, snapshot: bytes) -> None:
        """Put a state taken by :meth:`snapshot` back."""


class SeedOnce:
    """A seeding function that seeds once per seed value and process, then restores that snapshot.

    The seeds are deterministic, so every store seeded with one value holds the same data: building
    it again for each gateway a test starts was most of a sandbox's start-up.
    """

    def __init__(self, seed_data: Callable[[Any, int], None]) -> None:
        self._seed_data = seed_data
        self._snapshots: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def __call__(self, store: SnapshotStore, seed: int) -> None:
        with self._lock:
            snapshot = self._snapshots.get(seed)
            if snapshot is None:
                self._seed_data(store, seed)
                self._snapshots[seed] = store.snapshot()
                return
        store.restore_snapshot(snapshot)

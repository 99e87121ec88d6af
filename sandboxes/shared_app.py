"""What every vendor sandbox app shares: its Litestar app and the common control API.

Each sandbox is a Litestar app of its own (outside the gateway's pipeline), reachable as
``app.state.sandbox``, with a :class:`~sandboxes.faults.FaultInjector` at ``.faults`` and a
``reset()``. The control routes that mean the same for every vendor live here:
``POST /_control/faults`` (one rule as JSON, or a list), ``DELETE /_control/faults`` and
``POST /_control/reset``. Counts and token controls differ per vendor and stay with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import msgspec
from litestar import Litestar, Request, Response, delete, post

from sandboxes.faults import FaultInjector, decode_rules


class Sandbox(Protocol):
    """What the shared control routes need of a sandbox."""

    faults: FaultInjector

    def reset(self) -> None:
        """Re-seed the data, drop faults and counters."""


def sandbox_litestar(sandbox: Sandbox, route_handlers: Sequence[Any], exception_handlers: dict[Any, Any]) -> Litestar:
    """The Litestar app of a sandbox, with the shared control routes and ``state.sandbox`` set."""
    app = Litestar(
        route_handlers=[*route_handlers, *CONTROL_HANDLERS],
        exception_handlers=exception_handlers,
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

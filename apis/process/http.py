"""What process API routes share: the runtime (or a 503 where the engine is off), the caller."""

from __future__ import annotations

from typing import Any

from litestar import Request

from apis.process.runtime import ProcessRuntime
from apis.system.http import caller_client_id
from core.errors import WorkflowEngineOff
from policies.pipeline import CONTEXT_STATE_KEY


def process_runtime(request: Request[Any, Any, Any]) -> ProcessRuntime:
    """The runtime of the app serving ``request``.

    Raises:
        WorkflowEngineOff: the engine does not run in this app (503).
    """
    process: ProcessRuntime | None = getattr(request.app.state, "process", None)
    if process is None:
        raise WorkflowEngineOff("This gateway process does not run the workflow engine (workflows_enabled = false)")
    return process


def actor(request: Request[Any, Any, Any]) -> str:
    """Who is acting: the authenticated client's id."""
    return caller_client_id(request) or "anonymous"


def request_id(request: Request[Any, Any, Any]) -> str | None:
    """The request id the governance pipeline gave this request (a transaction's correlation id)."""
    context = request.scope.get("state", {}).get(CONTEXT_STATE_KEY)
    value = getattr(context, "request_id", None)
    return value if isinstance(value, str) and value else None

"""What process API routes share: the runtime (or a 503 where the engine is off), the caller.

Handlers declare the runtime as the ``process`` dependency (``process: ProcessRuntime | None``,
provided by the composition root; ``None`` where this gateway process runs no workflow engine)
and call :func:`running` where they need it, so a request is refused for its input before it is
refused for the missing engine.
"""

from __future__ import annotations

from typing import Any

from litestar import Request

from apis.process.runtime import ProcessRuntime
from apis.system.http import caller_client_id
from core.errors import WorkflowEngineOff
from policies.context import request_context


def running(process: ProcessRuntime | None) -> ProcessRuntime:
    """The workflow runtime of this gateway process.

    Raises:
        WorkflowEngineOff: the engine does not run in this process (503).
    """
    if process is None:
        raise WorkflowEngineOff("This gateway process does not run the workflow engine (workflows_enabled = false)")
    return process


def actor(request: Request[Any, Any, Any]) -> str:
    """Who is acting: the authenticated client's id."""
    return caller_client_id(request) or "anonymous"


def request_id(request: Request[Any, Any, Any]) -> str | None:
    """The request id the governance pipeline gave this request (a transaction's correlation id)."""
    context = request_context(request)
    if context is None or not context.request_id:
        return None
    return context.request_id

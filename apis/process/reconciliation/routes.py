"""``/process/reconciliation/v1``: reconcile a month across CRM, ERP, billing and the catalog.

``POST /runs`` answers 202 at once with the run (``Location`` is its report): the comparison
runs durably in the background. The same period submitted while a run of it is in flight answers
that run (``created: false``); a finished period can be run again (a new run). ``GET /runs`` lists
runs newest first; ``GET /runs/{run_id}`` is the report: every mismatch with the ids on each side.
Reading needs ``process:reconciliation:read``, starting ``process:reconciliation:write``.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from apis.process.http import actor, request_id, running
from apis.process.reconciliation.store import Run, RunStore
from apis.process.reconciliation.workflow import start_run
from apis.process.runtime import ProcessRuntime
from apis.system.http import Limit, decode_body, json_response
from apis.system.paging import cursor_position, next_cursor
from core.cursors import Keyset
from core.errors import InvalidInput, NotFound
from core.instants import rfc3339

BASE = "/process/reconciliation/v1"
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


class RunRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to reconcile."""

    period: str
    """The month, ``YYYY-MM``."""


class RunView(msgspec.Struct, frozen=True, kw_only=True):
    """A run, as listed."""

    id: str
    period: str
    status: str
    trigger: str
    mismatch_count: int | None
    by_kind: dict[str, int] | None
    error: str | None
    created_at: str
    completed_at: str | None
    href: str


_iso = rfc3339


def run_view(run: Run) -> RunView:
    """The listed view of a run."""
    return RunView(
        id=run.id,
        period=run.period,
        status=run.status,
        trigger=run.trigger,
        mismatch_count=run.mismatch_count,
        by_kind=run.by_kind,
        error=run.error,
        created_at=_iso(run.created_at) or "",
        completed_at=_iso(run.completed_at),
        href=f"{BASE}/runs/{run.id}",
    )


@post("/runs", operation_id="startReconciliationRun", status_code=202)
async def start(request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]) -> Response[bytes]:
    """Start reconciling a period (or answer the run of it in flight)."""
    body = await decode_body(request, RunRequest)
    if not _PERIOD.match(body.period):
        raise InvalidInput(
            "period is not a month YYYY-MM",
            field_errors=[{"in": "body", "pointer": "/period", "detail": "a month, YYYY-MM (e.g. 2025-01)"}],
        )
    running(process)  # 503 before anything is written where the engine does not run
    run, created = await start_run(body.period, requested_by=actor(request), correlation_id=request_id(request))
    view = run_view(run)
    return json_response({"run": view, "created": created}, 202, {"Location": view.href})


@get("/runs", operation_id="listReconciliationRuns")
async def list_runs(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None], limit: Limit = 50
) -> Response[bytes]:
    """Runs, newest first."""
    store = RunStore(running(process).database)
    runs, next_position = await store.page(limit=limit, position=cursor_position(request, Keyset))
    cursor = next_cursor(request, next_position)
    headers = None
    if cursor:
        headers = {"Link": f'<{request.url.path}?limit={limit}&cursor={cursor}>; rel="next"'}
    return json_response({"items": [run_view(r) for r in runs], "next_cursor": cursor}, headers=headers)


@get("/runs/{run_id:str}", operation_id="getReconciliationRun")
async def get_run(process: NamedDependency[ProcessRuntime | None], run_id: FromPath[str]) -> Response[bytes]:
    """A run's report: what was compared and every mismatch."""
    store = RunStore(running(process).database)
    run = await store.get(run_id)
    if run is None:
        raise NotFound(f"No reconciliation run {run_id}")
    report = {
        **msgspec.to_builtins(run_view(run)),
        "summary": run.summary,
        "mismatches": await store.mismatches(run.id),
    }
    return json_response(report)


router = Router(path=BASE, route_handlers=[start, list_runs, get_run])

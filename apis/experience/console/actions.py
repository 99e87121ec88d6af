"""What the console's script calls: repair an exception, follow a transaction or a reconciliation run.

``POST /console/api/exceptions/{id}/{replay|compensate|dismiss}`` forwards to the process
operations API as the operator (``process:operations:write`` decides), with the session's CSRF
token required in ``X-CSRF-Token`` and the browser's ``Idempotency-Key`` passed on, so a
double click repeats nothing. ``GET /console/api/transactions/{id}`` is the transaction's
current state, for the page to show the outcome without a reload. Answers are JSON:
``{"status", "transaction"}`` or ``{"status", "problem"}`` with the API's own explanation.
``GET /console/api/reconciliation/runs/{id}`` is a run's status, for the reconciliation page to
follow a run it started.
"""

from __future__ import annotations

import secrets
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from apis.experience.console.auth import Console, check_csrf, operator
from apis.experience.console.pages import OPERATIONS, RECONCILIATION
from apis.experience.console.upstream import api_path
from apis.experience.console.web import BASE, HEADERS
from core.echo import bound_message, shorten

ACTIONS = ("replay", "compensate", "dismiss")
API = f"{BASE}/api"
MAX_BODY_BYTES = 65_536


def _json(status: int, body: dict[str, Any]) -> Response[bytes]:
    return Response(
        content=msgspec.json.encode(body), status_code=status, media_type="application/json", headers=HEADERS
    )


class ActionBody(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the confirmation dialog sends."""

    reason: str | None = None
    """Why the exception is compensated or dismissed (the API requires one for both)."""
    input: dict[str, Any] | None = None
    """Corrected input for a replay."""


@post(f"{API}/exceptions/{{transaction_id:str}}/{{action:str}}", include_in_schema=False, status_code=200)
async def act(
    request: Request[Any, Any, Any],
    console: NamedDependency[Console],
    transaction_id: FromPath[str],
    action: FromPath[str],
) -> Response[bytes]:
    """Replay, compensate or dismiss one exception as the operator."""
    if action not in ACTIONS:
        return _json(404, {"status": 404, "problem": f"no action {shorten(action)!r}; one of {', '.join(ACTIONS)}"})
    async with operator(request, console) as op:
        check_csrf(request, console, op.session, request.headers.get("x-csrf-token"))
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _json(413, {"status": 413, "problem": "the request body is too large"})
        try:
            body = msgspec.json.decode(raw or b"{}", type=ActionBody)
        except msgspec.ValidationError as error:
            return _json(422, {"status": 422, "problem": bound_message(f"invalid body: {error}")})
        except msgspec.DecodeError:
            return _json(400, {"status": 400, "problem": "the body is not JSON"})
        payload: dict[str, Any] = {}
        if action in ("dismiss", "compensate"):
            payload["reason"] = body.reason or ""
        elif action == "replay" and body.input:
            payload["input"] = body.input
        key = request.headers.get("idempotency-key") or secrets.token_urlsafe(16)
        answer = await op.post(
            api_path(f"{OPERATIONS}/exceptions", transaction_id, action),
            payload,
            f"console:{op.session.id[:16]}:{key[:100]}",
        )
        if answer.ok:
            return _json(200, {"status": answer.status, "transaction": answer.body})
        return _json(answer.status, {"status": answer.status, "problem": answer.problem})


@get(f"{API}/transactions/{{transaction_id:str}}", include_in_schema=False)
async def transaction_state(
    request: Request[Any, Any, Any], console: NamedDependency[Console], transaction_id: FromPath[str]
) -> Response[bytes]:
    """The transaction's current view (state, exception), for the page to follow."""
    async with operator(request, console) as op:
        answer = await op.get(api_path(f"{OPERATIONS}/transactions", transaction_id))
        if answer.ok:
            body = answer.body
            summary = {k: body.get(k) for k in ("id", "workflow", "state", "exception", "completed_at", "updated_at")}
            return _json(200, {"status": 200, "transaction": summary})
        return _json(answer.status, {"status": answer.status, "problem": answer.problem})


@get(f"{API}/reconciliation/runs/{{run_id:str}}", include_in_schema=False)
async def reconciliation_run_state(
    request: Request[Any, Any, Any], console: NamedDependency[Console], run_id: FromPath[str]
) -> Response[bytes]:
    """A reconciliation run's status and mismatch count, for the page to follow a running one."""
    async with operator(request, console) as op:
        answer = await op.get(api_path(f"{RECONCILIATION}/runs", run_id))
        if answer.ok:
            summary = {k: answer.body.get(k) for k in ("id", "period", "status", "mismatch_count", "error")}
            return _json(200, {"status": 200, "run": summary})
        return _json(answer.status, {"status": answer.status, "problem": answer.problem})

"""``/process/operations/v1``: every business transaction, its lineage, and exception repair.

Reading needs ``process:operations:read``; replay, compensate and dismiss need
``process:operations:write`` (segregation of duties: a dashboard can't repair). Each repair
is recorded in the transaction's lineage with the operator's client id. Business alerts
(:mod:`apis.process.alerts`) are read here too, with ``process:operations:read``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from apis.process.alerts.store import AlertListed, AlertStore
from apis.process.http import actor, running
from apis.process.operations.service import OperationsService
from apis.process.runtime import ProcessRuntime
from apis.process.transactions import TransactionFilter
from apis.system.http import decode_body, json_response
from apis.system.paging import cursor_position, next_cursor
from core.cursors import Keyset
from core.errors import InvalidInput

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="Page size.")]
# ``state`` is a reserved keyword argument of Litestar handlers (the app state): aliased.
StateQuery = Annotated[str | None, QueryParameter(name="state", description="One state or several, comma-separated.")]


class ReplayRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to replay: from which step, with which corrected input."""

    from_step: str | None = None
    input: dict[str, Any] | None = None


class ReasonRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why an operator compensates or dismisses."""

    reason: str


def _operations(process: ProcessRuntime | None) -> OperationsService:
    """The operations service over the injected runtime (503 where this process runs no engine)."""
    return OperationsService(running(process))


def _filter(
    workflow: str | None,
    state: str | None,
    customer_id: str | None,
    owner_system: str | None,
    created_after: dt.datetime | None,
    created_before: dt.datetime | None,
) -> TransactionFilter:
    return TransactionFilter(
        workflow=workflow,
        states=tuple(s for s in (state or "").split(",") if s),
        customer_id=customer_id,
        owner_system=owner_system,
        created_after=created_after.timestamp() if created_after else None,
        created_before=created_before.timestamp() if created_before else None,
    )


def _page(request: Request[Any, Any, Any], items: list[Any], next_position: Keyset | None) -> Response[bytes]:
    return json_response({"items": items, "next_cursor": next_cursor(request, next_position)})


@get("/transactions", operation_id="listTransactions")
async def list_transactions(
    request: Request[Any, Any, Any],
    process: NamedDependency[ProcessRuntime | None],
    workflow: FromQuery[str | None] = None,
    states: StateQuery = None,
    customer_id: FromQuery[str | None] = None,
    created_after: FromQuery[dt.datetime | None] = None,
    created_before: FromQuery[dt.datetime | None] = None,
    limit: Limit = 50,
) -> Response[bytes]:
    """Transactions, newest first; filter by workflow, state (comma-separated), customer, creation time."""
    where = _filter(workflow, states, customer_id, None, created_after, created_before)
    operations = _operations(process)
    return _page(request, *await operations.list_transactions(where, limit=limit, position=_position(request)))


@get("/transactions/{transaction_id:str}", operation_id="getTransaction")
async def get_transaction(
    process: NamedDependency[ProcessRuntime | None], transaction_id: FromPath[str]
) -> Response[bytes]:
    """One transaction with its lineage: steps, attempts, vendor records, events, actions."""
    return json_response(await _operations(process).detail(transaction_id))


@get("/exceptions", operation_id="listExceptions")
async def list_exceptions(
    request: Request[Any, Any, Any],
    process: NamedDependency[ProcessRuntime | None],
    workflow: FromQuery[str | None] = None,
    states: StateQuery = None,
    owner_system: FromQuery[str | None] = None,
    limit: Limit = 50,
) -> Response[bytes]:
    """Transactions that need someone: needs_attention, failed, held; newest first."""
    where = _filter(workflow, states, None, owner_system, None, None)
    operations = _operations(process)
    return _page(request, *await operations.list_exceptions(where, limit=limit, position=_position(request)))


@get("/alerts", operation_id="listAlerts")
async def list_alerts(
    request: Request[Any, Any, Any],
    process: NamedDependency[ProcessRuntime | None],
    status: FromQuery[AlertListed | None] = None,
    rule: FromQuery[str | None] = None,
    limit: Limit = 50,
) -> Response[bytes]:
    """Business alerts, newest first; ``status=active`` lists the pending and firing ones."""
    store = AlertStore(running(process).database)
    return _page(request, *await store.page(status, rule=rule, limit=limit, position=_position(request)))


@post("/exceptions/{transaction_id:str}/replay", operation_id="replayException", status_code=202)
async def replay(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None], transaction_id: FromPath[str]
) -> Response[bytes]:
    """Run the transaction again from the failed step (or ``from_step``), optionally with corrected input."""
    body = await decode_body(request, ReplayRequest, optional=True)
    view = await _operations(process).replay(
        transaction_id, actor=actor(request), from_step=body.from_step, corrected=body.input
    )
    return json_response(view, 202, {"Location": view.href})


@post("/exceptions/{transaction_id:str}/compensate", operation_id="compensateException", status_code=202)
async def compensate(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None], transaction_id: FromPath[str]
) -> Response[bytes]:
    """Undo what the transaction did, newest first; the transaction ends ``compensated``."""
    body = await _reason(request)
    view = await _operations(process).compensate(transaction_id, actor=actor(request), reason=body.reason)
    return json_response(view, 202, {"Location": view.href})


@post("/exceptions/{transaction_id:str}/dismiss", operation_id="dismissException", status_code=200)
async def dismiss(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None], transaction_id: FromPath[str]
) -> Response[bytes]:
    """Close the exception without completing it; the reason is kept in the lineage."""
    body = await _reason(request)
    return json_response(await _operations(process).dismiss(transaction_id, actor=actor(request), reason=body.reason))


def _position(request: Request[Any, Any, Any]) -> Keyset | None:
    return cursor_position(request, Keyset)


async def _reason(request: Request[Any, Any, Any]) -> ReasonRequest:
    body = await decode_body(request, ReasonRequest)
    if not body.reason.strip():
        raise InvalidInput(
            "reason must not be empty", field_errors=[{"in": "body", "pointer": "/reason", "detail": "empty"}]
        )
    return body


router = Router(
    path="/process/operations/v1",
    route_handlers=[list_transactions, get_transaction, list_exceptions, list_alerts, replay, compensate, dismiss],
)

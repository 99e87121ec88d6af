"""``/process/customer-sync/v1``: sync one CRM account, or every account, to the ERP and billing.

``POST /runs`` answers 202 at once with the transaction (``Location`` is its operations view):
the sync runs durably in the background. Every request is a new run — a sync is meant to be
run again — and runs are idempotent at the vendors: the customers are matched (xref first)
before anything is created, so a second run finds what the first created or linked.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency
from ulid import ULID

from apis.process.customer_sync.workflow import WORKFLOW, customer_sync
from apis.process.http import request_id, running
from apis.process.runtime import ProcessRuntime
from apis.process.transactions import Transaction
from apis.process.views import transaction_view
from apis.system.http import decode_body, json_response
from core.errors import InvalidInput

_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


class RunRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Which accounts to sync: exactly one of ``account_id`` and ``all``."""

    account_id: str | None = None
    """One CRM account."""
    all_accounts: bool | None = msgspec.field(default=None, name="all")
    """``true``: every CRM account."""


@post("/runs", operation_id="startCustomerSyncRun", status_code=202)
async def start(request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]) -> Response[bytes]:
    """Start a customer sync of one account or of every account."""
    body = await decode_body(request, RunRequest)
    if body.account_id is not None and body.all_accounts is not None:
        raise _invalid("/all", "give account_id or all, not both")
    if body.account_id is None and body.all_accounts is not True:
        pointer = "/all" if body.all_accounts is False else "/account_id"
        raise _invalid(pointer, "give account_id (one CRM account) or all: true (every account)")
    if body.account_id is not None and not _SALESFORCE_ID.match(body.account_id):
        raise _invalid("/account_id", "a CRM id: 15 or 18 letters and digits")
    transaction, created = await open_run(running(process), body.account_id, request_id=request_id(request))
    view = transaction_view(transaction)
    return json_response({"transaction": view, "created": created}, 202, {"Location": view.href})


async def open_run(
    process: ProcessRuntime, account_id: str | None, *, business_key: str | None = None, request_id: str | None = None
) -> tuple[Transaction, bool]:
    """Open a run's transaction and start its workflow (once per business key)."""
    key = business_key or (f"account:{account_id}:{ULID()}" if account_id else f"all:{ULID()}")
    run_input: dict[str, Any] = {"account_id": account_id} if account_id else {"all": True}
    transaction, created = await process.transactions.open(
        WORKFLOW, key, input=run_input, customer_id=account_id, request_id=request_id
    )
    # Started on every call: a transaction whose first start was lost starts now; one that runs
    # or ran is left alone by the engine.
    await process.engine.start_once(customer_sync, transaction.id, transaction.id, key)
    return transaction, created


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


router = Router(path="/process/customer-sync/v1", route_handlers=[start])

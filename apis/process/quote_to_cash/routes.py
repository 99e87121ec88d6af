"""``/process/quote-to-cash/v1``: submit a won opportunity; follow it under operations.

``POST /orders`` answers 202 at once with the transaction (``Location`` is its operations
view): the workflow runs durably in the background. The same opportunity submitted again —
with another Idempotency-Key, concurrently, or later — answers 202 with the transaction that
exists (``created: false``) and starts nothing.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency

from apis.process.http import request_id, running
from apis.process.quote_to_cash.workflow import WORKFLOW, quote_to_cash
from apis.process.runtime import ProcessRuntime
from apis.process.views import transaction_view
from apis.system.http import decode_body, json_response
from core.errors import InvalidInput

_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


class OrderRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A won opportunity to turn into a subscription and a sales order."""

    opportunity_id: str
    """The CRM opportunity (Closed Won)."""


@post("/orders", operation_id="submitQuoteToCashOrder", status_code=202)
async def submit_order(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]
) -> Response[bytes]:
    """Start quote-to-cash for an opportunity (once per opportunity, however often it is sent)."""
    body = await decode_body(request, OrderRequest)
    if not _SALESFORCE_ID.match(body.opportunity_id):
        raise InvalidInput(
            "opportunity_id is not a CRM id",
            field_errors=[{"in": "body", "pointer": "/opportunity_id", "detail": "15 or 18 letters and digits"}],
        )
    runtime = running(process)
    transaction, created = await runtime.transactions.open(
        WORKFLOW,
        body.opportunity_id,
        input={"opportunity_id": body.opportunity_id},
        request_id=request_id(request),
    )
    # Started on every submission: a transaction whose first start was lost (a crash between
    # the row and the start) starts now; one that runs or ran is left alone by the engine.
    await runtime.engine.start_once(quote_to_cash, transaction.id, transaction.id, body.opportunity_id)
    view = transaction_view(transaction)
    return json_response({"transaction": view, "created": created}, 202, {"Location": view.href})


router = Router(path="/process/quote-to-cash/v1", route_handlers=[submit_order])

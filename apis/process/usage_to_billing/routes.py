"""``/process/usage-to-billing/v1``: bill a batch of usage events as metered billing usage.

``POST /batches`` answers 202 at once with the transaction (``Location`` is its operations
view); the batch is billed durably in the background. The same batch sent again (same
subscription, period and events) answers the transaction that exists (``created: false``);
events of another batch that were seen before are dropped by their id while it runs.

(The product platform's system API can ingest usage but not list it, so usage arrives here, in
batches its sender posts, rather than being pulled.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency

from apis.process.http import request_id, running
from apis.process.runtime import ProcessRuntime
from apis.process.usage_to_billing.workflow import WORKFLOW, Batch, usage_to_billing
from apis.process.views import transaction_view
from apis.system.http import decode_body, json_response
from core.errors import InvalidInput

MAX_EVENTS = 1000
"""Events per batch."""
FUTURE_SKEW = dt.timedelta(minutes=5)
"""How far in the future an event's time may be (clock skew), as billing allows."""
_PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
_SUBSCRIPTION = re.compile(r"^sub_[A-Za-z0-9]{1,60}$")


@post("/batches", operation_id="submitUsageBatch", status_code=202)
async def submit_batch(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]
) -> Response[bytes]:
    """Bill a batch of one subscription's usage (once per batch, however often it is sent)."""
    batch = await decode_body(request, Batch)
    check(batch, dt.datetime.now(dt.UTC))
    runtime = running(process)
    content = msgspec.to_builtins(batch)
    key = hashlib.sha256(msgspec.json.encode(content)).hexdigest()[:40]
    transaction, created = await runtime.transactions.open(
        WORKFLOW, f"{batch.subscription_id}:{batch.period}:{key}", input=content, request_id=request_id(request)
    )
    await runtime.engine.start_once(usage_to_billing, transaction.id, transaction.id, transaction.business_key)
    view = transaction_view(transaction)
    return json_response({"transaction": view, "created": created}, 202, {"Location": view.href})


def check(batch: Batch, now: dt.datetime) -> None:
    """The rules a schema cannot say (raises InvalidInput naming the field)."""
    if not _SUBSCRIPTION.match(batch.subscription_id):
        raise _invalid("/subscription_id", "a billing subscription id, sub_…")
    if not _PERIOD.match(batch.period):
        raise _invalid("/period", "a month, YYYY-MM (e.g. 2026-11)")
    if not 1 <= len(batch.events) <= MAX_EVENTS:
        raise _invalid("/events", f"1 to {MAX_EVENTS} events")
    for index, event in enumerate(batch.events):
        if not event.id.strip() or len(event.id) > 200:
            raise _invalid(f"/events/{index}/id", "a non-empty id of at most 200 characters")
        if not event.event_name.strip() or len(event.event_name) > 100:
            raise _invalid(f"/events/{index}/event_name", "a meter's event name, at most 100 characters")
        if event.quantity < 0:
            raise _invalid(f"/events/{index}/quantity", "must not be negative")
        if event.timestamp is not None:
            if event.timestamp.tzinfo is None:
                raise _invalid(f"/events/{index}/timestamp", "an RFC 3339 time with its offset (e.g. Z)")
            if event.timestamp > now + FUTURE_SKEW:
                raise _invalid(f"/events/{index}/timestamp", "must not be in the future")


def _invalid(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


router = Router(path="/process/usage-to-billing/v1", route_handlers=[submit_batch])

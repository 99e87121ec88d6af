"""``/process/subscription-changes/v1``: submit a change of a subscription; follow it under operations.

``POST /changes`` answers 202 at once with the transaction (``Location`` is its operations view);
the workflow runs durably in the background. One change is one transaction: an opportunity's
business key is the opportunity; a direct request's is the subscription, the kind, the date and
the items — the same change submitted again (with another Idempotency-Key, concurrently, or
later) answers the transaction that exists (``created: false``) and starts nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from typing import Any, Literal

import msgspec
from litestar import Request, Response, Router, post
from litestar.di import NamedDependency

from apis.process.http import request_id, running
from apis.process.runtime import ProcessRuntime
from apis.process.subscription_changes.plan import CANCELLATIONS
from apis.process.subscription_changes.workflow import WORKFLOW, subscription_change
from apis.process.views import transaction_view
from apis.system.http import decode_body, json_response
from core.errors import InvalidInput

_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_SUBSCRIPTION_ID = re.compile(r"^sub_[A-Za-z0-9]{1,64}$")
_PRODUCT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ChangeItem(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A product of the subscription after the change."""

    product_code: str
    quantity: int


class ChangeSubmission(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A CRM amendment or renewal opportunity, or a direct change naming the account and the subscription."""

    opportunity_id: str | None = None
    account_id: str | None = None
    subscription_id: str | None = None
    kind: (
        Literal["upgrade", "downgrade", "quantity_change", "renewal", "cancel_at_period_end", "cancel_immediately"]
        | None
    ) = None
    items: list[ChangeItem] | None = None
    effective_date: dt.date | None = None


@post("/changes", operation_id="submitSubscriptionChange", status_code=202)
async def submit_change(
    request: Request[Any, Any, Any], process: NamedDependency[ProcessRuntime | None]
) -> Response[bytes]:
    """Start a subscription change (once per change, however often it is sent)."""
    body = await decode_body(request, ChangeSubmission)
    _check(body)
    runtime = running(process)
    business_key = _business_key(body)
    transaction, created = await runtime.transactions.open(
        WORKFLOW,
        business_key,
        input={k: v for k, v in msgspec.to_builtins(body).items() if v is not None},
        request_id=request_id(request),
    )
    await runtime.engine.start_once(subscription_change, transaction.id, transaction.id, business_key)
    view = transaction_view(transaction)
    return json_response({"transaction": view, "created": created}, 202, {"Location": view.href})


def _check(body: ChangeSubmission) -> None:
    """The request's shape rules the contract cannot say (one of two forms; items per kind)."""
    errors: list[dict[str, str]] = []

    def wrong(pointer: str, detail: str) -> None:
        errors.append({"in": "body", "pointer": pointer, "detail": detail})

    if body.opportunity_id is not None:
        if not _SALESFORCE_ID.match(body.opportunity_id):
            wrong("/opportunity_id", "15 or 18 letters and digits")
        for name in ("account_id", "subscription_id", "kind", "items"):
            if getattr(body, name) is not None:
                wrong(f"/{name}", "not with opportunity_id: the opportunity says it")
    else:
        if body.account_id is None or not _SALESFORCE_ID.match(body.account_id):
            wrong("/account_id", "required without opportunity_id: the CRM account (15 or 18 letters and digits)")
        if body.subscription_id is None or not _SUBSCRIPTION_ID.match(body.subscription_id):
            wrong("/subscription_id", "required without opportunity_id: the billing subscription (sub_…)")
        if body.kind is None:
            wrong("/kind", "required without opportunity_id")
        elif body.kind in CANCELLATIONS and body.items is not None:
            wrong("/items", "a cancellation has no items")
        elif body.kind not in CANCELLATIONS and body.kind != "renewal" and not body.items:
            wrong("/items", f"an {body.kind} lists the subscription's products after the change")
    seen: set[str] = set()
    for index, item in enumerate(body.items or []):
        if not _PRODUCT_CODE.match(item.product_code):
            wrong(f"/items/{index}/product_code", "a product code (letters, digits, - _ .)")
        if item.product_code in seen:
            wrong(f"/items/{index}/product_code", "named twice")
        seen.add(item.product_code)
        if not 0 < item.quantity <= 1_000_000:
            wrong(f"/items/{index}/quantity", "1 to 1000000")
    if errors:
        raise InvalidInput(errors[0]["detail"], field_errors=errors)


def _business_key(body: ChangeSubmission) -> str:
    """The opportunity, or ``<subscription>:<kind>:<date>:<digest of the items>`` (one change per day and content)."""
    if body.opportunity_id is not None:
        return body.opportunity_id
    items = sorted((i.product_code, i.quantity) for i in body.items or [])
    digest = hashlib.sha256(repr((body.account_id, items)).encode()).hexdigest()[:16]
    day = (body.effective_date or dt.datetime.now(dt.UTC).date()).isoformat()
    return f"{body.subscription_id}:{body.kind}:{day}:{digest}"


router = Router(path="/process/subscription-changes/v1", route_handlers=[submit_change])

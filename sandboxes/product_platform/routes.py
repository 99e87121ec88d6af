"""The product platform's REST resources under ``/v1`` (see the package docstring for the dialect)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from litestar import Request, Response, get, patch, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import FromPath

from sandboxes.product_platform.store import Record, Store, timestamp

JSON = "application/json"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
MAX_BATCH_EVENTS = 1000
MAX_QUANTITY = 1_000_000
ENTITLEMENT_STATUSES = ("active", "revoked")
_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "unprocessable",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
    504: "gateway_timeout",
}


class PpError(Exception):
    """An error answer in the platform's format."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    def body(self, request_id: str = "") -> bytes:
        """``{"error": {"code", "message", "requestId", "details"?}}``."""
        error: dict[str, Any] = {"code": self.code, "message": self.message, "requestId": request_id}
        if self.details:
            error["details"] = self.details
        return msgspec.json.encode({"error": error})


def invalid(field: str, issue: str, code: str = "invalid_request") -> PpError:
    """A 400 naming one field."""
    return PpError(400, code, f"Invalid value for {field}: {issue}", [{"field": field, "issue": issue}])


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected fault, in the platform's error format."""
    code = _ERROR_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
    message = "Rate limit exceeded, retry later" if status == 429 else f"Request failed with status {status}"
    return PpError(status, code, message).body(), JSON


def _request_id(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("pp_request_id", ""))


def _error_response(request: Request[Any, Any, Any], error: PpError) -> Response[bytes]:
    return Response(error.body(_request_id(request)), status_code=error.status, media_type=JSON)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    status = error.status_code
    code = _ERROR_CODES.get(status, "invalid_request")
    message = "No such resource" if status == 404 else str(error.detail)
    return _error_response(request, PpError(status, code, message))


def _unexpected(request: Request[Any, Any, Any], _: Exception) -> Response[bytes]:
    return _error_response(request, PpError(500, "internal_error", "Internal error"))


EXCEPTION_HANDLERS: dict[Any, Callable[..., Response[bytes]]] = {
    PpError: _error_response,
    NotFoundException: _http_error,
    HTTPException: _http_error,
    Exception: _unexpected,
}


def _store(request: Request[Any, Any, Any]) -> Store:
    store: Store = request.app.state.sandbox.store
    return store


def _json(content: Any, status: int = 200) -> Response[bytes]:
    return Response(msgspec.json.encode(content), status_code=status, media_type=JSON)


async def _body(request: Request[Any, Any, Any]) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise PpError(400, "invalid_json", "Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise PpError(400, "invalid_request", "Request body must be a JSON object")
    return body


# -- pagination ----------------------------------------------------------------------------------
def _page(request: Request[Any, Any, Any], records: Iterable[Record]) -> Response[bytes]:
    """``?pageSize=&pageToken=`` → ``{"data": [...], "nextPageToken": "..."}`` (absent on the last page)."""
    raw_size = request.query_params.get("pageSize", str(DEFAULT_PAGE_SIZE))
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= MAX_PAGE_SIZE:
        raise invalid("pageSize", f"must be an integer from 1 to {MAX_PAGE_SIZE}")
    size = int(raw_size)
    ordered = sorted(records, key=lambda record: str(record["id"]))
    token = request.query_params.get("pageToken")
    if token:
        after = _decode_token(token)
        ordered = [record for record in ordered if str(record["id"]) > after]
    body: dict[str, Any] = {"data": ordered[:size]}
    if len(ordered) > size:
        body["nextPageToken"] = "pt_" + base64.urlsafe_b64encode(ordered[size - 1]["id"].encode()).decode()
    return _json(body)


def _decode_token(token: str) -> str:
    try:
        if not token.startswith("pt_"):
            raise ValueError
        return base64.urlsafe_b64decode(token[3:].encode()).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid("pageToken", "not a page token this API issued", "invalid_page_token") from None


def _found(table: dict[str, Record], key: str, kind: str) -> Record:
    record = table.get(key)
    if record is None:
        raise PpError(404, "not_found", f"No {kind} with id '{key}'")
    return record


# -- catalog -------------------------------------------------------------------------------------
@get("/v1/products")
async def list_products(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Products, optionally of one family."""
    family = request.query_params.get("family")
    products = _store(request).products.values()
    return _page(request, (p for p in products if family is None or p["family"] == family))


@get("/v1/products/{product_id:str}")
async def get_product(request: Request[Any, Any, Any], product_id: FromPath[str]) -> Response[bytes]:
    """One product."""
    return _json(_found(_store(request).products, product_id, "product"))


@get("/v1/skus")
async def list_skus(request: Request[Any, Any, Any]) -> Response[bytes]:
    """SKUs, optionally of one product (``productId``) or with one code (``code``)."""
    product_id, code = request.query_params.get("productId"), request.query_params.get("code")
    skus = _store(request).skus.values()
    return _page(
        request,
        (
            s
            for s in skus
            if (product_id is None or s["productId"] == product_id) and (code is None or s["code"] == code)
        ),
    )


@get("/v1/skus/{sku_id:str}")
async def get_sku(request: Request[Any, Any, Any], sku_id: FromPath[str]) -> Response[bytes]:
    """One SKU."""
    return _json(_found(_store(request).skus, sku_id, "sku"))


@get("/v1/bundles")
async def list_bundles(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Bundles."""
    return _page(request, _store(request).bundles.values())


@get("/v1/bundles/{bundle_id:str}")
async def get_bundle(request: Request[Any, Any, Any], bundle_id: FromPath[str]) -> Response[bytes]:
    """One bundle."""
    return _json(_found(_store(request).bundles, bundle_id, "bundle"))


# -- accounts and entitlements -------------------------------------------------------------------
@get("/v1/accounts")
async def list_accounts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Accounts, optionally the one carrying an ``externalRef`` (the CRM account id)."""
    ref = request.query_params.get("externalRef")
    accounts = _store(request).accounts.values()
    return _page(request, (a for a in accounts if ref is None or a["externalRef"] == ref))


@get("/v1/accounts/{account_id:str}")
async def get_account(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Response[bytes]:
    """One account."""
    return _json(_found(_store(request).accounts, account_id, "account"))


@get("/v1/accounts/{account_id:str}/entitlements")
async def list_entitlements(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Response[bytes]:
    """An account's entitlements, optionally of one ``status``."""
    store = _store(request)
    _found(store.accounts, account_id, "account")
    status = request.query_params.get("status")
    if status is not None and status not in ENTITLEMENT_STATUSES:
        raise invalid("status", "must be active or revoked")
    mine = (e for e in store.entitlements.values() if e["accountId"] == account_id and status in (None, e["status"]))
    return _page(request, mine)


@post("/v1/accounts/{account_id:str}/entitlements")
async def grant_entitlement(request: Request[Any, Any, Any], account_id: FromPath[str]) -> Response[bytes]:
    """Grant a SKU to an account: 201 with the new entitlement."""
    body = await _body(request)
    store = _store(request)
    with store.batch():
        _found(store.accounts, account_id, "account")
        sku = _sku_of(store, body)
        quantity = _quantity(body.get("quantity", 1))
        starts_at = _time(body, "startsAt") or timestamp()
        ends_at = _time(body, "endsAt")
        if ends_at is not None and ends_at <= starts_at:
            raise invalid("endsAt", "must be after startsAt")
        ref = body.get("externalRef")
        if ref is not None and (not isinstance(ref, str) or not 1 <= len(ref) <= 255):
            raise invalid("externalRef", "must be a string of 1 to 255 characters")
        record = store.new_entitlement(account_id, sku, quantity, starts_at, ends_at, timestamp())
        record["externalRef"] = ref
        store.writes["entitlement_grant"] += 1
    return _json(record, 201)


@get("/v1/entitlements/{entitlement_id:str}")
async def get_entitlement(request: Request[Any, Any, Any], entitlement_id: FromPath[str]) -> Response[bytes]:
    """One entitlement."""
    return _json(_found(_store(request).entitlements, entitlement_id, "entitlement"))


@patch("/v1/entitlements/{entitlement_id:str}")
async def change_entitlement(request: Request[Any, Any, Any], entitlement_id: FromPath[str]) -> Response[bytes]:
    """Set ``quantity`` and/or ``endsAt`` (absolute values: repeating a change changes nothing)."""
    body = await _body(request)
    unknown = set(body) - {"quantity", "endsAt"}
    if unknown or not body:
        field = sorted(unknown)[0] if unknown else "quantity"
        raise invalid(field, "only quantity and endsAt can be changed, and at least one must be given")
    store = _store(request)
    with store.batch():
        record = _found(store.entitlements, entitlement_id, "entitlement")
        if record["status"] == "revoked":
            raise PpError(409, "entitlement_revoked", f"Entitlement '{entitlement_id}' is revoked")
        quantity = _quantity(body["quantity"]) if "quantity" in body else record["quantity"]
        ends_at = _time(body, "endsAt") if "endsAt" in body else record["endsAt"]
        if ends_at is not None and ends_at <= record["startsAt"]:
            raise invalid("endsAt", "must be after startsAt")
        if (quantity, ends_at) != (record["quantity"], record["endsAt"]):
            record.update(quantity=quantity, endsAt=ends_at, version=record["version"] + 1, updatedAt=timestamp())
            store.writes["entitlement_change"] += 1
    return _json(record)


@post("/v1/entitlements/{entitlement_id:str}/revoke", status_code=200)
async def revoke_entitlement(request: Request[Any, Any, Any], entitlement_id: FromPath[str]) -> Response[bytes]:
    """Revoke an entitlement; revoking a revoked one answers it unchanged."""
    body = await _body(request)
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 500):
        raise invalid("reason", "must be a string of at most 500 characters")
    store = _store(request)
    with store.batch():
        record = _found(store.entitlements, entitlement_id, "entitlement")
        if record["status"] != "revoked":
            now = timestamp()
            record.update(status="revoked", revokedAt=now, revokeReason=reason, version=record["version"] + 1)
            record["updatedAt"] = now
            store.writes["entitlement_revoke"] += 1
    return _json(record)


# -- usage ---------------------------------------------------------------------------------------
@post("/v1/usage-events/batch", status_code=200)
async def ingest_usage(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Up to 1,000 usage events; per-event results ``accepted``, ``duplicate`` or ``rejected``."""
    body = await _body(request)
    events = body.get("events")
    if not isinstance(events, list) or not 1 <= len(events) <= MAX_BATCH_EVENTS:
        raise invalid("events", f"must be a list of 1 to {MAX_BATCH_EVENTS} events")
    for index, event in enumerate(events):
        if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not 1 <= len(event["id"]) <= 128:
            raise invalid(f"events[{index}].id", "every event needs an id of 1 to 128 characters")
    store = _store(request)
    results = []
    with store.batch():
        for event in events:
            results.append(_ingest_one(store, event))
    return _json({"results": results})


def _ingest_one(store: Store, event: Record) -> Record:
    event_id = event["id"]
    if event_id in store.usage_events:
        return {"id": event_id, "status": "duplicate"}
    try:
        account_id = event.get("accountId")
        if not isinstance(account_id, str) or account_id not in store.accounts:
            raise PpError(400, "unknown_account", f"No account with id '{account_id}'")
        sku = store.skus_by_code.get(str(event.get("skuCode")))
        if sku is None or sku["chargeModel"] != "metered":
            raise PpError(400, "not_metered", f"'{event.get('skuCode')}' is not a metered SKU")
        quantity = event.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not math.isfinite(quantity):
            raise PpError(400, "invalid_quantity", "quantity must be a number")
        if quantity <= 0:
            raise PpError(400, "invalid_quantity", "quantity must be positive")
        occurred_at = _time(event, "timestamp")
        if occurred_at is None:
            raise PpError(400, "invalid_timestamp", "timestamp is required")
    except PpError as error:
        return _rejected(event_id, error)
    properties = event.get("properties")
    if properties is not None and not isinstance(properties, dict):
        return _rejected(event_id, PpError(400, "invalid_properties", "properties must be an object"))
    store.usage_events[event_id] = {
        "properties": properties or {},
        "accountId": account_id,
        "skuCode": sku["code"],
        "quantity": quantity,
        "timestamp": occurred_at,
        "receivedAt": timestamp(),
    }
    store.writes["usage_event"] += 1
    return {"id": event_id, "status": "accepted"}


def _rejected(event_id: str, error: PpError) -> Record:
    return {"id": event_id, "status": "rejected", "error": {"code": error.code, "message": error.message}}


# -- field checks --------------------------------------------------------------------------------
def _sku_of(store: Store, body: Record) -> Record:
    if "skuId" in body:
        sku = store.skus.get(str(body["skuId"]))
        field = "skuId"
    else:
        sku = store.skus_by_code.get(str(body.get("skuCode")))
        field = "skuCode"
    if sku is None:
        raise invalid(field, "no such SKU", "unknown_sku")
    return sku


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_QUANTITY:
        raise invalid("quantity", f"must be an integer from 1 to {MAX_QUANTITY}")
    return value


def _time(body: Record, field: str) -> str | None:
    """An ISO 8601 timestamp with offset, normalised to the platform's format; None when absent."""
    raw = body.get(field)
    if raw is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        raise invalid(field, "must be an ISO 8601 timestamp with an offset") from None
    if moment.tzinfo is None:
        raise invalid(field, "must be an ISO 8601 timestamp with an offset")
    return timestamp(moment)


ROUTE_HANDLERS = [
    list_products,
    get_product,
    list_skus,
    get_sku,
    list_bundles,
    get_bundle,
    list_accounts,
    get_account,
    list_entitlements,
    grant_entitlement,
    get_entitlement,
    change_entitlement,
    revoke_entitlement,
    ingest_usage,
]

"""Route handlers of the Salesforce sandbox: OAuth, REST, control API, error rendering."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec
from litestar import Request, Response, delete, get, patch, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.salesforce import deals
from sandboxes.salesforce.composite import run_composite
from sandboxes.salesforce.describe import describe, refuse_removed_fields, refuse_removed_in_query, remove_field
from sandboxes.salesforce.query import batch_size_from, record_url, serialize
from sandboxes.salesforce.schema import SfError, SfMultipleChoices, get_sobject

if TYPE_CHECKING:
    from sandboxes.salesforce.app import SalesforceSandbox

SUPPORTED_VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0")
ORG_ID = "00DQy000000StRaTA"
USER_ID = "005Qy000000IntGRa"
JSON = "application/json;charset=UTF-8"


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=headers)


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in Salesforce's own error format."""
    code, message = {
        401: ("INVALID_SESSION_ID", "Session expired or invalid"),
        403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        404: ("NOT_FOUND", "The requested resource does not exist"),
        429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
        503: ("SERVER_UNAVAILABLE", "Server is temporarily unavailable. Please try again later."),
    }.get(
        status,
        (
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: 1234567-89 (-123456789)",
        ),
    )
    return msgspec.json.encode([{"message": message, "errorCode": code}]), JSON


def _sandbox(request: Request[Any, Any, Any]) -> SalesforceSandbox:
    sandbox: SalesforceSandbox = request.app.state.sandbox
    return sandbox


async def _json_body(request: Request[Any, Any, Any]) -> Any:
    raw = await request.body()
    try:
        return msgspec.json.decode(raw) if raw else {}
    except msgspec.DecodeError:
        raise SfError(400, "JSON_PARSER_ERROR", "Unexpected character: was expecting a JSON value") from None


def _record_fields(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object value")
    return {key: value for key, value in body.items() if key != "attributes"}


# -- OAuth ----------------------------------------------------------------------------------------
@post("/services/oauth2/token", status_code=200)
async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Client-credentials grant; credentials in the form or in HTTP Basic."""
    sandbox = _sandbox(request)
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except ValueError:
            client_id = client_secret = None
    if form.get("grant_type") != "client_credentials":
        return _json({"error": "unsupported_grant_type", "error_description": "grant type not supported"}, 400)
    if client_id != sandbox.client_id:
        return _json({"error": "invalid_client_id", "error_description": "client identifier invalid"}, 400)
    if not hmac.compare_digest(client_secret or "", sandbox.client_secret):
        return _json({"error": "invalid_client", "error_description": "invalid client credentials"}, 400)
    instance_url = f"{request.url.scheme}://{request.url.netloc}{_mount_prefix(request.scope)}"
    issued_at = str(int(time.time() * 1000))
    identity = f"{instance_url}/id/{ORG_ID}/{USER_ID}"
    signature = base64.b64encode(
        hmac.new(sandbox.client_secret.encode(), (identity + issued_at).encode(), hashlib.sha256).digest()
    ).decode()
    access_token = sandbox.issue_token()
    return _json(
        {
            "access_token": access_token,
            "signature": signature,
            "scope": "api",
            "instance_url": instance_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
    )


def _mount_prefix(scope: Any) -> str:
    """Where the sandbox is mounted: ``root_path``, or what a mount stripped from ``raw_path``."""
    if scope.get("root_path"):
        return str(scope["root_path"]).rstrip("/")
    raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0].rstrip("/")
    path = str(scope.get("path", "")).rstrip("/")
    return raw[: -len(path)] if path and raw.endswith(path) and raw != path else ""


# -- REST -----------------------------------------------------------------------------------------
@get("/services/data", sync_to_thread=False)
def versions(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The API versions this org serves."""
    return _json([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in SUPPORTED_VERSIONS])


@get("/services/data/{version:str}", sync_to_thread=False)
def resources(version: FromPath[str]) -> Response[bytes]:
    """Resources of one version."""
    base = f"/services/data/{version}"
    return _json({name: f"{base}/{name}" for name in ("sobjects", "query", "composite", "limits")})


@get("/services/data/{version:str}/sobjects/{sobject_name:str}/describe")
async def describe_sobject(request: Request[Any, Any, Any], sobject_name: FromPath[str]) -> Response[bytes]:
    """The sObject's metadata: fields, types, external ids, picklist values."""
    return _json(describe(sobject_name, _sandbox(request).removed_fields))


@get("/services/data/{version:str}/sobjects/{sobject_name:str}/{record_id:str}")
async def get_record(
    request: Request[Any, Any, Any], version: FromPath[str], sobject_name: FromPath[str], record_id: FromPath[str]
) -> Response[bytes]:
    """One record, all fields or those in ``?fields=``."""
    sobject = get_sobject(sobject_name)
    record = _sandbox(request).store.get(sobject, record_id)
    return _json(serialize(sobject, record, version, _fields_param(request, sobject)))


def _fields_param(request: Request[Any, Any, Any], sobject: Any) -> list[str] | None:
    raw = request.query_params.get("fields")
    if not raw:
        return None
    fields = []
    for name in (part.strip() for part in raw.split(",")):
        canonical = sobject.canonical_field(name)
        if canonical is None:
            raise SfError(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject.name}'.")
        fields.append(canonical)
    refuse_removed_fields(sobject.name, fields, _sandbox(request).removed_fields)
    return fields


@get("/services/data/{version:str}/sobjects/{sobject_name:str}/{field_name:str}/{value:str}")
async def get_by_external_id(
    request: Request[Any, Any, Any],
    version: FromPath[str],
    sobject_name: FromPath[str],
    field_name: FromPath[str],
    value: FromPath[str],
) -> Response[bytes]:
    """One record by external id; 300 with URLs when several match."""
    sobject = get_sobject(sobject_name)
    matches = _sandbox(request).store.by_external_id(sobject, field_name, value)
    if not matches:
        raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
    if len(matches) > 1:
        raise SfMultipleChoices([record_url(version, sobject.name, m["Id"]) for m in matches])
    return _json(serialize(sobject, matches[0], version, _fields_param(request, sobject)))


@post("/services/data/{version:str}/sobjects/{sobject_name:str}")
async def create_record(
    request: Request[Any, Any, Any], version: FromPath[str], sobject_name: FromPath[str]
) -> Response[bytes]:
    """Insert: 201 ``{"id", "success": true, "errors": []}``."""
    sobject = get_sobject(sobject_name)
    values = _record_fields(await _json_body(request))
    refuse_removed_fields(sobject.name, values, _sandbox(request).removed_fields)
    record_id = _sandbox(request).store.create(sobject, values)
    headers = {"Location": record_url(version, sobject.name, record_id)}
    return _json({"id": record_id, "success": True, "errors": []}, 201, headers)


@patch("/services/data/{version:str}/sobjects/{sobject_name:str}/{record_id:str}", status_code=200)
async def update_record(
    request: Request[Any, Any, Any], sobject_name: FromPath[str], record_id: FromPath[str]
) -> Response[bytes]:
    """Update: 204, no body."""
    sobject = get_sobject(sobject_name)
    values = _record_fields(await _json_body(request))
    refuse_removed_fields(sobject.name, values, _sandbox(request).removed_fields)
    _sandbox(request).store.update(sobject, record_id, values)
    return Response(content=b"", status_code=204)


@delete("/services/data/{version:str}/sobjects/{sobject_name:str}/{record_id:str}", status_code=200)
async def delete_record(
    request: Request[Any, Any, Any], sobject_name: FromPath[str], record_id: FromPath[str]
) -> Response[bytes]:
    """Delete: 204, no body."""
    _sandbox(request).store.delete(get_sobject(sobject_name), record_id)
    return Response(content=b"", status_code=204)


@patch("/services/data/{version:str}/sobjects/{sobject_name:str}/{field_name:str}/{value:str}", status_code=200)
async def upsert_record(
    request: Request[Any, Any, Any],
    version: FromPath[str],
    sobject_name: FromPath[str],
    field_name: FromPath[str],
    value: FromPath[str],
) -> Response[bytes]:
    """Upsert by external id: 201 created (with body), 204 updated, 300 several matches."""
    sobject = get_sobject(sobject_name)
    values = _record_fields(await _json_body(request))
    refuse_removed_fields(sobject.name, [field_name, *values], _sandbox(request).removed_fields)
    created, record_id = _sandbox(request).store.upsert(sobject, field_name, value, values)
    if created:
        headers = {"Location": record_url(version, sobject.name, record_id)}
        return _json({"id": record_id, "success": True, "errors": [], "created": True}, 201, headers)
    return Response(content=b"", status_code=204)


@get("/services/data/{version:str}/query")
async def query(request: Request[Any, Any, Any], version: FromPath[str]) -> Response[bytes]:
    """SOQL: the first batch of ``?q=``."""
    text = request.query_params.get("q")
    if not text:
        raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
    batch = batch_size_from(request.headers.get("sforce-query-options"))
    refuse_removed_in_query(text, _sandbox(request).removed_fields)
    return _json(_sandbox(request).queries.query(text, version, batch))


@get("/services/data/{version:str}/query/{locator:str}")
async def query_more(
    request: Request[Any, Any, Any], version: FromPath[str], locator: FromPath[str]
) -> Response[bytes]:
    """The batch behind a ``nextRecordsUrl``."""
    return _json(_sandbox(request).queries.more(locator, version))


@post("/services/data/{version:str}/composite", status_code=200)
async def composite(request: Request[Any, Any, Any], version: FromPath[str]) -> Response[bytes]:
    """Composite: up to 25 subrequests in one call, ``@{ref.field}`` references, allOrNone."""
    sandbox = _sandbox(request)
    body = await _json_body(request)
    return _json(await run_composite(sandbox.asgi_app, sandbox.store, body, dict(request.headers)))


# -- control API (faults and reset: sandboxes.shared_app) -------------------------------------------
@post("/_control/expire-tokens", status_code=204)
async def expire_tokens(request: Request[Any, Any, Any]) -> None:
    """Invalidate every issued token (the next data call answers INVALID_SESSION_ID)."""
    _sandbox(request).expire_tokens()


@delete("/_control/fields/{sobject:str}/{field_name:str}", status_code=204)
async def remove_org_field(request: Request[Any, Any, Any], sobject: FromPath[str], field_name: FromPath[str]) -> None:
    """Take a field away from the org's describe (``reset`` gives it back)."""
    remove_field(sobject, field_name, _sandbox(request).removed_fields)


@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Request and fault counters, API usage."""
    sandbox = _sandbox(request)
    return _json({**sandbox.faults.counts(), "api_usage": sandbox.api_usage, "api_limit": sandbox.api_limit})


@post("/_control/won-deals", status_code=201)
async def won_deals(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Create Closed Won deals (accounts, opportunities, lines) in one call: see sandboxes.salesforce.deals."""
    return _json(deals.create_won_deals(_sandbox(request).store, await request.body()), 201)


@patch("/_control/records/{sobject:str}/{record_id:str}", status_code=204)
async def edit_record(request: Request[Any, Any, Any], sobject: FromPath[str], record_id: FromPath[str]) -> None:
    """Set fields of a record as an admin would (fixing bad data in tests)."""
    deals.edit_record(_sandbox(request).store, sobject, record_id, await request.body())


def _sf_error(_: Request[Any, Any, Any], error: SfError) -> Response[bytes]:
    return _json(error.body(), error.status)


def _multiple(_: Request[Any, Any, Any], error: SfMultipleChoices) -> Response[bytes]:
    return _json(error.urls, 300)


def _http_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if error.status_code == 404:
        return _json(SfError(404, "NOT_FOUND", "The requested resource does not exist").body(), 404)
    if error.status_code == 405:
        message = "HTTP Method not allowed for this resource"
        return _json(SfError(405, "METHOD_NOT_ALLOWED", message).body(), 405)
    return _json(SfError(error.status_code, "INVALID_INPUT", str(error.detail)).body(), error.status_code)


def _unexpected(_: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    return _json(SfError(500, "UNKNOWN_EXCEPTION", f"An unexpected error occurred: {type(error).__name__}").body(), 500)


ROUTE_HANDLERS = [
    token, versions, resources, describe_sobject, get_record, get_by_external_id, create_record, update_record,
    delete_record, upsert_record, query, query_more, composite,
    expire_tokens, remove_org_field, counts, won_deals, edit_record,
]  # fmt: skip
EXCEPTION_HANDLERS: dict[Any, Any] = {
    SfError: _sf_error,
    SfMultipleChoices: _multiple,
    HTTPException: _http_error,
    Exception: _unexpected,
}

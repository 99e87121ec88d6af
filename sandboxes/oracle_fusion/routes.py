"""Route handlers of the Oracle Fusion sandbox: the REST resources, the token endpoint, control API, errors.

One handler per REST root parses ``<resource>[/<key>[/child/<child>|/action/<action>]]`` and
dispatches (:func:`api`); the item and collection shapes come from :mod:`.rest`, the rules from
:mod:`.writes`.
"""

from __future__ import annotations

import base64
import secrets
import time
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request, Response, get, post, route
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.oracle_fusion import rest, writes
from sandboxes.oracle_fusion.resources import ACTIONS, RESOURCES, Resource
from sandboxes.oracle_fusion.rest import COLLECTION_TYPE, ERROR_TYPE, ITEM_TYPE, OracleError, bad

if TYPE_CHECKING:
    from sandboxes.oracle_fusion.app import OracleFusionSandbox

BODY_TYPES = ("application/json", ITEM_TYPE, "application/vnd.oracle.adf.action+json")
FRAMEWORK_VERSION = "4"
"""The ``REST-Framework-Version`` answered when the client names none (Oracle picks a default too)."""


def _sandbox(request: Request[Any, Any, Any]) -> OracleFusionSandbox:
    sandbox: OracleFusionSandbox = request.app.state.sandbox
    return sandbox


def _mount_prefix(scope: Any) -> str:
    """Where the sandbox is mounted (``/sandbox/oracle-fusion`` under ``strata sandboxes serve``), so
    ``links`` lead back through the mount: ``root_path``, or what the mount stripped from ``raw_path``."""
    if scope.get("root_path"):
        return str(scope["root_path"]).rstrip("/")
    raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0].rstrip("/")
    path = str(scope.get("path", "")).rstrip("/")
    return raw[: -len(path)] if path and raw.endswith(path) and raw != path else ""


def _json(
    content: Any, status: int = 200, media_type: str = ITEM_TYPE, headers: dict[str, str] | None = None
) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=media_type, headers=headers)


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in Oracle's format."""
    detail = {
        429: "The request was throttled. Try again later.",
        503: "The service is temporarily unavailable.",
        504: "The request timed out.",
    }.get(status, "An unexpected error occurred.")
    return OracleError(status, detail).encode(), ERROR_TYPE


@post("/oauth2/v1/token", status_code=200)
async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The identity domain's client-credentials grant (client authentication by Basic or in the form)."""
    sandbox = _sandbox(request)
    form = dict(await request.form())
    client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            client_id = secret = ""
    if form.get("grant_type") != "client_credentials":
        return _json(
            {"error": "unsupported_grant_type", "error_description": "The grant type is not supported."},
            400,
            "application/json",
        )
    if (
        not sandbox.client_id
        or client_id != sandbox.client_id
        or not secrets.compare_digest(secret.encode(), sandbox.client_secret.encode())
    ):
        return _json(
            {"error": "invalid_client", "error_description": "Client authentication failed."}, 401, "application/json"
        )
    access = secrets.token_urlsafe(40)
    with sandbox.lock:
        sandbox.tokens[access] = time.monotonic() + sandbox.token_ttl_seconds
        sandbox.tokens_issued += 1
    return _json(
        {"access_token": access, "token_type": "Bearer", "expires_in": int(sandbox.token_ttl_seconds)},
        200,
        "application/json",
    )


@route("/{root:str}/resources/{version:str}/{path:path}", http_method=["GET", "POST", "PATCH"], status_code=200)
async def api(
    request: Request[Any, Any, Any], root: FromPath[str], version: FromPath[str], path: FromPath[str]
) -> Response[bytes]:
    """Every REST call: ``<resource>``, ``<resource>/<key>``, ``.../child/<child>``, ``.../action/<action>``."""
    sandbox = _sandbox(request)
    segments = [s for s in path.split("/") if s]
    resource = RESOURCES.get(segments[0]) if segments else None
    if resource is None or resource.root != root or version not in (sandbox.api_version, "latest"):
        raise OracleError(404, f"The resource {path} was not found.")
    base = f"{request.url.scheme}://{request.url.netloc}{_mount_prefix(request.scope)}/{root}/resources/{version}"
    params = {key: value for key, value in request.query_params.items()}
    framework = request.headers.get("rest-framework-version", FRAMEWORK_VERSION)
    headers = {"REST-Framework-Version": framework}
    body: dict[str, Any] = {}
    if request.method in ("POST", "PATCH"):
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media not in BODY_TYPES:
            raise OracleError(415, f"The media type {media or 'none'} is not supported.")
        raw = await request.body()
        try:
            body = msgspec.json.decode(raw) if raw else {}
        except msgspec.DecodeError:
            raise bad("The request body is not valid JSON.", "ADF_REST_JSON_INVALID") from None
        if not isinstance(body, dict):
            raise bad("The request body must be a JSON object.", "ADF_REST_JSON_INVALID")
    store = sandbox.store
    with store.lock:
        if len(segments) == 1:
            if request.method == "GET":
                return _json(
                    _list(base, resource, store.all(resource.name), params, f"{base}/{resource.name}"),
                    media_type=COLLECTION_TYPE,
                    headers=headers,
                )
            if request.method != "POST":
                raise OracleError(405, "The method is not allowed on a collection.")
            upsert = request.headers.get("upsert-mode", "").lower() == "true"
            with store.batch():
                record, created = writes.create(store, resource, body, upsert=upsert)
            item = rest.render(base, resource, record, links=True, expand={"all"})
            location = rest.item_href(base, resource, record)
            return _json(item, 201 if created else 200, headers={**headers, "Location": location})
        found = store.by_key(resource.name, segments[1])
        if found is None:
            raise OracleError(404, f"The item {segments[1]} of {resource.name} was not found.")
        record = found
        if len(segments) == 2:
            if request.method == "GET":
                expand = set(filter(None, params.get("expand", "").split(",")))
                for name in expand - {"all"}:
                    if name not in resource.children:
                        raise bad(f'The child "{name}" in the query parameter expand is not valid.')
                links = params.get("onlyData", "false").lower() != "true"
                return _json(rest.render(base, resource, record, links=links, expand=expand), headers=headers)
            if request.method != "PATCH":
                raise OracleError(405, "The method is not allowed on an item.")
            with store.batch():
                writes.patch(store, resource, record, body)
            return _json(rest.render(base, resource, record, links=True, expand=set()), headers=headers)
        if (
            len(segments) == 4
            and segments[2] == "child"
            and segments[3] in resource.children
            and request.method == "GET"
        ):
            child = resource.children[segments[3]]
            href = f"{rest.item_href(base, resource, record)}/child/{child.name}"
            lines = sorted(record.get(child.name) or [], key=lambda r: int(r[child.id_field]))
            return _json(
                _list(href.rsplit("/", 1)[0], child, lines, params, href), media_type=COLLECTION_TYPE, headers=headers
            )
        if len(segments) == 4 and segments[2] == "action" and (resource.name, segments[3]) in ACTIONS:
            if request.method != "POST":
                raise OracleError(405, "Actions are invoked with POST.")
            with store.batch():
                if segments[3] == "cancelSalesOrder":
                    result = writes.cancel_order(store, record, body)
                else:
                    result = writes.apply_receipt(store, record, body)
            return _json(result, media_type="application/vnd.oracle.adf.actionresult+json", headers=headers)
    raise OracleError(404, f"The resource {path} was not found.")


def _list(
    base: str, resource: Resource, records: list[dict[str, Any]], params: dict[str, str], href: str
) -> dict[str, Any]:
    conditions = []
    if params.get("q"):
        conditions.extend(rest.parse_q(resource, params["q"]))
    if params.get("finder"):
        conditions.extend(rest.parse_finder(resource, params["finder"]))
    found = [r for r in records if rest.matches(resource, r, conditions)]
    return rest.collection(base, resource, found, params, href=href)


@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Records of each resource, writes applied, requests, faults, tokens issued."""
    sandbox = _sandbox(request)
    store = sandbox.store
    with store.lock:
        records = {name: len(table) for name, table in store.data.items()}
        extra = {"records": records, "writes": dict(store.writes), "tokens_issued": sandbox.tokens_issued}
    return _json({**sandbox.faults.counts(), **extra}, media_type="application/json")


@post("/_control/expire-tokens", status_code=204)
async def expire_tokens(request: Request[Any, Any, Any]) -> None:
    """Invalidate every issued bearer token (the next call with one answers 401)."""
    sandbox = _sandbox(request)
    with sandbox.lock:
        sandbox.tokens.clear()


def _oracle_error(_: Request[Any, Any, Any], error: OracleError) -> Response[bytes]:
    return _json(error.body(), error.status, ERROR_TYPE, error.headers or None)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    return _oracle_error(request, OracleError(error.status_code, str(error.detail)))


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    return _oracle_error(request, OracleError(500, f"An unexpected error occurred: {type(error).__name__}"))


ROUTE_HANDLERS = [token, api, counts, expire_tokens]
EXCEPTION_HANDLERS: dict[Any, Any] = {OracleError: _oracle_error, HTTPException: _http_error, Exception: _unexpected}

"""Route handlers of the Business Central sandbox: token endpoint, the OData API, control API, errors.

OData URLs mix keys into path segments (``companies(<id>)/salesInvoices(<id>)/Microsoft.NAV.post``),
which a router's path parameters do not express: one handler parses the resource path and
dispatches (:func:`api`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlencode

import msgspec
from litestar import Request, Response, get, post, route
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.business_central import odata, posting, writes
from sandboxes.business_central.auth import EntraError
from sandboxes.business_central.schema import COMPANY, ENTITIES, TOP_LEVEL, BcError, Entity, not_found
from sandboxes.business_central.store import Record

if TYPE_CHECKING:
    from sandboxes.business_central.app import BusinessCentralSandbox

JSON = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z$][A-Za-z0-9_.]*)(?:\((?P<key>[^()]*)\))?$")
ACTION_PREFIX = "Microsoft.NAV."


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    all_headers = {"OData-Version": "4.0", **(headers or {})}
    return Response(content=msgspec.json.encode(content), status_code=status, media_type=JSON, headers=all_headers)


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in BC's format."""
    code, message = {
        400: ("BadRequest", "The request is invalid."),
        401: ("Authentication_InvalidCredentials", "The server has rejected the client credentials."),
        403: ("Authorization_InsufficientPermissions", "You do not have the permissions for this operation."),
        404: ("BadRequest_NotFound", "The specified resource was not found."),
        429: ("Application_TooManyRequests", "Too many requests reached.  Actual (6001).  Maximum (6000)."),
        503: ("ServiceUnavailable", "The service is temporarily unavailable. Try again later."),
        504: ("RequestTimeout", "The request timed out."),
    }.get(status, ("Internal_ServerError", "An unexpected error occurred on the server."))
    return BcError(status, code, message).encode(), JSON


def _sandbox(request: Request[Any, Any, Any]) -> BusinessCentralSandbox:
    sandbox: BusinessCentralSandbox = request.app.state.sandbox
    return sandbox


def mount_prefix(scope: Any) -> str:
    """Where the sandbox is mounted: ``root_path``, or what a mount stripped from ``raw_path``."""
    if scope.get("root_path"):
        return str(scope["root_path"]).rstrip("/")
    raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0].rstrip("/")
    path = str(scope.get("path", "")).rstrip("/")
    return raw[: -len(path)] if path and raw.endswith(path) and raw != path else ""


# -- Entra token endpoint ------------------------------------------------------------------------
@post("/{tenant:str}/oauth2/v2.0/token", status_code=200)
async def token(request: Request[Any, Any, Any], tenant: FromPath[str]) -> Response[bytes]:
    """Client credentials grant; form body, optional HTTP Basic client authentication."""
    form = {key: values[0] for key, values in parse_qs((await request.body()).decode()).items()}
    try:
        answer = _sandbox(request).tokens.token(tenant, form, request.headers.get("authorization", ""))
    except EntraError as error:
        return Response(
            content=msgspec.json.encode(error.body()),
            status_code=error.status,
            media_type="application/json; charset=utf-8",
        )
    return Response(
        content=msgspec.json.encode(answer),
        media_type="application/json; charset=utf-8",
        headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
    )


@get("/{tenant:str}/v2.0/.well-known/openid-configuration")
async def openid_configuration(request: Request[Any, Any, Any], tenant: FromPath[str]) -> Response[bytes]:
    """Entra's OpenID Connect discovery document for a tenant (what MSAL reads before asking for a token).

    The fields are those Entra publishes at ``login.microsoftonline.com/<tenant>/v2.0/.well-known/
    openid-configuration``, endpoints pointing at the sandbox; only the token endpoint is served.
    """
    scope = request.scope
    headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}
    root = f"{scope.get('scheme', 'http')}://{headers.get('host', 'localhost')}{mount_prefix(scope)}/{tenant}"
    document = {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": f"{root}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "tenant_region_scope": None,
    }
    return Response(content=msgspec.json.encode(document), media_type="application/json; charset=utf-8")


# -- the API ---------------------------------------------------------------------------------------
class _Call:
    """One API request: sandbox, method, parsed segments, query, base URL."""

    def __init__(self, request: Request[Any, Any, Any], tenant: str, environment: str, path: str) -> None:
        self.request, self.sandbox = request, _sandbox(request)
        self.method = request.method.upper()
        self.query = {key: values[-1] for key, values in parse_qs(request.url.query, keep_blank_values=True).items()}
        host = request.headers.get("host") or "localhost"
        self.base = f"{request.scope.get('scheme', 'http')}://{host}{mount_prefix(request.scope)}"
        self.base += f"/v2.0/{tenant}/{environment}/api/v2.0"
        self.segments: list[tuple[str, str | None]] = []
        for raw in [part for part in path.split("/") if part]:
            match = _SEGMENT.match(raw)
            if match is None:
                raise BcError(400, "BadRequest_InvalidSegment", f"The path segment '{raw}' is not valid.")
            self.segments.append((match["name"], match["key"]))

    @property
    def store(self) -> Any:
        return self.sandbox.store

    def etag(self, record: Record) -> str:
        return odata.etag(record["id"], int(record.get("_version", 1)))

    def render(self, entity: Entity, record: Record, select: list[str] | None, expand: list[str]) -> Record:
        names = select if select is not None else list(entity.fields)
        out: Record = {"@odata.etag": self.etag(record)}
        for name in names:
            out[name] = record.get(name)
        for nav in expand:
            line_entity = ENTITIES[entity.navigation[nav]]
            out[nav] = [self.render(line_entity, line, None, []) for line in record.get(nav) or []]
        return out

    def collection(self, entity: Entity, records: list[Record], context: str) -> Response[bytes]:
        odata.check_orderby(self.query.get("$orderby"))
        predicate = odata.parse_filter(self.query.get("$filter"), entity)
        select = odata.parse_select(self.query.get("$select"), entity)
        expand = odata.parse_expand(self.query.get("$expand"), entity)
        skip = odata.parse_count("$skip", self.query.get("$skip")) or 0
        top = odata.parse_count("$top", self.query.get("$top"))
        token = self.query.get("$skiptoken")
        if token is not None and not odata.GUID.match(token):
            raise BcError(400, "BadRequest", f"The skip token value '{token}' is not valid.")
        matching = [r for r in sorted(records, key=lambda r: r["id"]) if predicate(r)][skip:]
        if token is not None:
            matching = [r for r in matching if r["id"] > token.lower()]
        if top is not None:
            matching = matching[:top]
        size = odata.max_page_size(self.request.headers.get("prefer", ""), self.sandbox.page_size)
        page, more = matching[:size], len(matching) > size
        body: Record = {
            "@odata.context": f"{self.base}/$metadata#{context}",
            "value": [self.render(entity, r, select, expand) for r in page],
        }
        if more:
            params = {k: v for k, v in self.query.items() if k not in ("$skip", "$skiptoken", "$top")}
            if top is not None:
                params["$top"] = str(top - len(page))
            params["$skiptoken"] = page[-1]["id"]
            path = self.request.url.path
            body["@odata.nextLink"] = f"{self.request.url.scheme}://{self.request.url.netloc}{path}?" + urlencode(
                params, safe="$(),'/:"
            )
        headers = (
            {"Preference-Applied": f"odata.maxpagesize={size}"}
            if "maxpagesize" in self.request.headers.get("prefer", "")
            else None
        )
        return _json(body, headers=headers)

    def entity_response(self, entity: Entity, record: Record, context: str, status: int = 200) -> Response[bytes]:
        select = odata.parse_select(self.query.get("$select"), entity)
        expand = odata.parse_expand(self.query.get("$expand"), entity)
        body = {
            "@odata.context": f"{self.base}/$metadata#{context}/$entity",
            **self.render(entity, record, select, expand),
        }
        headers = {"ETag": self.etag(record)}
        return _json(body, status, headers)


@route(
    "/v2.0/{tenant:str}/{environment:str}/api/v2.0/{path:path}",
    http_method=["GET", "POST", "PATCH", "DELETE"],
    status_code=200,
)
async def api(
    request: Request[Any, Any, Any], tenant: FromPath[str], environment: FromPath[str], path: FromPath[str]
) -> Response[bytes]:
    """Every API call: ``companies[(<id>)]``, ``companies(<id>)/<set>[(<id>)][/<lines>|/Microsoft.NAV.<action>]``."""
    sandbox = _sandbox(request)
    if tenant.lower() != sandbox.tokens.tenant.lower() or environment != sandbox.environment:
        raise BcError(
            404, "BadRequest_NotFound", f"The environment '{environment}' of tenant '{tenant}' was not found."
        )
    call = _Call(request, tenant, environment, path)
    body: Record = {}
    if call.method in ("POST", "PATCH"):
        raw = await request.body()
        try:
            body = msgspec.json.decode(raw) if raw else {}
        except msgspec.DecodeError:
            raise BcError(400, "BadRequest", "The request body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise BcError(400, "BadRequest", "The request body must be a JSON object.")
    return _dispatch(call, body)


@get(["/v2.0/{tenant:str}/{environment:str}/api/v2.0", "/v2.0/{tenant:str}/{environment:str}/api/v2.0/"])
async def service_document(
    request: Request[Any, Any, Any], tenant: FromPath[str], environment: FromPath[str]
) -> Response[bytes]:
    """The OData service document: the entity sets at the API root."""
    answer: Response[bytes] = await api.fn(request, tenant, environment, "")
    return answer


def _method_not_allowed(call: _Call) -> BcError:
    return BcError(405, "BadRequest_MethodNotAllowed", f"'{call.method}' requests for this resource are not allowed.")


def _dispatch(call: _Call, body: Record) -> Response[bytes]:
    segments = call.segments
    if not segments:
        if call.method != "GET":
            raise _method_not_allowed(call)
        value = [{"name": name, "kind": "EntitySet", "url": name} for name in ["companies", *TOP_LEVEL]]
        return _json({"@odata.context": f"{call.base}/$metadata", "value": value})
    name, company_key = segments[0]
    if name != "companies":
        raise not_found(name)
    if company_key is None:
        if len(segments) > 1 or call.method != "GET":
            raise _method_not_allowed(call) if len(segments) == 1 else not_found(segments[1][0])
        return call.collection(COMPANY, list(call.store.companies.values()), "companies")
    company_id = company_key.lower()
    company = call.store.companies.get(company_id)
    if company is None:
        raise not_found("companies")
    if len(segments) == 1:
        if call.method != "GET":
            raise _method_not_allowed(call)
        return call.entity_response(COMPANY, company, "companies")
    return _company_resource(call, company_id, segments[1:], body)


def _company_resource(
    call: _Call, company_id: str, segments: list[tuple[str, str | None]], body: Record
) -> Response[bytes]:
    (set_name, key), rest = segments[0], segments[1:]
    entity = ENTITIES.get(set_name)
    if entity is None or set_name not in TOP_LEVEL:
        raise not_found(set_name)
    context = f"companies({company_id})/{set_name}"
    store = call.store
    if key is None:
        if rest:
            raise not_found(rest[0][0])
        if call.method == "GET":
            return call.collection(entity, store.all(company_id, set_name), context)
        if call.method == "POST":
            record = writes.create(store, company_id, set_name, body)
            response = call.entity_response(entity, record, context, 201)
            response.headers["Location"] = f"{call.base}/companies({company_id})/{set_name}({record['id']})"
            return response
        raise _method_not_allowed(call)
    if set_name == "journals" and rest == [(f"{ACTION_PREFIX}post", None)] and call.method == "POST":
        payments = store.company(company_id)["customerPaymentJournals"].get(key.lower())
        if payments is not None and key.lower() not in store.company(company_id)["journals"]:
            return _post_payment_batch(call, company_id, payments)
    record = store.get(company_id, set_name, key)
    if not rest:
        if call.method == "GET":
            return call.entity_response(entity, record, context)
        if not entity.writable:
            raise _method_not_allowed(call)
        if call.method == "PATCH":
            store.check_etag(record, call.request.headers.get("if-match"), call.etag)
            return call.entity_response(entity, writes.update(store, company_id, set_name, record, body), context)
        if call.method == "DELETE":
            store.check_etag(record, call.request.headers.get("if-match"), call.etag)
            writes.delete(store, company_id, set_name, record)
            return Response(content=b"", status_code=204)
        raise _method_not_allowed(call)
    (nav, line_key), rest = rest[0], rest[1:]
    if nav.startswith(ACTION_PREFIX) and line_key is None and not rest:
        if call.method != "POST":
            raise _method_not_allowed(call)
        posting.run_action(store, company_id, set_name, record, nav.removeprefix(ACTION_PREFIX))
        return Response(content=b"", status_code=204)
    if nav not in entity.navigation or rest:
        raise not_found(nav)
    line_entity = ENTITIES[entity.navigation[nav]]
    line_context = f"{context}({record['id']})/{nav}"
    if line_key is None:
        if call.method == "GET":
            return call.collection(line_entity, record[nav], line_context)
        if call.method == "POST":
            added = writes.add_line(store, company_id, set_name, record, body)
            return call.entity_response(line_entity, added, line_context, 201)
        raise _method_not_allowed(call)
    line: Record | None = next((item for item in record[nav] if item["id"] == line_key.lower()), None)
    if line is None:
        raise not_found(nav)
    if call.method == "GET":
        return call.entity_response(line_entity, line, line_context)
    store.check_etag(line, call.request.headers.get("if-match"), call.etag)
    if call.method == "PATCH":
        updated = writes.update_line(store, company_id, set_name, record, line, body)
        return call.entity_response(line_entity, updated, line_context)
    if call.method == "DELETE":
        writes.delete_line(store, set_name, record, line)
        return Response(content=b"", status_code=204)
    raise _method_not_allowed(call)


def _post_payment_batch(call: _Call, company_id: str, batch: Record) -> Response[bytes]:
    """``journals(<id>)/Microsoft.NAV.post`` where ``<id>`` is a cash-receipt (payment journal) batch.

    The journals page finds a batch by its id alone, whatever its template, so BC should post a
    payment batch this way: **unverified** against a live tenant. ``post_payment_batches`` turns
    it off, so a test can see the connector meet a vendor that refuses.
    """
    if not _sandbox(call.request).post_payment_batches:
        raise not_found("journals")
    posting.post_payment_batch(call.store, company_id, batch)
    return Response(content=b"", status_code=204)


# -- control API (faults and reset: sandboxes.shared_app) -------------------------------------------
@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Records of each kind (all companies together), writes applied, requests, faults, throttling."""
    sandbox = _sandbox(request)
    store = sandbox.store
    with store.lock:
        records: dict[str, int] = {"companies": len(store.companies)}
        for tables in store.data.values():
            for name, table in tables.items():
                records[name] = records.get(name, 0) + len(table)
                for nav in ENTITIES[name].navigation:
                    lines = sum(len(r.get(nav) or []) for r in table.values())
                    records[nav] = records.get(nav, 0) + lines
        extra = {"records": records, "writes": dict(store.writes), "throttled": sandbox.throttled,
                 "tokens_issued": sandbox.tokens.issued}  # fmt: skip
    return Response(content=msgspec.json.encode({**sandbox.faults.counts(), **extra}), media_type="application/json")


@post("/_control/expire-tokens", status_code=204)
async def expire_tokens(request: Request[Any, Any, Any]) -> None:
    """Invalidate every issued token (the next API call answers 401)."""
    _sandbox(request).tokens.expire_all()


def _bc_error(_: Request[Any, Any, Any], error: BcError) -> Response[bytes]:
    return _json(error.body(), error.status, error.headers or None)


def _http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if error.status_code == 404:
        return _bc_error(request, BcError(404, "BadRequest_NotFound", "The requested resource was not found."))
    if error.status_code == 405:
        return _bc_error(request, BcError(405, "BadRequest_MethodNotAllowed", "The HTTP method is not allowed."))
    return _bc_error(request, BcError(error.status_code, "BadRequest", str(error.detail)))


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    return _bc_error(
        request, BcError(500, "Internal_ServerError", f"An unexpected error occurred: {type(error).__name__}")
    )


@get("/v2.0/{tenant:str}/{environment:str}/ODataV4/{path:path}")
async def web_service(
    request: Request[Any, Any, Any], tenant: FromPath[str], environment: FromPath[str], path: FromPath[str]
) -> Response[bytes]:
    """A published OData V4 web service: ``Company('<name>')/ItemCard``, the *Item Card* page (page 30)
    published under the service name ``ItemCard``, read only.

    GUESSED: BC serves pages published on the *Web Services* page at ``/ODataV4/Company('<name>')/<service>``
    with page fields named after their captions (spaces as ``_``); which pages a tenant publishes, and
    under which names, is the tenant's setup. Only ``No``, ``Description`` and
    ``Default_Deferral_Template_Code`` are served, which is what API v2.0's ``items`` page does not show.
    """
    sandbox = _sandbox(request)
    if tenant.lower() != sandbox.tokens.tenant.lower() or environment != sandbox.environment:
        raise BcError(
            404, "BadRequest_NotFound", f"The environment '{environment}' of tenant '{tenant}' was not found."
        )
    match = re.fullmatch(r"Company\('(?P<company>[^']*)'\)/(?P<service>\w+)/?", unquote(path.strip("/")))
    if match is None or match["service"] != "ItemCard":
        raise not_found(path.split("/")[-1] or "ODataV4")
    company = next((c for c in sandbox.store.companies.values() if c["name"] == match["company"]), None)
    if company is None:
        raise BcError(400, "Internal_CompanyNotFound", f"Cannot process the request because the company "
                                                       f"'{match['company']}' does not exist.")  # fmt: skip
    items = sorted(sandbox.store.all(str(company["id"]).lower(), "items"), key=lambda i: i["number"])
    value = [
        {
            "No": i["number"],
            "Description": i["displayName"],
            "Default_Deferral_Template_Code": i.get("_defaultDeferralTemplateCode") or "",
        }
        for i in items
    ]
    context = f"{request.url.scheme}://{request.url.netloc}/ODataV4/$metadata#ItemCard"
    return _json({"@odata.context": context, "value": value})


ROUTE_HANDLERS = [token, openid_configuration, api, service_document, web_service, counts, expire_tokens]
EXCEPTION_HANDLERS: dict[Any, Any] = {BcError: _bc_error, HTTPException: _http_error, Exception: _unexpected}

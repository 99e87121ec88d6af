"""The SAP S/4HANA Cloud sandbox as an ASGI app: auth, CSRF, faults, the OData V2 and SOAP endpoints."""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
from pathlib import Path
from typing import Any, cast

import msgspec
from litestar import Request, Response, get, post, route
from litestar.params import FromPath

from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.sap_s4hana import soap
from sandboxes.sap_s4hana.odata import SapError
from sandboxes.sap_s4hana.seed import seed as seed_tenant
from sandboxes.sap_s4hana.service import ODataRequest, handle
from sandboxes.sap_s4hana.store import Store
from sandboxes.shared_app import SeedOnce, header, new_admin_token, sandbox_litestar

JSON = "application/json"
TOKEN_PATH = "/sap/bc/sec/oauth2/token"
SESSION_COOKIE = "SAP_SESSIONID_S4C_100"
DEFAULT_PAGE_SIZE = 100
"""Server-driven page size of collections (``__next`` beyond it)."""
TOKEN_TTL_SECONDS = 43199
WRITES = ("POST", "PUT", "PATCH", "MERGE", "DELETE")


def render_fault(status: int) -> tuple[bytes, str]:
    """Body of an injected error, in SAP Gateway's format."""
    code, message = {
        401: ("/IWFND/CM_CONSUMER/101", "Unauthorized"),
        403: ("/IWFND/CM_CONSUMER/102", "Forbidden"),
        404: ("/IWBEP/CM_MGW_RT/020", "Resource not found"),
        429: ("/IWFND/CM_CONSUMER/429", "Too many requests"),
        503: ("/IWFND/CM_BEC/026", "Service temporarily unavailable"),
        504: ("/IWFND/CM_BEC/076", "Timeout occurred in the backend"),
    }.get(status, ("/IWFND/CM_BEC/026", "Internal server error in the backend system"))
    return SapError(status, code, message).encode(), JSON


class SapS4HanaSandbox:
    """The simulator: call it as an ASGI app; ``store`` and ``faults`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API."""

    def __init__(self, state_dir: Path | None, seed: int, *, user: str, password: str, client_id: str,
                 client_secret: str, page_size: int = DEFAULT_PAGE_SIZE) -> None:  # fmt: skip
        self._state_dir, self._seed = state_dir, seed
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self.user, self.password, self.client_id, self.client_secret = user, password, client_id, client_secret
        self.page_size = page_size
        self.tokens: set[str] = set()
        self.sessions: dict[str, str] = {}
        """Session id (cookie) → its CSRF token."""
        self.tokens_issued = 0
        self.faults = FaultInjector(render_fault, seed=seed)
        self.app = sandbox_litestar(self, [token, counts, odata, soap_post, expire_tokens], {SapError: _sap_error})
        self._asgi: ASGIApp = self.faults.wrap(self._guard(cast(ASGIApp, self.app)))

    @property
    def store(self) -> Store:
        """The tenant's data, loaded or seeded on first use."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir, lambda store: _seed(store, self._seed))
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Re-seed data; drop faults, counters and CSRF sessions (tokens stay valid)."""
        self.store.reset()
        self.faults.reset()
        self.sessions.clear()

    def authenticated(self, authorization: str) -> bool:
        """Basic (communication user) or Bearer (an issued OAuth token)."""
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "bearer":
            return credential.strip() in self.tokens
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credential.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user, self.user) and hmac.compare_digest(
                password.encode(), self.password.encode()
            )
        return False

    def _guard(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or not path.startswith("/sap/") or path == TOKEN_PATH:
                await app(scope, receive, send)
                return
            if not self.authenticated(header(scope, "authorization")):
                body = b"<html><head><title>Logon Error Message</title></head><body>401 Unauthorized</body></html>"
                challenge = [(b"www-authenticate", b'Basic realm="SAP NetWeaver Application Server [S4C/100]"')]
                return await _send(send, 401, body, "text/html", challenge)
            await app(scope, receive, send)

        return guarded

    def csrf(self, scope_headers: dict[str, str], method: str, *, https: bool) -> tuple[dict[str, str], str | None]:
        """(headers to add, refusal) for a request's CSRF handling (the cookie is ``secure`` over https)."""
        cookie = _cookie(scope_headers.get("cookie", ""), SESSION_COOKIE)
        if method in ("GET", "HEAD") and scope_headers.get("x-csrf-token", "").lower() == "fetch":
            if cookie not in self.sessions:
                cookie = secrets.token_urlsafe(24)
                self.sessions[cookie] = secrets.token_urlsafe(18) + "=="
            secure = " secure;" if https else ""
            cookie_header = f"{SESSION_COOKIE}={cookie}; path=/;{secure} HttpOnly"
            return {"x-csrf-token": self.sessions[cookie], "set-cookie": cookie_header}, None
        if method in WRITES:
            sent = scope_headers.get("x-csrf-token", "")
            if not cookie or cookie not in self.sessions or not hmac.compare_digest(sent, self.sessions[cookie]):
                return {"x-csrf-token": "Required"}, "CSRF token validation failed"
        return {}, None


_seed = SeedOnce(seed_tenant)
"""Seeds the store (once per seed value and process; later stores restore that snapshot)."""


def _cookie(header: str, name: str) -> str:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


async def _send(send: Send, status: int, body: bytes, media: str, headers: list[tuple[bytes, bytes]]) -> None:
    start = [(b"content-type", media.encode()), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def _sandbox(request: Request[Any, Any, Any]) -> SapS4HanaSandbox:
    sandbox: SapS4HanaSandbox = request.app.state.sandbox
    return sandbox


def _sap_error(_: Request[Any, Any, Any], error: SapError) -> Response[bytes]:
    return Response(error.encode(), status_code=error.status, media_type=JSON, headers=error.headers or None)


def mount_prefix(scope: Any) -> str:
    """Where the sandbox is mounted: ``root_path``, or what a mount stripped from ``raw_path``."""
    if scope.get("root_path"):
        return str(scope["root_path"]).rstrip("/")
    raw = (scope.get("raw_path") or b"").decode("latin-1").split("?", 1)[0].rstrip("/")
    path = str(scope.get("path", "")).rstrip("/")
    return raw[: -len(path)] if path and raw.endswith(path) and raw != path else ""


@post(TOKEN_PATH, status_code=200)
async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
    """OAuth 2.0 client credentials of a communication arrangement (client id/secret by Basic or form)."""
    sandbox = _sandbox(request)
    form = await request.form()
    client_id, secret = str(form.get("client_id") or ""), str(form.get("client_secret") or "")
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            client_id, _, secret = base64.b64decode(credential).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            client_id = secret = ""
    if form.get("grant_type") != "client_credentials":
        error = {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}
        return Response(msgspec.json.encode(error), status_code=400, media_type=JSON)
    if not (hmac.compare_digest(client_id, sandbox.client_id) and hmac.compare_digest(secret, sandbox.client_secret)):
        error = {"error": "invalid_client", "error_description": "Client authentication failed"}
        return Response(msgspec.json.encode(error), status_code=401, media_type=JSON)
    access = secrets.token_urlsafe(32)
    sandbox.tokens.add(access)
    sandbox.tokens_issued += 1
    answer = {"access_token": access, "token_type": "bearer", "expires_in": TOKEN_TTL_SECONDS, "scope": "",
              "jti": secrets.token_hex(16)}  # fmt: skip
    return Response(msgspec.json.encode(answer), media_type=JSON, headers={"Cache-Control": "no-store"})


@route("/sap/opu/odata/sap/{path:path}", http_method=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
async def odata(request: Request[Any, Any, Any], path: FromPath[str]) -> Response[bytes]:
    """Every OData V2 call: CSRF first, then the service."""
    sandbox = _sandbox(request)
    method = request.method.upper()
    override = request.headers.get("x-http-method", "").upper()
    if method == "POST" and override in ("MERGE", "PATCH", "PUT", "DELETE"):
        method = override
    headers = {k.lower(): v for k, v in request.headers.items()}
    extra, refusal = sandbox.csrf(headers, method, https=request.url.scheme == "https")
    if refusal:
        return Response(refusal.encode(), status_code=403, media_type="text/plain", headers=extra)
    base = f"{request.url.scheme}://{request.url.netloc}{mount_prefix(request.scope)}/sap/opu/odata/sap"
    call = ODataRequest(method, path.lstrip("/"), dict(request.query_params), await request.body(), headers, base)
    status, body, media, answer_headers = handle(sandbox.store, call, sandbox.page_size)
    return Response(body, status_code=status, media_type=media, headers={**answer_headers, **extra})


@post(soap.PATH, status_code=200)
async def soap_post(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Journal Entry - Post (synchronous SOAP, ``JournalEntryCreateRequestConfirmation_In``)."""
    status, body = soap.handle(_sandbox(request).store, await request.body())
    return Response(body, status_code=status, media_type="text/xml; charset=utf-8")


@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Records by entity set, writes applied, requests and faults."""
    sandbox = _sandbox(request)
    store = sandbox.store
    with store.lock:
        records = {name: len(table) for name, table in store.tables.items()}
        extra = {"records": records, "writes": dict(store.writes), "tokens_issued": sandbox.tokens_issued}
    return Response(msgspec.json.encode({**sandbox.faults.counts(), **extra}), media_type=JSON)


@post("/_control/expire-tokens", status_code=204)
async def expire_tokens(request: Request[Any, Any, Any]) -> None:
    """Invalidate every issued OAuth token and CSRF session."""
    _sandbox(request).tokens.clear()
    _sandbox(request).sessions.clear()


def create_sap_s4hana_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    *,
    user: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    admin_token: str | None = None,
) -> SapS4HanaSandbox:
    """An S/4HANA Cloud tenant with one communication user and one OAuth client (random when omitted)."""
    sandbox = SapS4HanaSandbox(
        state_dir, seed,
        user=user or f"STRATA_COMM_{secrets.token_hex(4).upper()}", password=password or secrets.token_urlsafe(24),
        client_id=client_id or f"sb-{secrets.token_hex(8)}", client_secret=client_secret or secrets.token_urlsafe(24),
        page_size=page_size,
    )  # fmt: skip
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

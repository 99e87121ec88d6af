"""The Stripe sandbox as an ASGI app: API key, ``Stripe-Version``, rate limit, idempotency, routes.

Layers, outermost first: faults (:mod:`sandboxes.faults`, so a ``lost_response`` fault drops
an answer whose result the idempotency layer already stored) → request id, API key and
version checks → rate limit → ``Idempotency-Key`` → the route. ``/_control/*`` goes to the
sandbox's Litestar app (faults, counts, reset, events, webhook endpoint).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import secrets
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, cast

import httpx
import msgspec
from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.shared_app import new_admin_token, sandbox_litestar
from sandboxes.stripe.account import API_VERSION, CURRENT_REQUEST, Account
from sandboxes.stripe.errors import StripeError, render_fault
from sandboxes.stripe.form import FormError, decode_form
from sandboxes.stripe.lists import expanded
from sandboxes.stripe.payments import charge_invoice
from sandboxes.stripe.routes import build_routes
from sandboxes.stripe.seed import seed as seed_account
from sandboxes.stripe.store import Store
from sandboxes.stripe.webhook_endpoints import check_version
from sandboxes.stripe.webhooks import WebhookSender

_VERSION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
MAX_KEY_LENGTH = 255
STORED_STATUSES = frozenset({200, 402, 500})
"""Results kept for an Idempotency-Key: the endpoint began executing (see the package docstring)."""


class StripeSandbox:
    """The simulator: call it as an ASGI app; ``store``, ``faults``, ``webhooks`` are reachable from tests."""

    def __init__(
        self,
        state_dir: Path | None,
        *,
        secret_key: str = "",
        seed: int = 7,
        webhooks: WebhookSender | None = None,
        rate_limit_per_second: int | None = None,
    ) -> None:
        self.secret_key = secret_key or f"sk_test_{secrets.token_urlsafe(24)}"
        self.admin_token = ""
        """The token of the ``/_control`` API (set by :func:`create_stripe_sandbox`; empty: refused)."""
        self.rate_limit_per_second = rate_limit_per_second
        self.write_latency_seconds = 0.0
        """Pause between claiming an idempotency key and executing (makes concurrent-key 409s observable)."""
        self.webhooks = webhooks or WebhookSender()
        self.store = Store(state_dir, lambda store: seed_account(store, seed))
        self.webhooks.account_version = API_VERSION
        self.account = Account(self.store, self.webhooks.submit, webhook_endpoint=self.webhooks.endpoint)
        self.faults = FaultInjector(render_fault, seed=seed)
        self._routes = build_routes(lambda invoice, method: charge_invoice(self.account, invoice, method))
        self._in_flight: set[str] = set()
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        self.app = sandbox_litestar(self, CONTROL_ROUTES, {HTTPException: _control_error})
        self._api: ASGIApp = self._with_stripe_headers(self.faults.wrap(self._serve))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path", "").startswith("/v1"):
            await self._api(scope, receive, send)
        else:
            await cast(ASGIApp, self.app)(scope, receive, send)

    def reset(self) -> None:
        """Re-seed the account; drop faults, counters, in-flight keys and delivery records."""
        self.store.reset()
        self.faults.reset()
        self.webhooks.attempts.clear()

    def counts(self) -> dict[str, Any]:
        """Objects per kind, writes applied per kind, and the fault injector's counters."""
        with self._lock:
            objects = {kind: len(items) for kind, items in self.store.objects.items()}
            objects["billing.meter_event"] = len(self.store.meter_usage)
            return {"objects": objects, "writes_applied": dict(self.store.writes), **self.faults.counts()}

    # -- the API --------------------------------------------------------------------------------
    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        request_id = "req_" + secrets.token_urlsafe(10).replace("-", "x").replace("_", "y")
        method, path = scope["method"], scope["path"]
        extra: list[tuple[str, str]] = [("request-id", request_id)]
        version = headers.get("stripe-version") or API_VERSION
        try:
            self._authenticate(headers.get("authorization", ""))
            if not _VERSION.match(version):
                raise StripeError(400, f"Invalid Stripe API version: {version}", param="stripe-version")
            extra.append(("stripe-version", version))
            self._check_rate()
            params = self._params(scope, headers, body)
        except StripeError as error:
            return await _respond(send, error.status, error.body(), extra, error.should_retry)
        key = headers.get("idempotency-key") if method == "POST" else None
        token = CURRENT_REQUEST.set({"id": request_id, "idempotency_key": key, "version": version})
        try:
            if key is None:
                status, payload, retry = await self._execute(method, path, params)
                return await _respond(send, status, payload, extra, retry)
            await self._idempotent(send, key, method, path, params, request_id, extra)
        finally:
            CURRENT_REQUEST.reset(token)

    async def _idempotent(
        self,
        send: Send,
        key: str,
        method: str,
        path: str,
        params: dict[str, Any],
        request_id: str,
        extra: list[tuple[str, str]],
    ) -> None:
        extra = [*extra, ("idempotency-key", key)]
        if len(key) > MAX_KEY_LENGTH:
            error = StripeError(
                400, f"Idempotency-Key must be at most {MAX_KEY_LENGTH} characters.", type="idempotency_error"
            )
            return await _respond(send, 400, error.body(), extra)
        fingerprint = hashlib.sha256(msgspec.json.encode([method, path, params], order="sorted")).hexdigest()
        with self._lock:
            self.store.prune_idempotency()
            stored = self.store.idempotency.get(key)
            if stored is None and key in self._in_flight:
                error = StripeError(
                    409,
                    "There is currently another in-progress request using this Idempotency-Key; retry later.",
                    code="idempotency_key_in_use",
                    should_retry=True,
                )
                return await _respond(send, 409, error.body(), extra, True)
            if stored is None:
                self._in_flight.add(key)
        if stored is not None:
            if stored["fingerprint"] != fingerprint:
                message = (
                    "Keys for idempotent requests can only be used with the same parameters they were first used "
                    f"with. Try using a key other than '{key}' if you meant to execute a different request."
                )
                error = StripeError(400, message, type="idempotency_error")
                return await _respond(send, 400, error.body(), extra)
            replay = [*extra, ("idempotent-replayed", "true"), ("original-request", stored["request_id"])]
            return await _respond(send, stored["status"], stored["body"], replay, stored.get("should_retry"))
        try:
            if self.write_latency_seconds:
                await asyncio.sleep(self.write_latency_seconds)
            status, payload, retry = await self._execute(method, path, params)
            if status in STORED_STATUSES:
                with self._lock:
                    self.store.idempotency[key] = {
                        "fingerprint": fingerprint,
                        "status": status,
                        "body": payload,
                        "created": time.time(),
                        "request_id": request_id,
                        "should_retry": False if status >= 500 else retry,
                    }
                    self.store.save()
        finally:
            with self._lock:
                self._in_flight.discard(key)
        await _respond(send, status, payload, extra, False if status >= 500 else retry)

    async def _execute(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any, bool | None]:
        allowed = False
        for route_method, pattern, handler in self._routes:
            match = pattern.match(path)
            if match is None:
                continue
            allowed = True
            if route_method != method:
                continue
            try:
                with self.store.batch():
                    result = handler(self.account, match.groups(), params)
                    return 200, expanded(self.store, result, params), None
            except StripeError as error:
                return error.status, error.body(), error.should_retry
            except Exception as error:
                body = StripeError(500, f"An unknown error occurred ({type(error).__name__})", type="api_error").body()
                return 500, body, False
        message = f"Unrecognized request URL ({method}: {path})."
        if allowed:
            message = f"Unrecognized request URL ({method}: {path}). The method is not allowed for this URL."
        return 404, StripeError(404, message).body(), None

    def _authenticate(self, authorization: str) -> None:
        scheme, _, credential = authorization.partition(" ")
        key = credential.strip()
        if scheme.lower() == "basic":
            try:
                key = base64.b64decode(key).decode().split(":", 1)[0]
            except (binascii.Error, UnicodeDecodeError):
                key = ""
        elif scheme.lower() != "bearer":
            key = ""
        if not key:
            message = (
                "You did not provide an API key. You need to provide your API key in the Authorization header, "
                "using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
            )
            raise StripeError(401, message)
        if not secrets.compare_digest(key, self.secret_key):
            raise StripeError(401, f"Invalid API Key provided: {key[:8]}{'*' * 12}{key[-4:]}", code="api_key_invalid")

    def _check_rate(self) -> None:
        if not self.rate_limit_per_second:
            return
        now = time.monotonic()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.rate_limit_per_second:
                raise StripeError(
                    429,
                    "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                    code="rate_limit",
                    should_retry=True,
                )
            self._recent.append(now)

    @staticmethod
    def _params(scope: Scope, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            params = decode_form(query)
            if body:
                content_type = headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type != "application/x-www-form-urlencoded":
                    raise StripeError(
                        400,
                        "Invalid request: the body must be application/x-www-form-urlencoded "
                        f"(got {content_type or 'no Content-Type'}).",
                    )
                params.update(decode_form(body.decode()))
        except FormError as error:
            raise StripeError(400, str(error), code="parameter_unknown", param=error.param) from None
        except UnicodeDecodeError:
            raise StripeError(400, "Invalid request: the body is not UTF-8.") from None
        return params

    def _with_stripe_headers(self, app: ASGIApp) -> ASGIApp:
        """Injected faults carry what Stripe's own errors carry: Stripe-Should-Retry and a request id."""

        async def decorated(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_with(message: Any) -> None:
                if message["type"] == "http.response.start":
                    names = {name.lower() for name, _ in message.get("headers", [])}
                    extra = []
                    if b"request-id" not in names:
                        extra.append((b"request-id", b"req_" + secrets.token_hex(7).encode()))
                    if message["status"] in (429, 500, 502, 503, 504) and b"stripe-should-retry" not in names:
                        extra.append((b"stripe-should-retry", b"true"))
                    message["headers"] = [*message.get("headers", []), *extra]
                await send(message)

            await app(scope, receive, send_with)

        return decorated


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, payload: Any, headers: list[tuple[str, str]], should_retry: bool | None = None
) -> None:
    body = msgspec.json.encode(payload)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.encode(), value.encode()) for name, value in headers]
    if should_retry is not None:
        raw.append((b"stripe-should-retry", b"true" if should_retry else b"false"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# -- control routes ----------------------------------------------------------------------------
def _sandbox(request: Request[Any, Any, Any]) -> StripeSandbox:
    sandbox: StripeSandbox = request.app.state.sandbox
    return sandbox


def _json(content: Any, status: int = 200) -> Response[bytes]:
    return Response(content=msgspec.json.encode(content), status_code=status, media_type="application/json")


@get("/_control/counts")
async def control_counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Objects and applied writes per kind, requests and faults."""
    return _json(_sandbox(request).counts())


@get("/_control/events")
async def control_events(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Every event emitted, newest first, with its webhook delivery attempts."""
    sandbox = _sandbox(request)
    events = sandbox.store.newest_first("event")
    return _json(
        [
            {"id": e["id"], "type": e["type"], "created": e["created"], **sandbox.webhooks.status(e["id"])}
            for e in events
        ]
    )


@post("/_control/events/{event_id:str}/redeliver", status_code=202)
async def control_redeliver(request: Request[Any, Any, Any], event_id: FromPath[str]) -> Response[bytes]:
    """Send an emitted event to the webhook endpoint again (as the Dashboard's "Resend")."""
    sandbox = _sandbox(request)
    event = sandbox.store.objects["event"].get(event_id)
    if event is None:
        return _json({"error": f"no event {event_id}"}, 404)
    if not sandbox.webhooks.wants(event):
        return _json({"error": "no webhook endpoint configured for this event type"}, 409)
    sandbox.webhooks.submit(event)
    return _json({"id": event_id, "scheduled": True}, 202)


class _Endpoint(msgspec.Struct, forbid_unknown_fields=True):
    url: str
    secret: str
    api_version: str | msgspec.UnsetType | None = msgspec.UNSET
    """The version events are rendered in (``null``: the account's default); unset keeps the current one."""


@post("/_control/webhook_endpoint", status_code=200)
async def control_endpoint(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Point webhook deliveries at ``{"url", "secret", "api_version"?}``; answers the ``webhook_endpoint``."""
    try:
        endpoint = msgspec.json.decode(await request.body(), type=_Endpoint)
        if endpoint.api_version is not msgspec.UNSET:
            check_version(endpoint.api_version)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return _json({"error": str(error)}, 400)
    except StripeError as error:
        return _json(error.body(), 400)
    webhooks = _sandbox(request).webhooks
    webhooks.configure(endpoint.url, endpoint.secret)
    if endpoint.api_version is not msgspec.UNSET:
        webhooks.api_version = endpoint.api_version
    return _json(webhooks.endpoint() or {"url": ""})


class _SearchLag(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float = 0.0
    available: bool = True


@post("/_control/search_lag", status_code=200)
async def control_search_lag(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Set how long new customers stay out of search results, or turn Search off (``{"seconds", "available"}``)."""
    try:
        lag = msgspec.json.decode(await request.body(), type=_SearchLag)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return _json({"error": str(error)}, 400)
    account = _sandbox(request).account
    account.search_lag_seconds, account.search_available = max(0.0, lag.seconds), lag.available
    return _json({"seconds": account.search_lag_seconds, "available": account.search_available})


def _control_error(_: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    return _json({"error": {"type": "invalid_request_error", "message": str(error.detail)}}, error.status_code)


CONTROL_ROUTES = [control_counts, control_events, control_redeliver, control_endpoint, control_search_lag]


def create_stripe_sandbox(
    state_dir: Path | None = None,
    *,
    secret_key: str = "",
    seed: int = 7,
    admin_token: str | None = None,
    webhook_url: str = "",
    webhook_secret: str = "",
    webhook_transport: httpx.AsyncBaseTransport | None = None,
    webhook_backoff_seconds: float = 1.0,
    webhook_api_version: str | None = API_VERSION,
    rate_limit_per_second: int | None = None,
    search_lag_seconds: float = 0.0,
) -> StripeSandbox:
    """A seeded Stripe simulator (an ASGI app).

    Args:
        state_dir: directory for ``stripe.json``; ``None`` keeps everything in memory.
        secret_key: the API key requests must carry (``sk_test_…``; random when empty, the sandbox's ``secret_key``).
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
        seed: random seed of the ids and of the fault injector.
        webhook_url: where events are POSTed (empty: no deliveries).
        webhook_secret: the endpoint's signing secret (``whsec_…``).
        webhook_transport: an httpx transport for deliveries (e.g. an ASGI transport in tests).
        webhook_backoff_seconds: first pause between delivery attempts (doubles per attempt).
        webhook_api_version: the endpoint's API version, which its events are rendered in
            (``None``: the account's default, as for a Stripe endpoint created without one).
        rate_limit_per_second: requests per second before 429 ``rate_limit`` (``None``: unlimited;
            Stripe allows 25 in test mode, 100 live).
        search_lag_seconds: how long a new customer stays out of ``/v1/customers/search``.
    """
    sender = WebhookSender(
        webhook_url,
        webhook_secret,
        transport=webhook_transport,
        backoff_seconds=webhook_backoff_seconds,
        api_version=webhook_api_version,
    )
    sandbox = StripeSandbox(
        state_dir, secret_key=secret_key, seed=seed, webhooks=sender, rate_limit_per_second=rate_limit_per_second
    )
    sandbox.admin_token = admin_token or new_admin_token()
    sandbox.account.search_lag_seconds = search_lag_seconds
    return sandbox

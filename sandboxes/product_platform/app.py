"""The product platform sandbox as an ASGI app: request ids, faults, API key, idempotency keys."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from pathlib import Path
from typing import Any, cast

import msgspec
from litestar import Request, Response, get

from sandboxes.faults import ASGIApp, FaultInjector, Message, Receive, Scope, Send
from sandboxes.product_platform.routes import EXCEPTION_HANDLERS, JSON, ROUTE_HANDLERS, PpError, render_fault
from sandboxes.product_platform.store import Store
from sandboxes.shared_app import header, new_admin_token, sandbox_litestar

API_KEY_HEADER = "x-api-key"
IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENCY_RETENTION_SECONDS = 24 * 3600.0
MAX_KEY_LENGTH = 255


class ProductPlatformSandbox:
    """The simulator: call it as an ASGI app; ``store`` and ``faults`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (set by the factory; empty: every control call is refused)."""
    api_key: str = ""
    """The API key the factory was given (or drew)."""

    def __init__(self, state_dir: Path | None, seed: int, api_keys: frozenset[str]) -> None:
        self._state_dir, self._seed = state_dir, seed
        self.api_keys = api_keys
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._in_flight: set[str] = set()
        self.faults = FaultInjector(render_fault, seed=seed)
        self.app = sandbox_litestar(self, [*ROUTE_HANDLERS, counts], EXCEPTION_HANDLERS)
        inner = cast(ASGIApp, self.app)
        self._asgi: ASGIApp = self._request_id(self.faults.wrap(self._guard(self._idempotency(inner))))

    @property
    def store(self) -> Store:
        """The platform's data, loaded or seeded on first use (so a gateway starts without seeding)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir, self._seed)
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Re-seed accounts and entitlements, forget events and keys; drop faults and counters."""
        self.store.reset()
        self.faults.reset()

    # -- layers ----------------------------------------------------------------------------------
    def _request_id(self, app: ASGIApp) -> ASGIApp:
        """Every answer carries ``X-Request-Id: req_<hex>``; error bodies repeat it."""

        async def with_id(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            request_id = "req_" + secrets.token_hex(8)
            scope.setdefault("state", {})["pp_request_id"] = request_id

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
                await send(message)

            await app(scope, receive, send_with_id)

        return with_id

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """``X-Api-Key`` on every ``/v1`` call."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope.get("path", "").startswith("/v1/"):
                await app(scope, receive, send)
                return
            key = header(scope, API_KEY_HEADER).strip()
            if not key or key not in self.api_keys:
                error = PpError(401, "unauthenticated", "Missing or invalid API key (X-Api-Key)")
                return await _send(send, 401, error.body(_rid(scope)), [(b"www-authenticate", b"ApiKey")])
            await app(scope, receive, send)

        return guarded

    def _idempotency(self, app: ASGIApp) -> ASGIApp:
        """``Idempotency-Key`` on POST: the first answer (below 500) is replayed for the same key."""

        async def idempotent(scope: Scope, receive: Receive, send: Send) -> None:
            key = header(scope, IDEMPOTENCY_HEADER).strip() if scope["type"] == "http" else ""
            if not key or scope["method"] != "POST":
                await app(scope, receive, send)
                return
            if len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
                error = PpError(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable ASCII")
                return await _send(send, 400, error.body(_rid(scope)))
            body = await _read_body(receive)
            scoped = hashlib.sha256(f"{header(scope, API_KEY_HEADER).strip()}\n{key}".encode()).hexdigest()
            fingerprint = hashlib.sha256(scope["method"].encode() + scope["path"].encode() + b"\n" + body).hexdigest()
            store = self.store
            with store.batch():
                self._expire_keys()
                stored = store.idempotency.get(scoped)
                if stored is None and scoped in self._in_flight:
                    error = PpError(409, "idempotency_in_progress", "A request with this Idempotency-Key is running")
                    return await _send(send, 409, error.body(_rid(scope)))
                if stored is not None and stored["fingerprint"] != fingerprint:
                    error = PpError(
                        422, "idempotency_key_reused", "This Idempotency-Key was used with a different request"
                    )
                    return await _send(send, 422, error.body(_rid(scope)))
                if stored is not None:
                    store.replays += 1
                    replayed = [(b"idempotent-replayed", b"true")]
                    return await _send(send, stored["status"], stored["body"].encode(), replayed)
                self._in_flight.add(scoped)
            try:
                status, answer = await _capture(app, scope, body, send)
                if status < 500:
                    with store.batch():
                        store.idempotency[scoped] = {
                            "fingerprint": fingerprint,
                            "status": status,
                            "body": answer.decode(),
                            "at": time.time(),
                        }
            finally:
                self._in_flight.discard(scoped)

        return idempotent

    def _expire_keys(self) -> None:
        horizon = time.time() - IDEMPOTENCY_RETENTION_SECONDS
        table = self.store.idempotency
        for key in [k for k, v in table.items() if v["at"] < horizon]:
            del table[key]


@get("/_control/counts")
async def counts(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Records of each kind, writes applied, replays, and the fault counters."""
    sandbox: ProductPlatformSandbox = request.app.state.sandbox
    body = {**sandbox.store.counts(), "faults": sandbox.faults.counts()}
    return Response(msgspec.json.encode(body), media_type=JSON)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _capture(app: ASGIApp, scope: Scope, body: bytes, send: Send) -> tuple[int, bytes]:
    """Run ``app`` on ``body``, passing its answer on to ``send`` and keeping a copy."""
    status, chunks = 500, []
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def keep(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    await app(scope, replay, keep)
    return status, b"".join(chunks)


def _rid(scope: Scope) -> str:
    return str(scope.get("state", {}).get("pp_request_id", ""))


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    start = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def create_product_platform_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    api_key: str | None = None,
    *,
    api_keys: tuple[str, ...] = (),
    admin_token: str | None = None,
) -> ProductPlatformSandbox:
    """A seeded product platform simulator (an ASGI app).

    Args:
        state_dir: directory for ``product_platform.json``; ``None`` keeps everything in memory.
        seed: the Salesforce sandbox's seed (7 by default), so accounts are the CRM's companies.
        api_key: the API key ``X-Api-Key`` must carry (random when omitted; the sandbox's ``api_key``).
        api_keys: further accepted keys (idempotency keys are scoped per API key).
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
    """
    api_key = api_key or f"pp_test_{secrets.token_urlsafe(24)}"
    sandbox = ProductPlatformSandbox(state_dir, seed, frozenset((api_key, *api_keys)))
    sandbox.api_key = api_key
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

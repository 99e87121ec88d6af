"""The AvaTax sandbox as an ASGI app: Basic auth (account id + license key), faults, the routes."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, cast

from sandboxes.avalara.errors import JSON, AvaError, render_fault
from sandboxes.avalara.routes import API, EXCEPTION_HANDLERS, ROUTE_HANDLERS
from sandboxes.avalara.seed import ACCOUNT_ID
from sandboxes.avalara.store import Store
from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.shared_app import new_admin_token, sandbox_litestar

PING = API + "/utilities/ping"
CLIENT_HEADER = b"x-avalara-client"


class AvalaraSandbox:
    """The simulator: call it as an ASGI app; ``store``, ``faults`` and ``clients_seen`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (set by the factory; empty: every control call is refused)."""

    def __init__(self, state_dir: Path | None, account_id: str, license_key: str, seed: int = 7) -> None:
        self.account_id, self.license_key = account_id, license_key
        self._state_dir = state_dir
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self.faults = FaultInjector(render_fault, seed=seed)
        self.clients_seen: Counter[str] = Counter()
        """``X-Avalara-Client`` values of authenticated API calls."""
        self.app = sandbox_litestar(self, ROUTE_HANDLERS, EXCEPTION_HANDLERS)
        self._asgi: ASGIApp = _with_correlation_id(self.faults.wrap(self._guard(cast(ASGIApp, self.app))))

    @property
    def store(self) -> Store:
        """The account's companies and documents, loaded or seeded on first use."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir)
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Forget every document and write counter; drop faults and request counters."""
        self.store.reset()
        self.faults.reset()
        self.clients_seen.clear()

    def authenticated(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header carries this account's id and license key."""
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(credential.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.account_id.encode()) and hmac.compare_digest(
            password.encode(), self.license_key.encode()
        )

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """Basic auth on every ``/api/v2`` call but ping."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if not path.startswith(API + "/") or path.rstrip("/") == PING:
                await app(scope, receive, send)
                return
            headers = dict(scope.get("headers", []))
            if not self.authenticated(headers.get(b"authorization", b"").decode("latin-1")):
                error = AvaError(
                    401,
                    "AuthenticationException",
                    "Authentication failed.",
                    target="HttpRequestHeaders",
                    description="Missing authentication or unable to authenticate the user or the account.",
                )
                body = error.encode()
                start = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode())]
                await send({"type": "http.response.start", "status": 401, "headers": start})
                await send({"type": "http.response.body", "body": body})
                return
            client = headers.get(CLIENT_HEADER)
            if client:
                self.clients_seen[client.decode("latin-1")] += 1
            await app(scope, receive, send)

        return guarded


def _with_correlation_id(app: ASGIApp) -> ASGIApp:
    """Every answer carries ``X-Correlation-Id``, as AvaTax's do (the official SDK reads it from each one)."""

    async def correlated(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-correlation-id", str(uuid.uuid4()).encode())]
            await send(message)

        await app(scope, receive, send_with)

    return correlated


def create_avalara_sandbox(
    state_dir: Path | None = None,
    account_id: str = ACCOUNT_ID,
    license_key: str | None = None,
    seed: int = 7,
    *,
    admin_token: str | None = None,
) -> AvalaraSandbox:
    """A seeded AvaTax simulator (an ASGI app).

    Args:
        state_dir: directory for ``avalara.json``; ``None`` keeps everything in memory.
        account_id: the account id Basic auth accepts (the user name).
        license_key: the license key Basic auth accepts (the password; random when omitted).
        seed: seed of the fault injector's dice.
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
    """
    sandbox = AvalaraSandbox(state_dir, account_id, license_key or secrets.token_hex(8).upper(), seed)
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

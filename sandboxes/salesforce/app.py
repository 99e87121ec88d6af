"""The Salesforce sandbox as an ASGI app: guards (bearer, API limit, version), faults, limit header."""

from __future__ import annotations

import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any, cast

import msgspec

from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.salesforce.query import QueryEngine
from sandboxes.salesforce.routes import (
    EXCEPTION_HANDLERS,
    JSON,
    ORG_ID,
    ROUTE_HANDLERS,
    SUPPORTED_VERSIONS,
    render_fault,
)
from sandboxes.salesforce.schema import SfError
from sandboxes.salesforce.seed import seed as seed_org
from sandboxes.salesforce.store import Store
from sandboxes.shared_app import new_admin_token, sandbox_litestar

DEFAULT_API_LIMIT = 100_000
"""Daily API request allocation reported in ``Sforce-Limit-Info`` (a developer org has 15,000)."""
DEFAULT_TOKEN_TTL_SECONDS = 7200.0
"""Session timeout: tokens older than this answer INVALID_SESSION_ID (the org default is 2 hours)."""
_DATA_PATH = re.compile(r"^/services/data/v(?P<version>\d+\.\d)(?:/|$)")


class SalesforceSandbox:
    """The simulator: call it as an ASGI app; ``store``, ``faults`` and tokens are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (set by the factory; empty: every control call is refused)."""

    def __init__(
        self,
        state_dir: Path | None,
        seed: int,
        client_id: str,
        client_secret: str,
        api_limit: int = DEFAULT_API_LIMIT,
        token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_limit = api_limit
        self.api_usage = 0
        self.token_ttl_seconds = token_ttl_seconds
        self.store = Store(state_dir, lambda store: seed_org(store, seed))
        self.queries = QueryEngine(self.store)
        self.faults = FaultInjector(render_fault, seed=seed)
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()
        self.removed_fields: set[str] = set()
        """``Type.Field`` names the control API took away from describe."""
        self.app = sandbox_litestar(self, ROUTE_HANDLERS, EXCEPTION_HANDLERS)
        self.asgi_app = cast(ASGIApp, self.app)
        """The bare simulator (no guards, no faults), for composite subrequests."""
        self._asgi: ASGIApp = self._limit_info(self.faults.wrap(self._guard(self.asgi_app)))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    # -- tokens and limits ------------------------------------------------------------------------
    def issue_token(self) -> str:
        """A new access token in Salesforce's ``<org id>!<secret>`` shape."""
        value = f"{ORG_ID}!AQ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens[value] = time.monotonic() + self.token_ttl_seconds
        return value

    def token_valid(self, value: str) -> bool:
        """Whether a bearer token is known and not expired."""
        with self._lock:
            expiry = self._tokens.get(value)
        return expiry is not None and expiry > time.monotonic()

    def expire_tokens(self) -> None:
        """Invalidate every issued token."""
        with self._lock:
            self._tokens.clear()

    def reset(self) -> None:
        """Re-seed data; drop faults and counters; zero API usage."""
        self.store.reset()
        self.faults.reset()
        self.api_usage = 0
        self.removed_fields.clear()

    def _limit_info(self, app: ASGIApp) -> ASGIApp:
        async def with_header(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return

            async def send_with_header(message: Any) -> None:
                if message["type"] == "http.response.start":
                    value = f"api-usage={self.api_usage}/{self.api_limit}".encode()
                    message["headers"] = [*message.get("headers", []), (b"sforce-limit-info", value)]
                await send(message)

            await app(scope, receive, send_with_header)

        return with_header

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """API usage count, REQUEST_LIMIT_EXCEEDED, version check and bearer check for data calls."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            match = _DATA_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
            if match is None:
                await app(scope, receive, send)
                return
            if match["version"] not in SUPPORTED_VERSIONS:
                return await _send(send, 404, SfError(404, "NOT_FOUND", "The requested resource does not exist").body())
            headers = {key.decode().lower(): value.decode() for key, value in scope.get("headers", [])}
            authorization = headers.get("authorization", "")
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() not in ("bearer", "oauth") or not self.token_valid(credential.strip()):
                body = SfError(401, "INVALID_SESSION_ID", "Session expired or invalid").body()
                return await _send(send, 401, body, [(b"www-authenticate", b"Token")])
            self.api_usage += 1
            if self.api_usage > self.api_limit:
                body = SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.").body()
                return await _send(send, 403, body)
            await app(scope, receive, send)

        return guarded


async def _send(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = msgspec.json.encode(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", JSON.encode()),
                (b"content-length", str(len(payload)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def create_salesforce_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    api_limit: int = DEFAULT_API_LIMIT,
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    admin_token: str | None = None,
) -> SalesforceSandbox:
    """A seeded Salesforce simulator (an ASGI app).

    Args:
        state_dir: directory for ``salesforce.json``; ``None`` keeps everything in memory.
        seed: Faker/random seed; the same seed gives the same org.
        client_id: the connected app's consumer key the token endpoint accepts (random when omitted).
        client_secret: its consumer secret (random when omitted).
        api_limit: daily API requests before REQUEST_LIMIT_EXCEEDED.
        token_ttl_seconds: session timeout of issued tokens.
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
    """
    sandbox = SalesforceSandbox(
        state_dir,
        seed,
        client_id or f"3MVG9{secrets.token_urlsafe(16)}",
        client_secret or secrets.token_urlsafe(32),
        api_limit,
        token_ttl_seconds,
    )
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

"""The Business Central sandbox as an ASGI app: faults, bearer check, per-principal throttling."""

from __future__ import annotations

import math
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import cast

from sandboxes.business_central.auth import DEFAULT_TOKEN_TTL_SECONDS, TokenIssuer
from sandboxes.business_central.routes import EXCEPTION_HANDLERS, JSON, ROUTE_HANDLERS, render_fault
from sandboxes.business_central.schema import BcError
from sandboxes.business_central.seed import seed as seed_tenant
from sandboxes.business_central.store import Store
from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.shared_app import SeedOnce, header, new_admin_token, sandbox_litestar

DEFAULT_TENANT = "strata-sandbox.onmicrosoft.com"
DEFAULT_ENVIRONMENT = "sandbox"
DEFAULT_PAGE_SIZE = 100
"""Server-driven page size (BC's is up to 20,000; smaller here so paging is exercised)."""
DEFAULT_RATE_LIMIT = 6000
DEFAULT_RATE_WINDOW_SECONDS = 300.0
"""BC's documented OData limit: 6,000 requests per 5-minute sliding window per user/principal."""
API_PREFIX = "/v2.0/"


class BusinessCentralSandbox:
    """The simulator: call it as an ASGI app; ``store``, ``faults`` and ``tokens`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (set by the factory; empty: every control call is refused)."""
    client_id: str = ""
    """The Entra application id registered at build time."""
    client_secret: str = ""
    """Its client secret."""

    def __init__(
        self,
        state_dir: Path | None,
        seed: int,
        tokens: TokenIssuer,
        environment: str = DEFAULT_ENVIRONMENT,
        page_size: int = DEFAULT_PAGE_SIZE,
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_window_seconds: float = DEFAULT_RATE_WINDOW_SECONDS,
    ) -> None:
        if page_size < 1 or rate_limit < 1 or rate_window_seconds <= 0:
            raise ValueError("page_size and rate_limit must be at least 1, the window positive")
        self._state_dir, self._seed = state_dir, seed
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self.tokens, self.environment, self.page_size = tokens, environment, page_size
        self.rate_limit, self.rate_window_seconds = rate_limit, rate_window_seconds
        self._calls: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.throttled = 0
        self.post_payment_batches = True
        """Whether ``journals(<payment batch id>)/Microsoft.NAV.post`` posts the batch (unverified in BC;
        False answers 404 as a BC that looks the id up among general journal batches only would)."""
        self.faults = FaultInjector(render_fault, seed=seed)
        self.app = sandbox_litestar(self, ROUTE_HANDLERS, EXCEPTION_HANDLERS)
        self._asgi: ASGIApp = self.faults.wrap(self._guard(cast(ASGIApp, self.app)))

    @property
    def store(self) -> Store:
        """The tenant's companies, loaded or seeded on first use (so a gateway starts without seeding)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir, lambda store: _seed(store, self._seed))
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Re-seed data; drop faults, counters and the throttle's memory (tokens stay valid)."""
        self.store.reset()
        self.faults.reset()
        with self._lock:
            self._calls.clear()
            self.throttled = 0

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """Bearer check, then the per-principal request limit, on every API call."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope.get("path", "").startswith(API_PREFIX):
                await app(scope, receive, send)
                return
            scheme, _, credential = header(scope, "authorization").partition(" ")
            principal = self.tokens.principal(credential.strip()) if scheme.lower() == "bearer" else None
            if principal is None:
                error = BcError(401, "Authentication_InvalidCredentials", "The server has rejected the client "
                                "credentials.")  # fmt: skip
                challenge = (
                    'Bearer authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                    'error="invalid_token"'
                )
                return await _send(send, 401, error.encode(), [(b"www-authenticate", challenge.encode())])
            retry_after = self._admit(principal)
            if retry_after is not None:
                error = BcError(429, "Application_TooManyRequests", f"Too many requests reached.  Actual "
                                f"({self.rate_limit + 1}).  Maximum ({self.rate_limit}).")  # fmt: skip
                headers = [(b"retry-after", str(retry_after).encode())]
                return await _send(send, 429, error.encode(), headers)
            await app(scope, receive, send)

        return guarded

    def _admit(self, principal: str) -> int | None:
        """None when the call is within the sliding window's limit, else seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            calls = [t for t in self._calls.get(principal, []) if t > now - self.rate_window_seconds]
            if len(calls) >= self.rate_limit:
                self._calls[principal] = calls
                self.throttled += 1
                return max(1, math.ceil(calls[0] + self.rate_window_seconds - now))
            calls.append(now)
            self._calls[principal] = calls
            return None


_seed = SeedOnce(seed_tenant)
"""Seeds the store (once per seed value and process; later stores restore that snapshot)."""


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    start = [(b"content-type", JSON.encode()), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def create_business_central_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    *,
    tenant: str = DEFAULT_TENANT,
    environment: str = DEFAULT_ENVIRONMENT,
    client_id: str | None = None,
    client_secret: str | None = None,
    page_size: int = DEFAULT_PAGE_SIZE,
    rate_limit: int = DEFAULT_RATE_LIMIT,
    rate_window_seconds: float = DEFAULT_RATE_WINDOW_SECONDS,
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    admin_token: str | None = None,
) -> BusinessCentralSandbox:
    """A Business Central tenant with one environment and one registered application.

    Args:
        state_dir: where the state file lives; None keeps everything in memory.
        seed: seed of the demo data (the Salesforce sandbox's seed, for consistent companies).
        tenant: Entra tenant (id or domain) in the token URL and the API base.
        environment: BC environment name in the API base.
        client_id: the Entra application (client) id allowed to get tokens (random when omitted).
        client_secret: its client secret (random when omitted).
        page_size: server-driven page size of collections.
        rate_limit: requests per principal within ``rate_window_seconds`` before 429.
        rate_window_seconds: the throttle's sliding window.
        token_ttl_seconds: lifetime of issued tokens.
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
    """
    client_id, client_secret = client_id or str(uuid.uuid4()), client_secret or secrets.token_urlsafe(30)
    tokens = TokenIssuer(tenant, {client_id: client_secret}, token_ttl_seconds)
    sandbox = BusinessCentralSandbox(
        state_dir,
        seed,
        tokens,
        environment=environment,
        page_size=page_size,
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
    )
    sandbox.client_id, sandbox.client_secret = client_id, client_secret
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

"""The Oracle Fusion sandbox as an ASGI app: faults, then Basic or bearer authentication, then the REST resources."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from pathlib import Path
from typing import cast

from sandboxes.faults import ASGIApp, FaultInjector, Receive, Scope, Send
from sandboxes.oracle_fusion.routes import EXCEPTION_HANDLERS, ROUTE_HANDLERS, render_fault
from sandboxes.oracle_fusion.seed import seed as seed_pod
from sandboxes.oracle_fusion.store import Store
from sandboxes.shared_app import SeedOnce, header, new_admin_token, sandbox_litestar

API_VERSION = "11.13.18.05"
API_ROOTS = ("/fscmRestApi/", "/crmRestApi/")
DEFAULT_TOKEN_TTL_SECONDS = 3600.0


class OracleFusionSandbox:
    """The simulator: call it as an ASGI app; ``store`` and ``faults`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (empty: every control call is refused)."""

    def __init__(
        self,
        state_dir: Path | None,
        seed: int,
        *,
        user: str,
        password: str,
        client_id: str,
        client_secret: str,
        api_version: str = API_VERSION,
        token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    ) -> None:
        self._state_dir, self._seed = state_dir, seed
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self.user, self.password, self.client_id, self.client_secret = user, password, client_id, client_secret
        self.api_version, self.token_ttl_seconds = api_version, token_ttl_seconds
        self.lock = threading.Lock()
        self.tokens: dict[str, float] = {}
        self.tokens_issued = 0
        self.faults = FaultInjector(render_fault, seed=seed)
        self.app = sandbox_litestar(self, ROUTE_HANDLERS, EXCEPTION_HANDLERS)
        self._asgi: ASGIApp = self.faults.wrap(self._guard(cast(ASGIApp, self.app)))

    @property
    def store(self) -> Store:
        """The pod's data, loaded or seeded on first use (so a gateway starts without seeding)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir, lambda store: _seed(store, self._seed))
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Re-seed the data; drop faults and counters (tokens stay valid)."""
        self.store.reset()
        self.faults.reset()

    def authenticated(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header carries the integration user's password or a live token."""
        scheme, _, credential = authorization.partition(" ")
        if scheme.lower() == "basic" and self.user:
            try:
                user, _, password = base64.b64decode(credential.strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return hmac.compare_digest(user.encode(), self.user.encode()) and hmac.compare_digest(
                password.encode(), self.password.encode()
            )
        if scheme.lower() == "bearer":
            with self.lock:
                expires = self.tokens.get(credential.strip())
            return expires is not None and expires > time.monotonic()
        return False

    def _guard(self, app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope.get("path", "").startswith(API_ROOTS):
                await app(scope, receive, send)
                return
            if not self.authenticated(header(scope, "authorization")):
                # Oracle answers 401 with an empty body and a Basic challenge.
                start = [(b"content-length", b"0"), (b"www-authenticate", b'Basic realm="Oracle Fusion Applications"')]
                await send({"type": "http.response.start", "status": 401, "headers": start})
                await send({"type": "http.response.body", "body": b""})
                return
            await app(scope, receive, send)

        return guarded


_seed = SeedOnce(seed_pod)
"""Seeds the store (once per seed value and process; later stores restore that snapshot)."""


def create_oracle_fusion_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    *,
    user: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    api_version: str = API_VERSION,
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    admin_token: str | None = None,
) -> OracleFusionSandbox:
    """An Oracle Fusion pod with one integration user and one confidential application.

    Args:
        state_dir: where the state file lives; None keeps everything in memory.
        seed: seed of the demo data (the Salesforce sandbox's seed, for consistent companies).
        user: the integration user (Basic authentication; random when omitted).
        password: its password (random when omitted).
        client_id: the identity domain application's client id (random when omitted).
        client_secret: its secret (random when omitted).
        api_version: the REST resource version served (``latest`` is accepted too).
        token_ttl_seconds: lifetime of issued bearer tokens.
        admin_token: the token the ``/_control`` API asks for; random when omitted.
    """
    sandbox = OracleFusionSandbox(
        state_dir,
        seed,
        user=user or f"strata.integration.{secrets.token_hex(4)}",
        password=password or secrets.token_urlsafe(24),
        client_id=client_id or secrets.token_hex(16),
        client_secret=client_secret or secrets.token_urlsafe(30),
        api_version=api_version,
        token_ttl_seconds=token_ttl_seconds,
    )
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

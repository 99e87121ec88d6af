"""The NetSuite sandbox as an ASGI app: concurrency cap, faults, bearer check, async jobs."""

from __future__ import annotations

import datetime as dt
import re
import secrets
import threading
from pathlib import Path
from typing import Any, cast

from sandboxes.faults import ASGIApp, FaultInjector, Message, Receive, Scope, Send
from sandboxes.netsuite.auth import DEFAULT_TOKEN_TTL_SECONDS, TOKEN_PATH, TokenIssuer
from sandboxes.netsuite.routes import ERROR, EXCEPTION_HANDLERS, JSON, ROUTE_HANDLERS, render_fault, rest_base
from sandboxes.netsuite.schema import NsError
from sandboxes.netsuite.seed import seed as seed_account
from sandboxes.netsuite.store import Store
from sandboxes.shared_app import header, new_admin_token, sandbox_litestar

DEFAULT_CONCURRENCY_LIMIT = 5
"""Requests an account may have in flight at once (a developer account's limit)."""
DEFAULT_JOB_PENDING_POLLS = 1
"""Reads of a new async job that answer "pending" before it is reported completed."""
ACCOUNT_ID = "TSTDRV1234567"
IDEMPOTENCY_HEADER = "x-netsuite-idempotency-key"
_ASYNC_PATH = re.compile(r"^/services/rest/record/v1/")


class NetSuiteSandbox:
    """The simulator: call it as an ASGI app; ``store``, ``faults`` and ``tokens`` are reachable from tests."""

    admin_token: str = ""
    """The token of the ``/_control`` API (set by the factory; empty: every control call is refused)."""
    client_id: str = ""
    """The client id of the integration record registered at build time."""

    def __init__(
        self,
        state_dir: Path | None,
        seed: int,
        clients: dict[str, dict[str, bytes | str]],
        concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
        token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
        job_pending_polls: int = DEFAULT_JOB_PENDING_POLLS,
    ) -> None:
        if concurrency_limit < 1 or job_pending_polls < 0:
            raise ValueError("concurrency_limit must be at least 1, job_pending_polls at least 0")
        self.job_pending_polls = job_pending_polls
        """How many reads of a new async job (job or task) answer "pending" before it completes."""
        self._state_dir, self._seed = state_dir, seed
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        certificates_file = state_dir / "netsuite-certificates.json" if state_dir is not None else None
        self.tokens = TokenIssuer(clients, token_ttl_seconds, certificates_file=certificates_file)
        self.faults = FaultInjector(render_fault, seed=seed)
        self.concurrency_limit = concurrency_limit
        self.in_flight = 0
        self.concurrency_refused = 0
        self._lock = threading.Lock()
        self.app = sandbox_litestar(self, ROUTE_HANDLERS, EXCEPTION_HANDLERS)
        inner = cast(ASGIApp, self.app)
        self._asgi: ASGIApp = self._concurrency(self.faults.wrap(self._guard(self._async_jobs(inner))))

    @property
    def store(self) -> Store:
        """The account's records, loaded or seeded on first use (so a gateway starts without seeding)."""
        if self._store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._state_dir, lambda store: seed_account(store, self._seed))
        return self._store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def reset(self) -> None:
        """Re-seed data, forget jobs and idempotency keys; drop faults and counters."""
        self.store.reset()
        self.faults.reset()
        self.concurrency_refused = 0

    # -- layers ----------------------------------------------------------------------------------
    def _concurrency(self, app: ASGIApp) -> ASGIApp:
        """429 once more than ``concurrency_limit`` REST requests are in flight."""

        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or not scope.get("path", "").startswith("/services/rest/"):
                await app(scope, receive, send)
                return
            with self._lock:
                refused = self.in_flight >= self.concurrency_limit
                if refused:
                    self.concurrency_refused += 1
                else:
                    self.in_flight += 1
            if refused:
                detail = f"Concurrent request limit of {self.concurrency_limit} exceeded for account {ACCOUNT_ID}."
                error = NsError(429, "CONCURRENCY_LIMIT_EXCEEDED", detail)
                return await _send(send, 429, error.encode())
            try:
                await app(scope, receive, send)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return limited

    def _guard(self, app: ASGIApp) -> ASGIApp:
        """Bearer check on every REST call but the token endpoint."""

        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "") if scope["type"] == "http" else ""
            if not path.startswith("/services/rest/") or path.rstrip("/") == TOKEN_PATH:
                await app(scope, receive, send)
                return
            scheme, _, credential = header(scope, "authorization").partition(" ")
            if scheme.lower() != "bearer" or not self.tokens.valid(credential.strip()):
                detail = (
                    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI at "
                    "Setup > Users/Roles > User Management > View Login Audit Trail."
                )
                headers = [(b"www-authenticate", b'Bearer realm="' + ACCOUNT_ID.encode() + b'"')]
                return await _send(send, 401, NsError(401, "INVALID_LOGIN", detail).encode(), headers)
            await app(scope, receive, send)

        return guarded

    def _async_jobs(self, app: ASGIApp) -> ASGIApp:
        """``Prefer: respond-async`` on a record write: run it as a job, answer 202 + the job's URL."""

        async def maybe_async(scope: Scope, receive: Receive, send: Send) -> None:
            wants_async = "respond-async" in header(scope, "prefer").lower()
            if (
                scope["type"] != "http"
                or not wants_async
                or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE")
                or not _ASYNC_PATH.match(scope.get("path", ""))
            ):
                await app(scope, receive, send)
                return
            key = header(scope, IDEMPOTENCY_HEADER).strip()
            base = rest_base(scope)
            with self._lock:
                original = self.store.idempotency.get(key) if key else None
                job_id = None if original else self.store.next_id()
                if key and job_id:
                    self.store.idempotency[key] = job_id
            if original is not None:
                detail = (
                    f"A request with the idempotency key {key} was already submitted as job "
                    f"{base}/async/v1/job/{original}."
                )
                error = NsError(400, "IDEMPOTENCY_ERROR", detail, "X-NetSuite-Idempotency-Key", where="o:errorHeader")
                location = f"{base}/async/v1/job/{original}".encode()
                return await _send(send, 400, error.encode(), [(b"location", location)])
            assert job_id is not None
            captured = await _capture(app, scope, receive)
            status = captured["status"]
            self.store.jobs[job_id] = {
                **captured,
                "progress": "succeeded" if status < 400 else "failed",
                "pending_polls": self.job_pending_polls,
                "startTime": _timestamp(),
            }
            self.store.save()
            headers = [
                (b"location", f"{base}/async/v1/job/{job_id}".encode()),
                (b"preference-applied", b"respond-async"),
            ]
            await _send(send, 202, b"", headers, media_type=None)

        return maybe_async


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> dict[str, Any]:
    """Run a request to completion and keep its status, ``Location``, body and media type."""
    answer: dict[str, Any] = {"status": 500, "location": None, "body": "", "media_type": JSON}
    chunks: list[bytes] = []

    async def keep(message: Message) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
            for key, value in message.get("headers", []):
                if key.lower() == b"location":
                    answer["location"] = value.decode("latin-1")
                if key.lower() == b"content-type":
                    answer["media_type"] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app({**scope, "headers": [h for h in scope.get("headers", []) if h[0].lower() != b"prefer"]}, receive, keep)
    answer["body"] = b"".join(chunks).decode()
    return answer


def _timestamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def _send(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    media_type: str | None = ERROR,
) -> None:
    start = [(b"content-length", str(len(body)).encode()), *(headers or [])]
    if media_type is not None:
        start.insert(0, (b"content-type", media_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": start})
    await send({"type": "http.response.body", "body": body})


def create_netsuite_sandbox(
    state_dir: Path | None = None,
    seed: int = 7,
    client_id: str | None = None,
    certificates: dict[str, bytes | str] | None = None,
    *,
    clients: dict[str, dict[str, bytes | str]] | None = None,
    concurrency_limit: int = DEFAULT_CONCURRENCY_LIMIT,
    token_ttl_seconds: float = DEFAULT_TOKEN_TTL_SECONDS,
    admin_token: str | None = None,
    job_pending_polls: int = DEFAULT_JOB_PENDING_POLLS,
    expires_in_as_string: bool = True,
) -> NetSuiteSandbox:
    """A seeded NetSuite simulator (an ASGI app).

    Args:
        state_dir: directory for ``netsuite.json``; ``None`` keeps everything in memory.
        seed: Faker/random seed; use the Salesforce sandbox's seed (7 by default) for matching data.
        client_id: the integration record's client id the token endpoint accepts (random when omitted;
            the sandbox's ``client_id``).
        certificates: certificate id -> public key PEM registered for ``client_id``
            (:func:`sandboxes.netsuite.auth.generate_key_pair` makes one for tests).
        clients: further clients, client id -> {certificate id -> public key PEM}.
        concurrency_limit: requests in flight before 429 (5 on a developer account).
        token_ttl_seconds: lifetime of issued access tokens.
        admin_token: the token the ``/_control`` API asks for (``Authorization: Bearer …``); random when omitted.
        job_pending_polls: reads of a new async job that answer "pending" before it completes.
        expires_in_as_string: the token answer's ``expires_in`` as ``"3600"`` (default; unverified)
            or as the number ``3600``.
    """
    client_id = client_id or secrets.token_hex(32)
    registered = {client_id: dict(certificates or {}), **(clients or {})}
    sandbox = NetSuiteSandbox(state_dir, seed, registered, concurrency_limit, token_ttl_seconds, job_pending_polls)
    sandbox.tokens.expires_in_as_string = expires_in_as_string
    sandbox.client_id = client_id
    sandbox.admin_token = admin_token or new_admin_token()
    return sandbox

"""Idempotency-Key on unsafe methods (IETF httpapi draft "The Idempotency-Key HTTP Header Field").

On POST, PUT, PATCH and DELETE of a route whose contract says ``x-strata-idempotency:
required | optional``:

* The key is a structured-field string (RFC 8941 §3.3.3, draft §2): accepted quoted
  (``"abc"``) or bare (``abc``), 1-255 characters; anything else is 400, and so is a
  missing key on a ``required`` route (draft §2.7).
* Keys are scoped per client; the fingerprint is SHA-256 over method, concrete path and
  body (draft §2.4), so the same key with another payload is 422 (draft §2.7).
* The first request claims the key (in flight); a concurrent retry gets 409 (draft §2.7).
  The handler's response is stored when its status is below 500; a 5xx, or no response
  at all, releases the claim so the client can retry.
* A retry after completion is answered with the stored status, headers and body plus
  ``Idempotent-Replayed: true`` (our extension, as Stripe does), without the handler.

The replay is a short-circuit like a denial: :meth:`on_request` returns a :class:`Denial`
whose ``replay`` holds the full stored response (also left in
``ctx.state["idempotency_replay"]``); the pipeline sends it as is, plus
``ctx.response_headers``, instead of a problem body.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal

import msgspec
import structlog

from core.idempotency_store import Claim, IdempotencyRecord, IdempotencyStore, StoredResponse
from core.settings import DEFAULT_IDEMPOTENCY_RETENTION_SECONDS
from policies.base import Policy, PolicyMode
from policies.context import CapturedResponse, Denial, RequestContext, read_body
from policies.routes import CompiledRoute

logger = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = b"idempotent-replayed"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
UNBOUNDED_BODY = 1 << 62
"""Body size cap when this policy reads the body itself: size is the request-limits policy's job."""
DEFAULT_IN_FLIGHT_LEASE_SECONDS = 120
STATE_CLAIM = "idempotency_claim"
STATE_REPLAY = "idempotency_replay"
STORED_HEADERS = frozenset(
    {
        b"content-type",
        b"content-encoding",
        b"content-language",
        b"content-disposition",
        b"content-location",
        b"location",
        b"etag",
        b"last-modified",
    }
)
"""Response headers worth replaying: about the content. Never rate-limit, correlation or
security headers, which belong to the request that is answered now."""


class IdempotencyConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Idempotency policy settings (built from ``Settings.idempotency_retention_seconds``)."""

    mode: PolicyMode = "enforce"
    """``shadow`` only validates the header and records would-be denials; no claim, no replay."""
    retention_seconds: int = DEFAULT_IDEMPOTENCY_RETENTION_SECONDS
    """How long a finished response is replayed."""
    in_flight_lease_seconds: int = DEFAULT_IN_FLIGHT_LEASE_SECONDS
    """How long a claim holds without a response (a crashed process frees its keys then)."""
    on_backend_error: Literal["allow", "deny"] = "deny"
    """Store down: ``deny`` (503, the default: a duplicate side effect is worse) or ``allow``."""

    def __post_init__(self) -> None:
        if self.retention_seconds < 1 or self.in_flight_lease_seconds < 1:
            raise ValueError("idempotency: retention_seconds and in_flight_lease_seconds must be positive")


def parse_idempotency_key(raw: str) -> str:
    """The key from a header value: an sf-string (``"abc"``) or a bare token (``abc``).

    Raises:
        ValueError: the value is not a valid key; the message says why.
    """
    value = raw.strip(" \t")
    if value.startswith('"'):
        key = _parse_sf_string(value)
    else:
        if any(not "!" <= char <= "~" or char in '"\\' for char in value):
            raise ValueError("must be a quoted string or visible ASCII characters without quotes or backslashes")
        key = value
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"must be 1 to {MAX_KEY_LENGTH} characters long")
    return key


def _parse_sf_string(value: str) -> str:
    """RFC 8941 §4.2.5: parse a quoted string that must be the whole value."""
    chars: list[str] = []
    index = 1
    while index < len(value):
        char = value[index]
        if char == "\\":
            if index + 1 >= len(value) or value[index + 1] not in '"\\':
                raise ValueError("has an invalid escape in a quoted string")
            chars.append(value[index + 1])
            index += 2
        elif char == '"':
            if index != len(value) - 1:
                raise ValueError("has characters after the closing quote")
            return "".join(chars)
        elif " " <= char <= "~":
            chars.append(char)
            index += 1
        else:
            raise ValueError("has a character that is not printable ASCII")
    raise ValueError("has no closing quote")


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, concrete path and body bytes, hex."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _key_problem(detail: str) -> Denial:
    return Denial(
        status=400,
        problem="idempotency-key-invalid",
        title="Invalid Idempotency-Key",
        detail=detail,
        errors=[{"in": "header", "name": HEADER, "detail": detail}],
    )


def _in_flight() -> Denial:
    return Denial(
        status=409,
        problem="idempotency-key-in-flight",
        title="Request in progress",
        detail="A request with this Idempotency-Key is still being processed; retry later.",
        headers={"Retry-After": "1"},
    )


def _mismatch() -> Denial:
    return Denial(
        status=422,
        problem="idempotency-key-reused",
        title="Idempotency-Key reused",
        detail="This Idempotency-Key was used with another request (method, path or body differ).",
        errors=[{"in": "header", "name": HEADER, "detail": "was used with a different request payload"}],
    )


def _unavailable() -> Denial:
    return Denial(
        status=503,
        problem="idempotency-unavailable",
        title="Idempotency store unavailable",
        detail="The idempotency store cannot be reached; retry shortly with the same key.",
        headers={"Retry-After": "1"},
    )


def _replay(stored: StoredResponse) -> Denial:
    headers = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in stored.headers]
    headers.append((REPLAYED_HEADER, b"true"))
    return Denial(
        status=stored.status,
        problem="",
        title="Idempotent replay",
        detail="The stored response of the first request with this Idempotency-Key.",
        replay=CapturedResponse(stored.status, headers, stored.body),
    )


@dataclass(slots=True)
class _Pending:
    claim: Claim
    finished: bool = False


class IdempotencyPolicy(Policy):
    """Claims, stores and replays responses per (client, Idempotency-Key)."""

    name: ClassVar[str] = "idempotency"

    def applies_to(self, route: CompiledRoute) -> bool:
        """Unsafe methods of operations that declare ``x-strata-idempotency``."""
        return route.method in UNSAFE_METHODS and route.idempotency != "none"

    def __init__(
        self, config: IdempotencyConfig, store: IdempotencyStore, clock: Callable[[], float] = time.time
    ) -> None:
        self.config = config
        self.mode = config.mode
        self.store = store
        self._clock = clock

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        """Validate the key, then claim it, replay its response, or deny (400/409/422)."""
        if self.mode == "off" or ctx.route.idempotency == "none" or ctx.method.upper() not in UNSAFE_METHODS:
            return None
        raw = ctx.headers.get("idempotency-key")
        if raw is None:
            if ctx.route.idempotency != "required":
                return None
            return self._deny(
                ctx, _key_problem(f"{HEADER} is required on {ctx.method.upper()} {ctx.route.path_template}")
            )
        try:
            key = parse_idempotency_key(raw)
        except ValueError as exc:
            return self._deny(ctx, _key_problem(f"{HEADER} {exc}"))
        if self.mode == "shadow":
            return None
        if not ctx.body_read and ctx.receive is not None:
            # The fingerprint needs the body; request limits normally read it already.
            await read_body(ctx, UNBOUNDED_BODY)
        client = ctx.principal.client_id if ctx.principal else f"anonymous:{ctx.source}"
        claim = Claim(client[:64], key, secrets.token_hex(16), fingerprint(ctx.method, ctx.path, ctx.body))
        now = self._clock()
        try:
            result = await self.store.claim(claim, ctx.route.label, now, now + self.config.in_flight_lease_seconds)
        except Exception as exc:  # any store failure is an on_backend_error decision
            logger.warning("idempotency store failed on claim (%s: %s)", type(exc).__name__, exc)
            return None if self.config.on_backend_error == "allow" else _unavailable()
        if result.claim is not None:
            ctx.state[STATE_CLAIM] = _Pending(result.claim)
            return None
        assert result.existing is not None
        return self._answer_existing(ctx, claim, result.existing)

    def _answer_existing(self, ctx: RequestContext, claim: Claim, record: IdempotencyRecord) -> Denial:
        if record.fingerprint != claim.fingerprint:
            return _mismatch()
        if record.state == "in_flight" or record.response is None:
            return _in_flight()
        replay = _replay(record.response)
        ctx.state[STATE_REPLAY] = replay.replay
        return replay

    def _deny(self, ctx: RequestContext, denial: Denial) -> Denial | None:
        if self.mode == "shadow":
            ctx.shadow_denials.append(self.name)
            return None
        return denial

    async def on_response(self, ctx: RequestContext, response: CapturedResponse) -> None:
        """Store a response below 500 under our claim; release the claim on a 5xx."""
        pending: _Pending | None = ctx.state.get(STATE_CLAIM)
        if pending is None or pending.finished:
            return
        pending.finished = True
        if response.status >= 500:
            await self._release(pending.claim)
            return
        stored = StoredResponse(
            response.status,
            tuple(
                (name.decode("latin-1").lower(), value.decode("latin-1"))
                for name, value in response.headers
                if name.lower() in STORED_HEADERS
            ),
            response.body,
        )
        now = self._clock()
        try:
            kept = await self.store.complete(pending.claim, stored, now, now + self.config.retention_seconds)
        except Exception as exc:
            logger.warning("idempotency store failed on complete (%s: %s)", type(exc).__name__, exc)
            await self._release(pending.claim)
            return
        if not kept:
            logger.warning("idempotency claim on %r expired before the response was stored", pending.claim.key)

    async def on_complete(self, ctx: RequestContext, status: int) -> None:
        """Release a claim whose handler produced no response (exception, disconnect)."""
        pending: _Pending | None = ctx.state.get(STATE_CLAIM)
        if pending is not None and not pending.finished:
            pending.finished = True
            await self._release(pending.claim)

    async def _release(self, claim: Claim) -> None:
        try:
            await self.store.release(claim)
        except Exception as exc:  # the lease expiry frees the key eventually
            logger.warning("idempotency store failed on release (%s: %s)", type(exc).__name__, exc)

    async def purge_expired(self) -> int:
        """Delete expired records now (call periodically; expired records are ignored anyway)."""
        return await self.store.purge_expired(self._clock())

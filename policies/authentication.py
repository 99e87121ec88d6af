"""Authentication: bearer JWT access tokens (RFC 6750, RFC 9068), policy 5 of the chain.

Tokens come from Strata's embedded authorization server or from any external issuer in the
governance file. Per issuer: accepted ``typ``, algorithm allowlist, audience, the claim
holding scopes (``scope``, ``scp`` or ``roles``) and the claims mapped to ``partner_id`` /
``customer_id``.

What is refused, and how (RFC 6750 §3, §3.1):

* no credentials → 401 with a bare ``Bearer`` challenge;
* a token in the query string, or two credentials in one request → 400 ``invalid_request``;
* ``alg: none``, an algorithm outside the issuer's allowlist (so no HS/RS key confusion),
  ``jku`` / ``x5u`` / ``jwk`` / ``x5c`` headers (keys come only from configured JWKS),
  a wrong ``typ``, an unknown issuer, an unknown ``kid`` (after one JWKS refetch, then a
  cooldown), a bad signature, ``exp`` / ``nbf`` outside the leeway, a wrong ``aud``, or a
  revoked ``jti`` → 401 ``invalid_token``.

Verified tokens are cached by a 256-bit BLAKE2s digest of the token (not the token itself,
and not OpenSSL's SHA-256, whose per-call set-up cost ~20,000 instructions a request), never
past ``exp``, in a bounded map; what can change after issuance is still checked on every hit, in memory (no I/O): the
``jti`` denylist, and for the embedded issuer its client's standing — disabled, deleted, or
scopes removed since (``TrustedIssuer.live_scopes``) — so a cache hit never outlives a change.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol

import msgspec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from policies.base import AWAIT, Deferred, Policy, RequestHookNow
from policies.context import Denial, Principal, RequestContext
from policies.governance import AuthenticationConfig, Governance
from policies.routes import CompiledRoute

FORBIDDEN_HEADERS = frozenset({"jku", "x5u", "jwk", "x5c"})
RFC9068_TYP = frozenset({"at+jwt", "application/at+jwt"})
LOCAL_ALGORITHMS = ("RS256",)

_json = msgspec.json.Decoder()


class KeyLookup(Protocol):
    """Where an issuer's verification keys come from."""

    def keyset(self) -> KeySet:
        """The keys known now (no I/O)."""
        ...

    async def refresh(self) -> None:
        """Fetch the keys again (the caller enforces the cooldown)."""
        ...


class RevocationCheck(Protocol):
    """In-memory check of revoked token ids (no I/O on the request path)."""

    def is_revoked(self, jti: str) -> bool:
        """Whether the token id was revoked."""
        ...


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    """One issuer whose tokens the resource side accepts, with what differs per IdP."""

    issuer: str
    audience: str
    keys: KeyLookup
    algorithms: tuple[str, ...] = LOCAL_ALGORITHMS
    accepted_typ: frozenset[str | None] = RFC9068_TYP
    scopes_claim: str = "scope"
    partner_id_claim: str | None = "partner_id"
    customer_id_claim: str | None = "customer_id"
    tier_claim: str | None = "tier"
    default_tier: str | None = None
    live_scopes: Callable[[str, Mapping[str, Any], frozenset[str]], frozenset[str] | None] | None = None
    """For the embedded issuer: ``(client_id, claims, token scopes)`` → the scopes the token
    holds now, or None if it must be refused (see :mod:`policies.oauth.token_standing`, the
    one decision introspection shares); in memory, no I/O, checked on every request, so a
    disabled client's live tokens stop working and a removed scope leaves them at once."""


class _InvalidToken(Exception):
    """Internal: the token is refused; ``reason`` is logged and audited, not sent verbatim."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64decode(segment: str) -> bytes:
    padded = segment + "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(padded)


def _scopes_from(claims: Mapping[str, Any], claim: str) -> frozenset[str]:
    value = claims.get(claim)
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return frozenset(value)
    return frozenset()


def _optional_str(claims: Mapping[str, Any], claim: str | None) -> str | None:
    if claim is None:
        return None
    value = claims.get(claim)
    return value if isinstance(value, str) and value else None


def time_refusal(claims: Mapping[str, Any], now: float, leeway: float) -> str | None:
    """Why a token's time claims refuse it at ``now`` (``exp``, ``nbf``, ``iat`` within ``leeway``), or None.

    Also used by introspection, so that both answer alike for the same token at the same time.
    """
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        return "the token has no exp"
    if exp + leeway <= now:
        return "the token has expired"
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf - leeway > now:
        return "the token is not valid yet"
    iat = claims.get("iat")
    if isinstance(iat, int | float) and iat - leeway > now:
        return "the token was issued in the future"
    return None


def unauthorized(detail: str, *, error: str | None = "invalid_token") -> Denial:
    """A 401 with the RFC 6750 challenge (bare when no credentials were sent)."""
    challenge = 'Bearer realm="strata"'
    if error:
        challenge += f', error="{error}", error_description="{detail}"'
    return Denial(
        status=401,
        problem="unauthorized",
        title="Unauthorized",
        detail=detail,
        headers={"www-authenticate": challenge},
    )


def invalid_request(detail: str) -> Denial:
    """A 400 ``invalid_request`` (RFC 6750 §3.1)."""
    return Denial(
        status=400,
        problem="invalid-request",
        title="Invalid request",
        detail=detail,
        headers={"www-authenticate": f'Bearer realm="strata", error="invalid_request", error_description="{detail}"'},
    )


def _cache_key(token: str) -> bytes:
    """The token cache's key of ``token``: BLAKE2s of it (CPython's own code, no OpenSSL set-up)."""
    return hashlib.blake2s(token.encode()).digest()


class AuthenticationPolicy(Policy):
    """Establish ``ctx.principal`` from a bearer JWT, or deny."""

    name: ClassVar[str] = "authentication"

    def applies_to(self, route: CompiledRoute) -> bool:
        """Secured operations only: a public one has no token to check."""
        return bool(route.security)

    def __init__(
        self,
        config: AuthenticationConfig,
        trusted_issuers: Callable[[], tuple[TrustedIssuer, ...]],
        revocations: RevocationCheck,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Build the policy.

        Args:
            config: governance ``authentication``.
            trusted_issuers: the issuers whose tokens are accepted, as configured now; called
                here and again on every governance reload, once the new document is in force.
            revocations: the revocation check of the embedded server's tokens.
            clock: seconds since the epoch (tests freeze it).
        """
        self.config = config
        self.trusted_issuers = trusted_issuers
        self.issuers = {issuer.issuer: issuer for issuer in trusted_issuers()}
        self.revocations = revocations
        self.clock = clock
        self._cache: OrderedDict[bytes, Principal] = OrderedDict()
        self._last_refresh: dict[str, float] = {}

    def reconfigure(self, governance: Governance) -> None:
        """New settings and trusted issuers (hot reload); verified tokens are checked again."""
        self.config = governance.authentication
        self.issuers = {issuer.issuer: issuer for issuer in self.trusted_issuers()}
        self.forget_cached()

    async def on_request(self, ctx: RequestContext) -> Denial | None:
        token = self._bearer(ctx)
        if not isinstance(token, str):
            return token  # the request's denial
        try:
            ctx.principal = await self.authenticate(token)
        except _InvalidToken as exc:
            ctx.state["auth_failure"] = exc.reason
            return unauthorized(exc.reason)
        return None

    def request_hook_now(self) -> RequestHookNow:
        """:meth:`on_request_now`: a cached token needs no I/O."""
        return self.on_request_now

    def on_request_now(self, ctx: RequestContext) -> Denial | Deferred | None:
        """:meth:`on_request` for a token in the cache; :data:`AWAIT` when it must be verified."""
        token = self._bearer(ctx)
        if not isinstance(token, str):
            return token  # the request's denial
        try:
            principal = self._cached(_cache_key(token), self.clock())
        except _InvalidToken as exc:
            ctx.state["auth_failure"] = exc.reason
            return unauthorized(exc.reason)
        if principal is None:
            return AWAIT  # on_request looks again (a miss now) and verifies
        ctx.principal = principal
        return None

    @staticmethod
    def _bearer(ctx: RequestContext) -> str | Denial:
        """The request's bearer token, or the denial of a request without exactly one."""
        header = ctx.headers.get("authorization")
        query_token = b"access_token=" in ctx.query_string
        if ctx.state.get("authorization_count", 0) > 1 or (header is not None and query_token):
            return invalid_request("more than one credential in the request")
        if query_token:
            return invalid_request("access tokens are not accepted in the query string")
        if header is None:
            return unauthorized("no bearer token", error=None)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return unauthorized("the Authorization header is not 'Bearer <token>'", error=None)
        return token

    def _cached(self, digest: bytes, now: float) -> Principal | None:
        """The principal of a cached, unexpired token (by its :func:`_cache_key`) as of now; None
        when it must be verified."""
        cached = self._cache.get(digest)
        if cached is not None:
            if cached.expires_at is not None and cached.expires_at + self.config.leeway_seconds > now:
                return self._as_now(cached)
            del self._cache[digest]
        return None

    async def authenticate(self, token: str) -> Principal:
        """Verify ``token`` and return its principal (cached until ``exp``)."""
        now = self.clock()
        digest = _cache_key(token)
        cached = self._cached(digest, now)
        if cached is not None:
            return cached
        principal = await self._verify(token, now)
        current = self._as_now(principal)  # a refused token is not cached
        self._cache[digest] = principal  # as issued: the client's scopes may come back
        if len(self._cache) > self.config.cache_size:
            self._cache.popitem(last=False)
        return current

    def _as_now(self, principal: Principal) -> Principal:
        """What can change after verification: the token's revocation, its client's state and scopes."""
        if principal.token_id and self.revocations.is_revoked(principal.token_id):
            raise _InvalidToken("the token was revoked")
        issuer = self.issuers.get(principal.issuer)
        live = issuer.live_scopes if issuer is not None else None
        if live is None:
            return principal
        oauth_scopes = live(principal.client_id, principal.claims, principal.oauth_scopes)
        if oauth_scopes is None:
            raise _InvalidToken(
                "the client is disabled or deleted, or the token predates its re-enabling"
                " or was exchanged by a client that may no longer act for customers"
            )
        if oauth_scopes is principal.oauth_scopes:  # the common case: nothing allocated
            return principal
        return replace(principal, oauth_scopes=oauth_scopes)

    def forget_cached(self) -> None:
        """Drop every cached verification (e.g. after a client was disabled)."""
        self._cache.clear()

    async def _verify(self, token: str, now: float) -> Principal:
        parts = token.split(".")
        if len(parts) != 3:
            raise _InvalidToken("the token is not a compact JWS")
        try:
            header = _json.decode(_b64decode(parts[0]))
            unverified = _json.decode(_b64decode(parts[1]))
        except (binascii.Error, ValueError, msgspec.DecodeError):
            raise _InvalidToken("the token is not a JWT") from None
        if not isinstance(header, dict) or not isinstance(unverified, dict):
            raise _InvalidToken("the token is not a JWT")
        if FORBIDDEN_HEADERS & header.keys():
            raise _InvalidToken("key-carrying JOSE headers (jku, x5u, jwk, x5c) are not accepted")
        issuer = self.issuers.get(unverified.get("iss"))  # type: ignore[arg-type]
        if issuer is None:
            raise _InvalidToken("unknown issuer")
        alg = header.get("alg")
        if alg not in issuer.algorithms:
            raise _InvalidToken("algorithm not allowed")
        if header.get("typ") not in issuer.accepted_typ:
            raise _InvalidToken("token type not accepted")
        if "crit" in header:
            raise _InvalidToken("critical JOSE headers are not supported")
        key = await self._key_for(issuer, header.get("kid"))
        try:
            jws.deserialize_compact(token, key, algorithms=[alg])
        except JoseError:
            raise _InvalidToken("bad signature") from None
        except (ValueError, TypeError):
            raise _InvalidToken("the token is malformed") from None
        return self._principal(issuer, unverified, now)

    async def _key_for(self, issuer: TrustedIssuer, kid: Any) -> Any:
        if not isinstance(kid, str) or not kid:
            raise _InvalidToken("the token has no kid")
        key = _find(issuer.keys.keyset(), kid)
        if key is not None:
            return key
        now = time.monotonic()
        last = self._last_refresh.get(issuer.issuer)
        if last is not None and now - last < self.config.jwks_refetch_cooldown_seconds:
            raise _InvalidToken("unknown key id")
        self._last_refresh[issuer.issuer] = now
        try:
            await issuer.keys.refresh()
        except Exception:  # a JWKS that can't be fetched is an unknown key, never a 500
            raise _InvalidToken("unknown key id (JWKS unavailable)") from None
        key = _find(issuer.keys.keyset(), kid)
        if key is None:
            raise _InvalidToken("unknown key id")
        return key

    def _principal(self, issuer: TrustedIssuer, claims: dict[str, Any], now: float) -> Principal:
        refusal = time_refusal(claims, now, self.config.leeway_seconds)
        if refusal is not None:
            raise _InvalidToken(refusal)
        exp = claims["exp"]
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if issuer.audience not in audiences:
            raise _InvalidToken("the token is not meant for this audience")
        jti = claims.get("jti")
        token_id = jti if isinstance(jti, str) else None
        subject = claims.get("sub")
        client_id = claims.get("client_id") or claims.get("azp") or subject
        if not isinstance(client_id, str) or not client_id:
            raise _InvalidToken("the token names no client")
        principal = Principal(
            subject=subject if isinstance(subject, str) else client_id,
            client_id=client_id,
            issuer=issuer.issuer,
            oauth_scopes=_scopes_from(claims, issuer.scopes_claim),
            tier=_optional_str(claims, issuer.tier_claim) or issuer.default_tier,
            partner_id=_optional_str(claims, issuer.partner_id_claim),
            customer_id=_optional_str(claims, issuer.customer_id_claim),
            token_id=token_id,
            expires_at=float(exp),
            claims=claims,
        )
        return principal


def _find(keyset: KeySet, kid: str) -> Any:
    for key in keyset.keys:
        if key.kid == kid:
            return key
    return None


class JwksFetcher:
    """Keys of an external issuer, fetched from its ``jwks_uri``."""

    def __init__(self, jwks_uri: str, fetch: Callable[[str], Awaitable[dict[str, Any]]]) -> None:
        self.jwks_uri = jwks_uri
        self._fetch = fetch
        self._keyset = KeySet([])

    def keyset(self) -> KeySet:
        """Keys fetched so far."""
        return self._keyset

    async def refresh(self) -> None:
        """Fetch the JWKS again; keep the old keys if the document is unusable."""
        document = await self._fetch(self.jwks_uri)
        self._keyset = KeySet.import_key_set(document)  # type: ignore[arg-type]

"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2).

The client sends ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer``
and ``client_assertion=<JWT>`` signed with a key from the JWK set it registered. We verify
with joserfc (``authlib.jose`` is deprecated) and check, per RFC 7523 §3:

* ``iss`` = ``sub`` = the client id (and = the ``client_id`` form parameter, if sent);
* ``aud`` contains the issuer or the token endpoint URL;
* ``exp`` present, not past, and at most :data:`MAX_ASSERTION_LIFETIME_SECONDS` ahead;
* ``jti`` present and never seen before while the assertion is valid (replay, §3 item 7);
* ``alg`` in :data:`ASSERTION_ALGORITHMS` (never ``none`` nor HMAC).

An instance is registered with Authlib as the ``private_key_jwt`` client auth method.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc6749 import InvalidClientError
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
"""EdDSA is kept for older clients; RFC 9864 deprecates it for the fully specified Ed25519."""
MAX_ASSERTION_LIFETIME_SECONDS = 300
LEEWAY_SECONDS = 30
MAX_ASSERTION_LENGTH = 8192
MAX_JTI_LENGTH = 256


def unverified_claims(assertion: str) -> dict[str, Any] | None:
    """The claims of an assertion before any check (to find the client, rate-limit, claim its jti)."""
    if len(assertion) > MAX_ASSERTION_LENGTH:
        return None
    try:
        claims = json.loads(jws.extract_compact(assertion.encode("ascii")).payload)
    except (JoseError, ValueError, TypeError, UnicodeError):
        return None
    return claims if isinstance(claims, dict) else None


def unverified_kid(assertion: str) -> str | None:
    """The ``kid`` of an assertion's header before any check (to know whether to refetch keys)."""
    if len(assertion) > MAX_ASSERTION_LENGTH:
        return None
    try:
        header = jws.extract_compact(assertion.encode("ascii")).protected
    except (JoseError, ValueError, TypeError, UnicodeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) and 0 < len(kid) <= 200 else None


def unverified_subject(assertion: str) -> str | None:
    """The ``sub`` of an assertion before any check (only to find the client and rate-limit)."""
    sub = (unverified_claims(assertion) or {}).get("sub")
    return sub if isinstance(sub, str) and 0 < len(sub) <= 64 else None


class SharedJtiGuard:
    """With Redis: a ``jti`` used in one process is refused by every process (RFC 7523 §3 item 7).

    Authlib's core is synchronous, so the claim happens before it runs: ``SET NX`` of
    ``<client>:<jti>`` expiring with the assertion. An assertion that then fails
    verification releases its claim, so a forged assertion cannot burn a real one's ``jti``
    for long. When Redis fails, the per-process :class:`JtiReplayCache` still refuses replays
    to the same process (logged by the caller).
    """

    KEY_PREFIX = "strata:jti:"
    TIMEOUT_SECONDS = 0.25

    def __init__(self, redis_url: str) -> None:
        from core.redis_pool import fail_fast_redis

        self._redis = fail_fast_redis(redis_url, timeout=self.TIMEOUT_SECONDS, max_connections=16)

    @staticmethod
    def key_of(claims: dict[str, Any]) -> tuple[str, int] | None:
        """``(key, seconds to keep it)`` for an assertion's claims, or None if they cannot be claimed."""
        sub, jti, exp = claims.get("sub"), claims.get("jti"), claims.get("exp")
        if not (isinstance(sub, str) and isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_LENGTH):
            return None
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            return None
        ttl = int(min(max(exp - time.time(), 0) + LEEWAY_SECONDS, MAX_ASSERTION_LIFETIME_SECONDS + LEEWAY_SECONDS))
        return f"{SharedJtiGuard.KEY_PREFIX}{sub[:64]}:{jti}", max(ttl, 1)

    async def claim(self, key: str, ttl: int) -> bool:
        """True if this process is the first to present the ``jti``; raises on Redis errors."""
        return bool(await self._redis.set(key, b"1", nx=True, ex=ttl))

    async def release(self, key: str) -> None:
        """Forget a claim whose assertion failed verification."""
        await self._redis.delete(key)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


class JtiReplayCache:
    """``jti`` values of accepted assertions, each remembered until the assertion expires."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._next_purge = 0.0

    def add_if_new(self, key: str, expires_at: float) -> bool:
        """Remember ``key``; False if it was already there (a replay)."""
        now = time.time()
        if now >= self._next_purge:
            self._seen = {seen: exp for seen, exp in self._seen.items() if exp > now}
            self._next_purge = now + LEEWAY_SECONDS
        if key in self._seen:
            return False
        self._seen[key] = expires_at + LEEWAY_SECONDS
        return True


class PrivateKeyJWTAuth:
    """Authlib client-auth method: ``func(query_client, request) -> client | None``."""

    def __init__(self, audiences: Callable[[], list[str]], jwks_of: Callable[[Any], dict[str, Any] | None]) -> None:
        """Args:
        audiences: accepted ``aud`` values (issuer and token endpoint URL).
        jwks_of: the registered public JWK set of an Authlib client object.
        """
        self._audiences = audiences
        self._jwks_of = jwks_of
        self.replay_cache = JtiReplayCache()

    def __call__(self, query_client: Callable[[str], Any], request: Any) -> Any:
        form = request.form
        assertion = form.get("client_assertion")
        if form.get("client_assertion_type") != ASSERTION_TYPE or not assertion:
            return None
        client_id = unverified_subject(assertion)
        if client_id is None:
            raise InvalidClientError(description="The client assertion is not a readable JWT with a sub claim.")
        if form.get("client_id") not in (None, client_id):
            raise InvalidClientError(description="client_id does not match the client assertion.")
        client = query_client(client_id)
        if client is None:
            raise InvalidClientError(description="The client does not exist on this server.")
        jwks = self._jwks_of(client)
        if not jwks:
            raise InvalidClientError(description="The client has no registered keys for private_key_jwt.")
        claims = self._verify(assertion, jwks, client_id)
        if not self.replay_cache.add_if_new(f"{client_id}:{claims['jti']}", float(claims["exp"])):
            raise InvalidClientError(description="The client assertion jti was already used.")
        return client

    def _verify(self, assertion: str, jwks: dict[str, Any], client_id: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(assertion, KeySet.import_key_set(jwks), algorithms=list(ASSERTION_ALGORITHMS))  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise InvalidClientError(description="The client assertion signature is invalid.") from exc
        claims = decoded.claims
        now = time.time()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise InvalidClientError(description="The client assertion iss and sub must be the client id.")
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if not set(self._audiences()).intersection(a for a in audiences if isinstance(a, str)):
            raise InvalidClientError(description="The client assertion aud is not this server.")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise InvalidClientError(description="The client assertion has no exp claim.")
        if exp < now - LEEWAY_SECONDS:
            raise InvalidClientError(description="The client assertion has expired.")
        if exp > now + MAX_ASSERTION_LIFETIME_SECONDS + LEEWAY_SECONDS:
            raise InvalidClientError(description="The client assertion exp is too far in the future.")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and nbf > now + LEEWAY_SECONDS:
            raise InvalidClientError(description="The client assertion is not valid yet.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidClientError(description="The client assertion has no valid jti claim.")
        return dict(claims)

"""JWT access tokens (RFC 9068): issuing them, and verifying our own for introspection.

Header: ``typ: at+jwt`` (RFC 9068 §2.1), ``alg: RS256``, ``kid`` of the current key.
Claims (RFC 9068 §2.2): ``iss``, ``sub`` (the client id: client-credentials tokens have no
user), ``aud`` (the issuer: the gateway is its own resource server), ``client_id``,
``scope`` (space-separated, RFC 6749 §3.3), ``jti``, ``iat``, ``exp``, plus Strata's
``tier`` and, for bound clients, ``partner_id`` / ``customer_id``. A token issued by token
exchange (RFC 8693, :mod:`policies.oauth.token_exchange`) carries the ``customer_id`` it was
exchanged for and ``act: {"sub": <acting client id>}`` (RFC 8693 §4.1).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError

from policies.oauth.clients import ClientRecord
from policies.oauth.keys import SIGNING_ALG, SigningKeyStore

ACCESS_TOKEN_TYP = "at+jwt"
MAX_TOKEN_LENGTH = 8192
"""Longer strings are not tokens we issued; refuse them before any parsing."""


def issue_access_token(
    keys: SigningKeyStore,
    client: ClientRecord,
    oauth_scopes: tuple[str, ...],
    *,
    issuer: str,
    ttl_seconds: int,
    customer_id: str | None = None,
    actor: str | None = None,
) -> tuple[str, dict[str, Any]]:
    """Sign an access token for ``client`` with ``oauth_scopes``; return it and its claims.

    ``customer_id`` binds the token to a customer (else the client's own binding applies);
    ``actor`` adds the RFC 8693 ``act`` claim naming the client acting for that customer.
    """
    kid, key = keys.current()
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": client.client_id,
        "aud": issuer,
        "client_id": client.client_id,
        "scope": " ".join(oauth_scopes),
        "jti": secrets.token_urlsafe(16),
        "iat": now,
        "exp": now + ttl_seconds,
        "tier": client.tier,
    }
    if client.partner_id is not None:
        claims["partner_id"] = client.partner_id
    if client.customer_id is not None:
        claims["customer_id"] = client.customer_id
    if customer_id is not None:
        claims["customer_id"] = customer_id
    if actor is not None:
        claims["act"] = {"sub": actor}
    header = {"typ": ACCESS_TOKEN_TYP, "alg": SIGNING_ALG, "kid": kid}
    return jwt.encode(header, claims, key, algorithms=[SIGNING_ALG]), claims


def verify_access_token(
    keys: SigningKeyStore, token: str, *, issuer: str, leeway_seconds: float = 0
) -> dict[str, Any] | None:
    """Claims of a valid, unexpired access token we issued; None for anything else.

    Checks the signature against the published keys, ``typ``, ``iss``, ``aud`` and ``exp``
    (``leeway_seconds`` past it still counts as unexpired). Revocation and the client's
    standing are the caller's concern (:class:`~policies.oauth.revocation.RevocationList`,
    :mod:`policies.oauth.token_standing`).
    """
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        decoded = jwt.decode(token, keys.public_keyset(), algorithms=[SIGNING_ALG])
        if decoded.header.get("typ") != ACCESS_TOKEN_TYP:
            return None
        registry = jwt.JWTClaimsRegistry(
            leeway=int(leeway_seconds),
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": issuer},
            exp={"essential": True},
            jti={"essential": True},
            sub={"essential": True},
        )
        registry.validate(decoded.claims)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    claims = decoded.claims
    if not isinstance(claims.get("jti"), str) or not isinstance(claims.get("client_id"), str):
        return None
    return dict(claims)

"""Is this token of our issuer still good, and with which scopes now? One answer for every reader.

A JWT access token is self-contained: its signature, ``exp`` and ``scope`` were fixed when it
was issued. What changes afterwards is its client, and that is decided here, from the client
cache (no I/O), for every reader alike — the resource side (``policies.authentication``, through
``TrustedIssuer.live_scopes``), introspection (RFC 7662) and token exchange (RFC 8693) — so they
cannot disagree:

* the client is disabled or deleted → refused;
* the token was issued (``iat``, whole seconds, RFC 7519 NumericDate) before the client's
  ``tokens_not_before`` (set by a disable or delete) → refused, also after a re-enabling; a token
  from the very second of the disabling survives;
* a token from token exchange (an ``act`` claim) whose acting client — its ``client_id`` — no
  longer holds ``experience:customer-portal:act`` → refused;
* otherwise the token's scopes **intersected with the client's scopes now**: removing a scope
  from a client removes it from its live tokens (a tier change does the same through
  ``Components.live_client_settings``);
* a client id not in the cache → as issued: the token carries our signature, so the client
  existed; another process may have created it since our last poll.

Signature, ``typ``, ``iss``/``aud``, expiry and the ``jti`` denylist are checked by the callers
before this. Cost on the hot path: one dict lookup and a subset check; a new set is built only
for a token whose client lost some of its scopes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.oauth.client_fields import PORTAL_ACT_SCOPE
from policies.oauth.clients import CachedClient


def live_scopes(
    entry: CachedClient | None, claims: Mapping[str, Any], token_scopes: frozenset[str]
) -> frozenset[str] | None:
    """The scopes a token of ``entry``'s client holds now, or None if the token is refused.

    Args:
        entry: the client named by the token's ``client_id`` (``ClientStore.cached_entry``).
        claims: the token's verified claims (``iat`` and ``act`` are read).
        token_scopes: the scopes the token was issued with; returned as the same object when
            the client still holds them all.
    """
    if entry is None:
        return token_scopes
    record = entry.record
    if record.status != "active":
        return None
    not_before = record.tokens_not_before
    if not_before is not None:
        issued_at = claims.get("iat")
        if isinstance(issued_at, int | float) and issued_at < int(not_before):
            return None
    allowed = entry.oauth_scope_set
    if "act" in claims and PORTAL_ACT_SCOPE not in allowed:
        return None
    if token_scopes <= allowed:
        return token_scopes
    return token_scopes & allowed


def scope_claim(original: str, scopes: frozenset[str]) -> str:
    """The ``scope`` claim text for ``scopes``, in the order of the original claim (RFC 6749 §3.3)."""
    return " ".join(scope for scope in original.split() if scope in scopes)

"""Token introspection (RFC 7662) for the access tokens this server issues.

The caller authenticates as a client (same methods as the token endpoint, RFC 7662 §2.1).
Any token that is unknown, expired, revoked, badly signed, or that the caller may not see
answers ``{"active": false}`` (§2.2) — never an error that tells them apart. A client may
introspect its own tokens; a client allowed :data:`INTROSPECTION_SCOPE` may introspect any.

"Active" means what the gateway's own pipeline would do with the token now: the same time
rule with the same leeway (:func:`policies.authentication.time_refusal`), the same ``jti``
denylist and the same client decision (:func:`policies.oauth.token_standing.live_scopes`):
a token of a disabled or deleted client, or issued before its client was disabled, is
inactive; a token whose client lost scopes answers with the scopes it still has.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from policies.authentication import time_refusal
from policies.oauth.access_tokens import verify_access_token
from policies.oauth.revocation import RevocationList
from policies.oauth.server import AUTH_METHODS, OAuthClient, OAuthHttpRequest, StrataAuthorizationServer
from policies.oauth.token_standing import live_scopes, scope_claim

INTROSPECTION_SCOPE = "gateway:oauth:read"
"""A client allowed this scope may introspect tokens issued to other clients."""


def _no_leeway() -> float:
    return 0.0


class StrataIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 over self-contained JWT access tokens plus the ``jti`` denylist."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(
        self,
        server: StrataAuthorizationServer,
        revocations: RevocationList,
        leeway_seconds: Callable[[], float] = _no_leeway,
    ) -> None:
        """``leeway_seconds``: the resource side's clock leeway (the governance's), read per request."""
        super().__init__(server)
        self.revocations = revocations
        self.leeway_seconds = leeway_seconds

    def query_token(self, token_string: str, token_type_hint: str | None) -> dict[str, Any] | None:
        server: StrataAuthorizationServer = self.server
        leeway = self.leeway_seconds()
        claims = verify_access_token(server.keys, token_string, issuer=server.issuer, leeway_seconds=leeway)
        if claims is None or self.revocations.is_revoked(claims["jti"]):
            return None
        if time_refusal(claims, time.time(), leeway) is not None:
            return None
        scope = claims.get("scope")
        issued = scope if isinstance(scope, str) else ""
        token_scopes = frozenset(issued.split())
        scopes = live_scopes(server.clients.cached_entry(claims["client_id"]), claims, token_scopes)
        if scopes is None:
            return None
        if scopes is not token_scopes:
            claims["scope"] = scope_claim(issued, scopes)
        return claims

    def check_permission(self, token: dict[str, Any], client: OAuthClient, request: OAuthHttpRequest) -> bool:
        return token.get("client_id") == client.record.client_id or INTROSPECTION_SCOPE in client.record.oauth_scopes

    def create_introspection_payload(self, token: dict[str, Any] | None) -> dict[str, Any]:
        if not token:
            return {"active": False}
        return {"active": True, "token_type": "Bearer", **token}

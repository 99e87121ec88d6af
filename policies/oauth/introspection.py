"""Token introspection (RFC 7662) for the access tokens this server issues.

The caller authenticates as a client (same methods as the token endpoint, RFC 7662 §2.1).
Any token that is unknown, expired, revoked, badly signed, or that the caller may not see
answers ``{"active": false}`` (§2.2) — never an error that tells them apart. A client may
introspect its own tokens; a client allowed :data:`INTROSPECTION_SCOPE` may introspect any.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from policies.oauth.access_tokens import verify_access_token
from policies.oauth.revocation import RevocationList
from policies.oauth.server import AUTH_METHODS, OAuthClient, OAuthHttpRequest, StrataAuthorizationServer

INTROSPECTION_SCOPE = "gateway:oauth:read"
"""A client allowed this scope may introspect tokens issued to other clients."""


class StrataIntrospectionEndpoint(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 over self-contained JWT access tokens plus the ``jti`` denylist."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def __init__(self, server: StrataAuthorizationServer, revocations: RevocationList) -> None:
        super().__init__(server)
        self.revocations = revocations

    def query_token(self, token_string: str, token_type_hint: str | None) -> dict[str, Any] | None:
        server: StrataAuthorizationServer = self.server
        claims = verify_access_token(server.keys, token_string, issuer=server.issuer)
        if claims is None or self.revocations.is_revoked(claims["jti"]):
            return None
        return claims

    def check_permission(self, token: dict[str, Any], client: OAuthClient, request: OAuthHttpRequest) -> bool:
        return token.get("client_id") == client.record.client_id or INTROSPECTION_SCOPE in client.record.oauth_scopes

    def create_introspection_payload(self, token: dict[str, Any] | None) -> dict[str, Any]:
        if not token:
            return {"active": False}
        return {"active": True, "token_type": "Bearer", **token}

"""Token revocation (RFC 7009) for the access tokens this server issues.

The caller authenticates as a client (RFC 7009 §2.1) and may revoke only tokens issued to
itself; another client's token is refused with ``invalid_grant`` (Authlib's choice for
§2.1's "the request is refused"). Unknown, expired or malformed tokens answer 200 (§2.2):
the client cannot act on the difference. A valid token is revoked by its ``jti`` through
:class:`~policies.oauth.revocation.RevocationList`; the synchronous core only marks the
request, and the HTTP layer does the (async) write before answering.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint

from policies.oauth.access_tokens import verify_access_token
from policies.oauth.server import AUTH_METHODS, OAuthClient, OAuthHttpRequest, StrataAuthorizationServer


class StrataRevocationEndpoint(RevocationEndpoint):  # type: ignore[misc]
    """RFC 7009 revocation by ``jti``."""

    CLIENT_AUTH_METHODS = AUTH_METHODS
    SUPPORTED_TOKEN_TYPES = ("access_token", "refresh_token")
    """Hints are accepted and ignored (§2.1): only access tokens exist here."""

    def query_token(self, token_string: str, token_type_hint: str | None) -> dict[str, Any] | None:
        server: StrataAuthorizationServer = self.server
        return verify_access_token(server.keys, token_string, issuer=server.issuer)

    def authenticate_token(self, request: OAuthHttpRequest, client: OAuthClient) -> dict[str, Any] | None:
        self.check_params(request, client)
        claims = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if claims is not None and claims.get("client_id") != client.record.client_id:
            raise InvalidGrantError(description="The token was not issued to this client.")
        return claims

    def revoke_token(self, token: dict[str, Any], request: OAuthHttpRequest) -> None:
        request.revoke_jti = (token["jti"], float(token["exp"]))

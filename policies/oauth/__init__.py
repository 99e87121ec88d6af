"""The embedded OAuth 2.0 authorization server.

``client_credentials`` (RFC 6749 §4.4) issuing RFC 9068 JWT access tokens; client
authentication ``client_secret_basic`` / ``client_secret_post`` / ``private_key_jwt``
(RFC 7523); metadata (RFC 8414) and JWKS with key rotation; introspection (RFC 7662);
revocation (RFC 7009) through a ``jti`` denylist shared by every process.
"""

from policies.oauth.clients import ClientRecord, ClientStore
from policies.oauth.keys import SigningKeyStore
from policies.oauth.revocation import RevocationList
from policies.oauth.routes import oauth_route_handlers
from policies.oauth.service import OAuthService, TokenRequestError, request_token

__all__ = [
    "ClientRecord",
    "ClientStore",
    "OAuthService",
    "RevocationList",
    "SigningKeyStore",
    "TokenRequestError",
    "oauth_route_handlers",
    "request_token",
]

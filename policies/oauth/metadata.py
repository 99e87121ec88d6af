"""Authorization server metadata (RFC 8414 §2) and the published JWK set (RFC 7517 §5)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from policies.oauth.client_assertion import ASSERTION_ALGORITHMS
from policies.oauth.server import AUTH_METHODS, GRANT_TYPES, INTROSPECTION_PATH, REVOCATION_PATH, TOKEN_PATH

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"


def authorization_server_metadata(issuer: str, scopes_supported: Sequence[str] | None = None) -> dict[str, Any]:
    """The RFC 8414 document for ``issuer``.

    Args:
        issuer: the issuer URL, no trailing slash (``Settings.issuer``).
        scopes_supported: scopes to advertise (e.g. those of the contracts); omitted when None,
            since the union of every client's scopes would leak who may do what.
    """
    document: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "introspection_endpoint": issuer + INTROSPECTION_PATH,
        "revocation_endpoint": issuer + REVOCATION_PATH,
        "grant_types_supported": list(GRANT_TYPES),
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
    }
    if scopes_supported is not None:
        document["scopes_supported"] = list(scopes_supported)
    return document

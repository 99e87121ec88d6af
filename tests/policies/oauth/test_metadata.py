"""RFC 8414 metadata and the JWKS document."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from policies.oauth.metadata import authorization_server_metadata
from tests.policies.oauth.conftest import ISSUER


async def test_metadata_document(http: AsyncTestClient[Litestar]) -> None:
    response = await http.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    body = response.json()
    assert body["issuer"] == ISSUER
    assert body["token_endpoint"] == ISSUER + "/oauth/token"
    assert body["jwks_uri"] == ISSUER + "/.well-known/jwks.json"
    assert body["introspection_endpoint"] == ISSUER + "/oauth/introspect"
    assert body["revocation_endpoint"] == ISSUER + "/oauth/revoke"
    assert body["grant_types_supported"] == ["client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"]
    assert body["response_types_supported"] == []
    assert body["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ]
    assert "RS256" in body["token_endpoint_auth_signing_alg_values_supported"]
    assert "none" not in body["token_endpoint_auth_signing_alg_values_supported"]
    assert "scopes_supported" not in body


def test_scopes_supported_only_when_given() -> None:
    assert authorization_server_metadata(ISSUER, ["system:crm:read"])["scopes_supported"] == ["system:crm:read"]


async def test_jwks_document(http: AsyncTestClient[Litestar]) -> None:
    response = await http.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jwk-set+json")
    keys = response.json()["keys"]
    assert len(keys) == 1 and keys[0]["alg"] == "RS256" and "d" not in keys[0]

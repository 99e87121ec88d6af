"""Token endpoint: client_credentials with client_secret_basic / client_secret_post (RFC 6749 §4.4)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.oauth import ClientStore, OAuthService, TokenRequestError, request_token
from tests.policies.oauth.conftest import FORM, ISSUER, FailureLog, basic, decode, make_app, make_settings

SCOPES = ["system:crm:read", "system:crm:write", "process:quote-to-cash:execute"]
Client = AsyncTestClient[Litestar]


async def new_client(service: OAuthService, **kwargs: Any) -> tuple[str, str]:
    record, secret = await service.clients.create("Acme", kwargs.pop("scopes", SCOPES), "silver", **kwargs)
    assert secret is not None
    return record.client_id, secret


async def test_basic_happy_path_issues_rfc9068_token(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service)
    response = await http.post(
        "/oauth/token", headers=basic(client_id, secret), content=b"grant_type=client_credentials&scope=system:crm:read"
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300
    assert body["scope"] == "system:crm:read"

    token = decode(service, body["access_token"])
    assert token.header == {"typ": "at+jwt", "alg": "RS256", "kid": service.keys.current()[0]}
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == ISSUER
    assert claims["sub"] == claims["client_id"] == client_id
    assert claims["scope"] == "system:crm:read"
    assert claims["tier"] == "silver"
    assert claims["exp"] - claims["iat"] == 300
    assert isinstance(claims["jti"], str) and len(claims["jti"]) >= 16
    assert "partner_id" not in claims and "customer_id" not in claims


async def test_post_method_and_bound_client_claims(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service, partner_id="ptn_1", customer_id="cus_9")
    response = await http.post(
        "/oauth/token",
        headers=FORM,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 200, response.text
    claims = decode(service, response.json()["access_token"]).claims
    assert claims["partner_id"] == "ptn_1"
    assert claims["customer_id"] == "cus_9"


async def test_no_scope_means_all_allowed_scopes(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service)
    response = await http.post(
        "/oauth/token", headers=basic(client_id, secret), content=b"grant_type=client_credentials"
    )
    assert response.json()["scope"] == " ".join(SCOPES)


async def test_scope_subset_is_granted(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service)
    response = await http.post(
        "/oauth/token",
        headers=basic(client_id, secret),
        data={"grant_type": "client_credentials", "scope": "system:crm:write  process:quote-to-cash:execute"},
    )
    assert response.status_code == 200
    assert response.json()["scope"] == "system:crm:write process:quote-to-cash:execute"


@pytest.mark.parametrize("scope", ["system:crm:admin", "system:crm:read system:erp:read", "nonsense", '"\\\u00e9'])
async def test_scope_outside_allowed_is_invalid_scope(service: OAuthService, http: Client, scope: str) -> None:
    client_id, secret = await new_client(service)
    response = await http.post(
        "/oauth/token", headers=basic(client_id, secret), data={"grant_type": "client_credentials", "scope": scope}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_wrong_secret_basic_is_401_with_challenge(
    service: OAuthService, http: Client, failures: FailureLog
) -> None:
    client_id, _ = await new_client(service)
    response = await http.post(
        "/oauth/token", headers=basic(client_id, "wrong"), content=b"grant_type=client_credentials"
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert failures.calls == [(client_id, "testclient", "wrong client credentials")]


async def test_wrong_secret_post_is_400(service: OAuthService, http: Client, failures: FailureLog) -> None:
    client_id, _ = await new_client(service)
    response = await http.post(
        "/oauth/token",
        headers=FORM,
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "nope"},
    )
    assert response.status_code == 400
    assert "www-authenticate" not in response.headers
    assert response.json()["error"] == "invalid_client"
    assert failures.calls[0][0] == client_id


async def test_unknown_client(http: Client, failures: FailureLog) -> None:
    response = await http.post(
        "/oauth/token", headers=basic("cli_nobody", "x"), content=b"grant_type=client_credentials"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert failures.calls == [("cli_nobody", "testclient", "The client does not exist on this server.")]


async def test_no_credentials(http: Client, failures: FailureLog) -> None:
    response = await http.post("/oauth/token", headers=FORM, content=b"grant_type=client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"
    assert failures.calls == [(None, "testclient", "no client credentials")]


async def test_disabled_client(service: OAuthService, http: Client, failures: FailureLog) -> None:
    client_id, secret = await new_client(service)
    disabled = await service.clients.disable(client_id)
    assert disabled is not None and disabled.status == "disabled" and disabled.disabled_at
    response = await http.post(
        "/oauth/token", headers=basic(client_id, secret), content=b"grant_type=client_credentials"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert failures.calls[0][2] == "The client is disabled."


async def test_client_created_by_another_process_is_found(
    service: OAuthService, engine: AsyncEngine, http: Client
) -> None:
    other = ClientStore(engine)  # e.g. the CLI, in its own process
    record, secret = await other.create("CLI-made", ["system:crm:read"], "gold")
    assert secret is not None
    response = await http.post(
        "/oauth/token", headers=basic(record.client_id, secret), content=b"grant_type=client_credentials"
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("content", "content_type", "error"),
    [
        (b'{"grant_type": "client_credentials"}', "application/json", "invalid_request"),
        (b"grant_type=client_credentials", "text/plain", "invalid_request"),
        (b"grant_type=client_credentials&grant_type=client_credentials", FORM["Content-Type"], "invalid_request"),
        (b"scope=system:crm:read", FORM["Content-Type"], "invalid_request"),
        (b"grant_type=password&username=a&password=b", FORM["Content-Type"], "unsupported_grant_type"),
        (b"grant_type=authorization_code&code=x", FORM["Content-Type"], "unsupported_grant_type"),
        (b"grant_type=%ff", FORM["Content-Type"], "invalid_request"),
    ],
)
async def test_malformed_requests(
    service: OAuthService, http: Client, content: bytes, content_type: str, error: str
) -> None:
    client_id, secret = await new_client(service)
    headers = {**basic(client_id, secret), "Content-Type": content_type}
    response = await http.post("/oauth/token", headers=headers, content=content)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert set(response.json()) == {"error", "error_description"}


async def test_two_authentication_methods_refused(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service)
    response = await http.post(
        "/oauth/token",
        headers=basic(client_id, secret),
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_failed_authentications_are_rate_limited(service: OAuthService, http: Client) -> None:
    client_id, secret = await new_client(service)
    for _ in range(10):
        response = await http.post(
            "/oauth/token", headers=basic(client_id, "bad"), content=b"grant_type=client_credentials"
        )
        assert response.status_code == 401
    response = await http.post(
        "/oauth/token", headers=basic(client_id, secret), content=b"grant_type=client_credentials"
    )
    assert response.status_code == 429
    assert response.json()["error"] == "too_many_requests"
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_failures_per_client_id_from_many_sources_do_not_lock_it_out(service: OAuthService) -> None:
    # Issue 12: the per-client-id count is a signal, not a lock (the id is in every token).
    client_id, secret = await new_client(service)
    for attempt in range(10):
        response = await service.token(
            b"grant_type=client_credentials", FORM["Content-Type"], basic(client_id, "bad").items(), f"10.0.0.{attempt}"
        )
        assert response.status == 401
    response = await service.token(
        b"grant_type=client_credentials", FORM["Content-Type"], basic(client_id, "bad").items(), "10.0.1.1"
    )
    assert response.status == 401
    response = await service.token(
        b"grant_type=client_credentials", FORM["Content-Type"], basic(client_id, secret).items(), "10.0.1.2"
    )
    assert response.status == 200
    # Another client from a fresh address is unaffected.
    other_id, other_secret = await new_client(service)
    response = await service.token(
        b"grant_type=client_credentials", FORM["Content-Type"], basic(other_id, other_secret).items(), "10.0.2.1"
    )
    assert response.status == 200


async def test_request_token_for_the_cli(service: OAuthService) -> None:
    client_id, secret = await new_client(service)
    token = await request_token(service, client_id, secret, "system:crm:read")
    assert decode(service, token).claims["scope"] == "system:crm:read"
    with pytest.raises(TokenRequestError) as caught:
        await request_token(service, client_id, secret, "system:erp:admin")
    assert caught.value.error == "invalid_scope"


async def test_plain_http_issuer_works(tmp_path: Path, engine: AsyncEngine) -> None:
    settings = make_settings(tmp_path, public_url="http://gateway.internal:8080")
    service = await OAuthService.start(settings, engine, None)
    try:
        record, secret = await service.clients.create("Local", ["system:crm:read"], "bronze")
        assert secret is not None
        async with AsyncTestClient(app=make_app(service), base_url="http://gateway.internal:8080") as http:
            response = await http.post(
                "/oauth/token", headers=basic(record.client_id, secret), content=b"grant_type=client_credentials"
            )
        assert response.status_code == 200, response.text
        assert decode(service, response.json()["access_token"]).claims["iss"] == "http://gateway.internal:8080"
    finally:
        await service.stop()


@pytest.mark.parametrize(
    "authorization", ["Basic ", "Basic !!!", "Basic " + "/w==", "Basic Og==", "Basic bm9jb2xvbg=="]
)
async def test_malformed_basic_credentials_are_invalid_client(http: Client, authorization: str) -> None:
    response = await http.post(
        "/oauth/token", headers={**FORM, "Authorization": authorization}, content=b"grant_type=client_credentials"
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"

"""Random form bodies and headers never make the OAuth endpoints answer 5xx."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar
from litestar.testing import TestClient

from core.db import create_engine
from core.migrations import create_schema
from policies.oauth import OAuthService, oauth_route_handlers
from policies.oauth.auth_failures import AuthFailureLimiter, AuthFailureLimits
from policies.oauth.client_assertion import ASSERTION_TYPE
from tests.policies.oauth.conftest import ISSUER, make_settings

FUZZ_KEY = RSAKey.generate_key(2048, parameters={"kid": "fz"}, private=True)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient[Litestar], dict[str, str]]]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    ids: dict[str, str] = {}

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/t.db")
        await create_schema(engine)
        service = await OAuthService.start(make_settings(tmp_path), engine, None)
        unlimited = "1000000/minute"
        service.failure_limiter = AuthFailureLimiter(
            AuthFailureLimits(per_client_and_source=unlimited, per_source=unlimited)
        )
        record, secret = await service.clients.create("F", ["system:crm:read", "system:crm:write"], "gold")
        assert secret is not None
        jwt_record, _ = await service.clients.create(
            "J", ["system:crm:read"], "gold", jwks={"keys": [FUZZ_KEY.as_dict(private=False)]}
        )
        ids.update(client_id=record.client_id, secret=secret, jwt_client_id=jwt_record.client_id)
        app.state.oauth = service
        try:
            yield
        finally:
            await service.stop()
            await engine.dispose()

    app = Litestar(route_handlers=oauth_route_handlers, lifespan=[lifespan])
    with TestClient(app=app, base_url=ISSUER, raise_server_exceptions=False) as client:
        yield client, ids


KNOWN = ["client_credentials", "password", "authorization_code", "refresh_token", "", "client_credentials\x00"]
NAMES = ["grant_type", "scope", "client_id", "client_secret", "client_assertion", "client_assertion_type", "token"]
text = st.text(max_size=40)
value = st.one_of(text, st.sampled_from(KNOWN), st.sampled_from(["system:crm:read", ASSERTION_TYPE, "cli_x"]))
form = st.dictionaries(st.one_of(st.sampled_from(NAMES), text), value, max_size=6)
raw_body = st.one_of(st.binary(max_size=200), form.map(lambda f: urlencode(f).encode()))
content_type = st.sampled_from(
    ["application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "application/json", ""]
)
authorization = st.one_of(
    st.none(),
    st.text(max_size=40).map(lambda t: "Basic " + base64.b64encode(t.encode()).decode()),
    st.sampled_from(["Basic", "Basic !!!", "Bearer x", "Basic Og==", "basic Y2xpX3g6eQ=="]),
)
path = st.sampled_from(["/oauth/token", "/oauth/introspect", "/oauth/revoke"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=path, body=raw_body, media_type=content_type, auth=authorization)
def test_random_requests_never_5xx(
    fuzz_client: tuple[TestClient[Litestar], dict[str, str]], path: str, body: bytes, media_type: str, auth: str | None
) -> None:
    client, _ = fuzz_client
    headers = {"Content-Type": media_type} if media_type else {}
    if auth is not None:
        headers["Authorization"] = auth
    response = client.post(path, content=body, headers=headers)
    assert response.status_code < 500, response.text
    assert "error" in response.json() or response.status_code == 200


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims=st.dictionaries(
        st.sampled_from(["iss", "sub", "aud", "exp", "jti", "nbf", "iat"]),
        st.one_of(st.integers(), st.text(max_size=10), st.none(), st.lists(st.text(max_size=5), max_size=2)),
    ),
    use_own_sub=st.booleans(),
)
def test_random_assertion_claims_never_5xx(
    fuzz_client: tuple[TestClient[Litestar], dict[str, str]], claims: dict[str, Any], use_own_sub: bool
) -> None:
    client, ids = fuzz_client
    if use_own_sub:
        claims = {"iss": ids["jwt_client_id"], "sub": ids["jwt_client_id"], "exp": int(time.time()) + 60, **claims}
    token = jwt.encode({"alg": "RS256", "kid": "fz"}, claims, FUZZ_KEY, algorithms=["RS256"])
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": token}
    response = client.post("/oauth/token", data=data)
    assert response.status_code < 500, response.text


def test_valid_request_in_fuzz_app(fuzz_client: tuple[TestClient[Litestar], dict[str, str]]) -> None:
    client, ids = fuzz_client
    response = client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(ids["client_id"], ids["secret"])
    )
    assert response.status_code == 200


token_text = st.one_of(
    st.text(max_size=60),
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", max_size=30), max_size=5
    ).map(".".join),
    st.sampled_from(["eyJhbGciOiJub25lIn0.eyJqdGkiOiJ4In0.", "eyJhbGciOiJSUzI1NiIsImtpZCI6InplIn0.e30.AAAA"]),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["/oauth/introspect", "/oauth/revoke"]),
    token=token_text,
    hint=st.one_of(st.none(), st.text(max_size=15), st.sampled_from(["access_token", "refresh_token"])),
)
def test_random_tokens_on_introspection_and_revocation(
    fuzz_client: tuple[TestClient[Litestar], dict[str, str]], path: str, token: str, hint: str | None
) -> None:
    client, ids = fuzz_client
    data = {"token": token} if hint is None else {"token": token, "token_type_hint": hint}
    response = client.post(path, data=data, auth=(ids["client_id"], ids["secret"]))
    assert response.status_code < 500, response.text
    if path == "/oauth/introspect" and response.status_code == 200:
        assert response.json() == {"active": False}

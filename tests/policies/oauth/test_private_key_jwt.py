"""private_key_jwt client authentication (RFC 7523 §2.2, §3)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from policies.oauth import OAuthService
from tests.policies.oauth.conftest import FORM, ISSUER, FailureLog, assertion, assertion_form, basic, decode

Client = AsyncTestClient[Litestar]


def rsa_key(kid: str = "k1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


async def jwt_client(service: OAuthService, key: Any) -> str:
    jwks = {"keys": [key.as_dict(private=False)]}
    record, secret = await service.clients.create("Signer", ["system:crm:read"], "gold", jwks=jwks)
    assert secret is None
    assert record.auth_method == "private_key_jwt"
    return record.client_id


@pytest.mark.parametrize(
    ("make_key", "alg"),
    [
        (rsa_key, "RS256"),
        (rsa_key, "PS256"),
        (lambda: ECKey.generate_key("P-256", parameters={"kid": "e1"}, private=True), "ES256"),
        (lambda: OKPKey.generate_key("Ed25519", parameters={"kid": "o1"}, private=True), "EdDSA"),
        (lambda: OKPKey.generate_key("Ed25519", parameters={"kid": "o2"}, private=True), "Ed25519"),
    ],
)
@pytest.mark.filterwarnings("ignore:EdDSA is deprecated")
async def test_good_assertion(service: OAuthService, http: Client, make_key: Any, alg: str) -> None:
    key = make_key()
    client_id = await jwt_client(service, key)
    response = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(key, client_id, alg=alg)))
    assert response.status_code == 200, response.text
    assert decode(service, response.json()["access_token"]).claims["sub"] == client_id


async def test_issuer_is_accepted_as_audience(service: OAuthService, http: Client) -> None:
    key = rsa_key()
    client_id = await jwt_client(service, key)
    token = assertion(key, client_id, aud=["https://elsewhere.test", ISSUER])
    response = await http.post("/oauth/token", headers=FORM, data=assertion_form(token, client_id=client_id))
    assert response.status_code == 200, response.text


def _bad_cases() -> list[tuple[str, Any]]:
    return [
        ("bad signature", lambda key, cid: assertion(rsa_key("k1"), cid)),
        ("wrong aud", lambda key, cid: assertion(key, cid, aud="https://other.test/oauth/token")),
        ("expired", lambda key, cid: assertion(key, cid, lifetime=-120)),
        ("too long-lived", lambda key, cid: assertion(key, cid, lifetime=3600)),
        ("no jti", lambda key, cid: assertion(key, cid, jti=None)),
        ("iss differs", lambda key, cid: assertion(key, cid, iss="someone-else")),
        ("no exp", lambda key, cid: _no_exp(key, cid)),
        ("HS256", lambda key, cid: _hs256(cid)),
        ("garbage", lambda key, cid: "not.a.jwt"),
    ]


def _no_exp(key: RSAKey, client_id: str) -> str:
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": "j"}
    return jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key, algorithms=["RS256"])


def _hs256(client_id: str) -> str:
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "jti": "j", "exp": int(time.time()) + 60}
    return jwt.encode({"alg": "HS256"}, claims, OctKey.generate_key(256), algorithms=["HS256"])


@pytest.mark.parametrize(("case", "make"), _bad_cases(), ids=[case for case, _ in _bad_cases()])
async def test_bad_assertion_is_invalid_client(
    service: OAuthService, http: Client, failures: FailureLog, case: str, make: Any
) -> None:
    key = rsa_key()
    client_id = await jwt_client(service, key)
    response = await http.post("/oauth/token", headers=FORM, data=assertion_form(make(key, client_id)))
    assert response.status_code == 400, case
    assert response.json()["error"] == "invalid_client"
    assert len(failures.calls) == 1


async def test_reused_jti_is_refused(service: OAuthService, http: Client, failures: FailureLog) -> None:
    key = rsa_key()
    client_id = await jwt_client(service, key)
    token = assertion(key, client_id, jti="once")
    first = await http.post("/oauth/token", headers=FORM, data=assertion_form(token))
    assert first.status_code == 200
    again = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(key, client_id, jti="once")))
    assert again.status_code == 400
    # The answer is the one every failed client authentication gets; the audit says why.
    assert again.json() == {"error": "invalid_client", "error_description": "Client authentication failed."}
    assert "already used" in failures.calls[-1][2]


async def test_client_id_must_match_assertion(service: OAuthService, http: Client) -> None:
    key = rsa_key()
    client_id = await jwt_client(service, key)
    response = await http.post(
        "/oauth/token", headers=FORM, data=assertion_form(assertion(key, client_id), client_id="cli_other")
    )
    assert response.json()["error"] == "invalid_client"


async def test_secret_client_cannot_use_assertion_and_jwt_client_has_no_secret(
    service: OAuthService, http: Client
) -> None:
    key = rsa_key()
    record, secret = await service.clients.create("Secret", ["system:crm:read"], "gold")
    assert secret is not None
    response = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(key, record.client_id)))
    assert response.json()["error"] == "invalid_client"
    jwt_id = await jwt_client(service, key)
    response = await http.post("/oauth/token", headers=basic(jwt_id, ""), content=b"grant_type=client_credentials")
    assert response.json()["error"] == "invalid_client"


async def test_private_key_material_is_not_stored(service: OAuthService) -> None:
    key = rsa_key()
    record, _ = await service.clients.create("Signer", ["system:crm:read"], "gold", jwks={"keys": [key.as_dict()]})
    assert record.jwks is not None
    assert "d" not in record.jwks["keys"][0]


@pytest.mark.parametrize("jwks", [{"keys": []}, {"keys": [{"kty": "oct", "k": "AAAA"}]}, {"nope": 1}])
@pytest.mark.filterwarnings("ignore:Key size should be")
async def test_unusable_jwks_refused(service: OAuthService, jwks: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="jwks"):
        await service.clients.create("Signer", ["system:crm:read"], "gold", jwks=jwks)


@pytest.mark.redis
async def test_a_jti_used_in_one_process_is_refused_in_another(tmp_path: Any, engine: Any, redis_url: str) -> None:
    from tests.policies.oauth.conftest import make_app, make_settings

    first = await OAuthService.start(make_settings(tmp_path), engine, redis_url)
    audited = FailureLog()
    second = await OAuthService.start(make_settings(tmp_path), engine, redis_url, on_auth_failure=audited)
    try:
        key = rsa_key()
        client_id = await jwt_client(first, key)
        await second.clients.load_one(client_id)
        # On this test's own event loop (the Redis connections live on it), unlike AsyncTestClient.
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(first)), base_url=ISSUER) as one,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=make_app(second)), base_url=ISSUER) as two,
        ):
            # A forged assertion (someone else's key) with the jti the client will use next
            # is refused, and does not burn that jti.
            forged = assertion(rsa_key(), client_id, jti="shared-1")
            assert (await two.post("/oauth/token", headers=FORM, data=assertion_form(forged))).status_code in (400, 401)

            token = assertion(key, client_id, jti="shared-1")
            accepted = await one.post("/oauth/token", headers=FORM, data=assertion_form(token))
            assert accepted.status_code == 200, accepted.text
            replayed = await two.post("/oauth/token", headers=FORM, data=assertion_form(token))
            assert replayed.status_code == 400
            # The answer is the one every failed client authentication gets; the audit says why.
            assert replayed.json()["error_description"] == "Client authentication failed."
            assert "already used" in audited.calls[-1][2]
    finally:
        await first.stop()
        await second.stop()


@pytest.mark.parametrize("service", [{"allow_loopback_destinations": True}], indirect=True)  # a loopback jwks_uri
async def test_keys_published_at_a_jwks_uri_are_fetched_cached_and_refetched_on_rotation(
    service: OAuthService, http: Client
) -> None:
    import time_machine

    from tests.support.jwks_server import JwksServer

    first, second = rsa_key("k1"), rsa_key("k2")
    with JwksServer({"keys": [first.as_dict(private=False)]}) as published:
        record, secret = await service.clients.create("Signer", ["system:crm:read"], "gold", jwks_uri=published.url)
        assert secret is None and record.auth_method == "private_key_jwt" and record.jwks is None
        for _ in range(2):
            ok = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(first, record.client_id)))
            assert ok.status_code == 200, ok.text
        assert published.fetches == 1  # cached

        published.publish({"keys": [second.as_dict(private=False)]})  # the client rotates its key
        early = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(second, record.client_id)))
        assert early.status_code == 400  # within the refetch cooldown: not fetched again
        assert published.fetches == 1
        with time_machine.travel(time.time() + 31, tick=True):
            later = assertion(second, record.client_id)
            rotated = await http.post("/oauth/token", headers=FORM, data=assertion_form(later))
            assert rotated.status_code == 200, rotated.text
        assert published.fetches == 2


@pytest.mark.parametrize(
    "uri", ["http://jwks.example.com/keys", "ftp://127.0.0.1/keys", "https://", "https://x/" + "a" * 500]
)
async def test_unsafe_jwks_uris_are_refused(service: OAuthService, uri: str) -> None:
    with pytest.raises(ValueError, match="jwks_uri"):
        await service.clients.create("Signer", ["system:crm:read"], "gold", jwks_uri=uri)

"""The JWT attack matrix, end to end through the real gateway and its real token server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.support.harness import Gateway, problem, running_gateway
from tests.support.jwks_server import JwksServer
from tests.support.probe import probe_options

ACCOUNTS = "/system/probe/v1/items/abc"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state", **probe_options(tmp_path)) as gateway:
        yield gateway


def _signing_key(gw: Gateway) -> tuple[str, RSAKey]:
    kid, key = gw.oauth.keys.current()
    return kid, key


def _claims(gw: Gateway, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    issuer = gw.app.state.settings.issuer
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": "cli_forged",
        "aud": issuer,
        "client_id": "cli_forged",
        "scope": "system:probe:read",
        "jti": f"jti-{now}-{id(changes)}",
        "iat": now,
        "exp": now + 300,
        "tier": "gold",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def _mint(gw: Gateway, header: dict[str, Any] | None = None, **changes: Any) -> str:
    kid, key = _signing_key(gw)
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": kid, **(header or {})}, _claims(gw, **changes), key)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _get(gw: Gateway, token: str) -> Any:
    return await gw.client.get(ACCOUNTS, headers={"Authorization": f"Bearer {token}"})


def _assert_invalid_token(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    problem(response)


async def test_no_credentials_gets_a_bare_bearer_challenge(gw: Gateway) -> None:
    response = await gw.client.get(ACCOUNTS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="strata"'
    assert problem(response)["request_id"] == response.headers["x-request-id"]


async def test_a_token_from_the_embedded_server_is_accepted(gw: Gateway) -> None:
    headers = await gw.bearer("system:probe:read")
    response = await gw.client.get(ACCOUNTS, headers=headers)
    assert response.status_code == 200, response.text


async def test_a_token_minted_with_the_real_key_is_accepted(gw: Gateway) -> None:
    assert (await _get(gw, _mint(gw))).status_code == 200


async def test_tampered_payload_is_refused(gw: Gateway) -> None:
    header, _, signature = (await gw.token(*await gw.create_client("system:probe:read"))).split(".")
    payload = _claims(gw, scope="system:probe:read system:probe:write")
    forged = f"{header}.{_b64(json.dumps(payload).encode())}.{signature}"
    _assert_invalid_token(await _get(gw, forged))


async def test_alg_none_is_refused(gw: Gateway) -> None:
    kid, _ = _signing_key(gw)
    header = _b64(json.dumps({"alg": "none", "typ": "at+jwt", "kid": kid}).encode())
    payload = _b64(json.dumps(_claims(gw)).encode())
    _assert_invalid_token(await _get(gw, f"{header}.{payload}."))


async def test_hs256_signed_with_the_public_key_is_refused(gw: Gateway) -> None:
    # The classic key-confusion attack: HMAC "signed" with the server's public key as secret.
    kid, key = _signing_key(gw)
    secret = key.as_pem(private=False)
    signing_input = (
        _b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": kid}).encode())
        + "."
        + _b64(json.dumps(_claims(gw)).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    _assert_invalid_token(await _get(gw, f"{signing_input}.{_b64(signature)}"))


@pytest.mark.parametrize("carried", ["jwk", "jku", "x5u"])
async def test_key_carrying_headers_are_refused(gw: Gateway, carried: str) -> None:
    attacker = RSAKey.generate_key(2048, private=True)
    value: Any = attacker.as_dict(private=False) if carried == "jwk" else "https://attacker.example/jwks.json"
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "attacker", carried: value}, _claims(gw), attacker)
    _assert_invalid_token(await _get(gw, token))


async def test_unknown_kid_is_refused_after_one_refetch(gw: Gateway) -> None:
    attacker = RSAKey.generate_key(2048, private=True)
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "not-ours"}, _claims(gw), attacker)
    _assert_invalid_token(await _get(gw, token))
    _assert_invalid_token(await _get(gw, token))  # within the cooldown: no second refetch, same answer


async def test_a_key_rotated_in_by_another_process_is_found_by_refetch(gw: Gateway) -> None:
    from core.master_key import resolve_master_key
    from policies.oauth import SigningKeyStore

    secret = resolve_master_key(gw.app.state.settings)
    other_process_keys = SigningKeyStore(gw.app.state.components.engine, 900, key_encryption_secret=secret)
    await other_process_keys.start()
    new_kid = await other_process_keys.rotate()
    _, new_key = other_process_keys.current()
    token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": new_kid}, _claims(gw), new_key)
    assert (await _get(gw, token)).status_code == 200


NOW = object()
"""Stands for the time the test runs (not the time it was collected: a long suite lies between)."""


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"exp": (NOW, -120)}, "expired beyond the leeway"),
        ({"nbf": (NOW, 120)}, "not valid yet"),
        ({"iss": "https://evil.example"}, "unknown issuer"),
        ({"aud": "https://someone-else.example"}, "wrong audience"),
        ({"exp": None}, "no exp"),
        ({"iat": (NOW, 3600)}, "issued in the future"),
    ],
)
async def test_bad_claims_are_refused(gw: Gateway, changes: dict[str, Any], why: str) -> None:
    now = int(time.time())
    claims = {
        name: now + value[1] if isinstance(value, tuple) and value[0] is NOW else value
        for name, value in changes.items()
    }
    _assert_invalid_token(await _get(gw, _mint(gw, **claims)))


async def test_expiry_within_the_leeway_is_tolerated(gw: Gateway) -> None:
    assert (await _get(gw, _mint(gw, exp=int(time.time()) - 5))).status_code == 200


@pytest.mark.parametrize("typ", [None, "JWT"])
async def test_the_embedded_issuer_requires_rfc9068_typ(gw: Gateway, typ: str | None) -> None:
    kid, key = _signing_key(gw)
    header: dict[str, Any] = {"alg": "RS256", "kid": kid}
    if typ:
        header["typ"] = typ
    _assert_invalid_token(await _get(gw, jwt.encode(header, _claims(gw), key)))


async def test_application_at_jwt_typ_is_accepted(gw: Gateway) -> None:
    assert (await _get(gw, _mint(gw, header={"typ": "application/at+jwt"}))).status_code == 200


async def test_garbage_tokens_are_refused_not_crashed(gw: Gateway) -> None:
    for garbage in ["abc", "a.b.c", "....", "eyJhbGciOiJSUzI1NiJ9.e30.sig", "é.é.é"]:
        response = await gw.client.get(ACCOUNTS, headers={"Authorization": f"Bearer {garbage}".encode()})  # type: ignore[dict-item]
        assert response.status_code == 401, garbage


async def test_token_in_the_query_string_is_an_invalid_request(gw: Gateway) -> None:
    response = await gw.client.get(ACCOUNTS, params={"access_token": _mint(gw)})
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


async def test_two_credentials_are_an_invalid_request(gw: Gateway) -> None:
    token = _mint(gw)
    response = await gw.client.get(
        ACCOUNTS, params={"access_token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 400
    two_headers = await gw.client.get(
        ACCOUNTS, headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    )
    assert two_headers.status_code == 400


async def test_a_revoked_token_is_refused(gw: Gateway) -> None:
    client_id, secret = await gw.create_client("system:probe:read")
    token = await gw.token(client_id, secret)
    assert (await _get(gw, token)).status_code == 200  # now cached as verified
    revoked = await gw.client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200
    _assert_invalid_token(await _get(gw, token))


async def test_disabling_a_client_stops_its_live_tokens(gw: Gateway) -> None:
    client_id, secret = await gw.create_client("system:probe:read")
    token = await gw.token(client_id, secret)
    assert (await _get(gw, token)).status_code == 200
    await gw.oauth.clients.disable(client_id)
    _assert_invalid_token(await _get(gw, token))


# ---------------------------------------------------------------- external issuers


@pytest.fixture
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True, parameters={"kid": "idp-1"})


@pytest.fixture
def idp(idp_key: RSAKey) -> Iterator[JwksServer]:
    with JwksServer({"keys": [idp_key.as_dict(private=False)]}) as server:
        yield server


async def test_an_external_issuer_with_its_own_conventions(tmp_path: Path, idp: JwksServer, idp_key: RSAKey) -> None:
    issuers = f"""issuers:
  - issuer: https://idp.example/realms/acme
    jwks_uri: {idp.url}
    audience: strata-api
    accepted_typ: [null, JWT]
    scopes_claim: scp
    partner_id_claim: acme_partner
    tier: silver
"""
    # the IdP's key set is on this machine: loopback destinations allowed, as only a test may
    options = probe_options(tmp_path, issuers=issuers)
    async with running_gateway(tmp_path / "state", allow_loopback_destinations=True, **options) as gw:
        now = int(time.time())
        claims = {
            "iss": "https://idp.example/realms/acme",
            "sub": "svc-1",
            "azp": "acme-app",
            "aud": "strata-api",
            "scp": ["system:probe:read"],
            "iat": now,
            "exp": now + 300,
        }
        token = jwt.encode({"alg": "RS256", "kid": "idp-1"}, claims, idp_key)  # no typ, as Entra/Keycloak send
        assert (await _get(gw, token)).status_code == 200
        wrong_audience = jwt.encode({"alg": "RS256", "kid": "idp-1"}, {**claims, "aud": "other"}, idp_key)
        _assert_invalid_token(await _get(gw, wrong_audience))
        partner = jwt.encode({"alg": "RS256", "kid": "idp-1"}, {**claims, "acme_partner": "P-9"}, idp_key)
        confined = await _get(gw, partner)
        assert confined.status_code == 403, "a partner-bound token must not reach a system API"

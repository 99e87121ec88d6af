"""An external issuer's ``jwks_uri`` goes through the outbound destination policy, end to end.

A real gateway (``running_gateway``), a real IdP key set on 127.0.0.1 (plain ``JwksServer`` or
HTTPS with a test CA the gateway trusts through ``SSL_CERT_FILE``, as an operator would add an
enterprise CA), tokens signed with the IdP's key. DNS answers are the one stand-in: set on the
components before start (``resolve``), read at every fetch.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar

from core.destinations import DestinationRefused
from tests.core.test_destinations import Counting, answers, no_real_dns_for
from tests.support.harness import Gateway, running_gateway
from tests.support.jwks_server import JwksServer
from tests.support.probe import probe_options
from tests.support.tls_server import TestCA, TlsServer

ACCOUNTS = "/system/probe/v1/items/abc"
IDP = "https://idp.example/realms/acme"
IDP_HOST = "idp.strata.test"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="module")
def idp_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True, parameters={"kid": "idp-1"})


def issuer_yaml(jwks_uri: str, *extra: str) -> str:
    lines = [f"  - issuer: {IDP}", f"    jwks_uri: {jwks_uri}", "    audience: strata-api", *extra]
    return "issuers:\n" + "\n".join(lines) + "\n"


def idp_token(key: RSAKey) -> dict[str, str]:
    now = int(time.time())
    claims = {"iss": IDP, "sub": "svc-1", "aud": "strata-api", "scope": "system:probe:read"}
    claims |= {"iat": now, "exp": now + 300}
    return {"Authorization": f"Bearer {jwt.encode({'alg': 'RS256', 'typ': 'at+jwt', 'kid': 'idp-1'}, claims, key)}"}


async def _status(gw: Gateway, key: RSAKey) -> int:
    return (await gw.client.get(ACCOUNTS, headers=idp_token(key))).status_code


def _resolving(resolver: Any) -> Any:
    def install(app: Litestar) -> None:
        app.state.components.resolve = resolver

    return install


async def test_a_loopback_jwks_uri_is_fetched_only_with_the_switch(tmp_path: Path, idp_key: RSAKey) -> None:
    with JwksServer({"keys": [idp_key.as_dict(private=False)]}) as idp:
        options = probe_options(tmp_path, issuers=issuer_yaml(idp.url))
        async with running_gateway(tmp_path / "off", **options) as gw:
            assert await _status(gw, idp_key) == 401
        assert idp.fetches == 0  # never connected to
        async with running_gateway(tmp_path / "on", allow_loopback_destinations=True, **options) as gw:
            assert await _status(gw, idp_key) == 200
        assert idp.fetches == 1


async def test_keys_come_from_the_checked_address_with_the_names_host_and_sni(
    tmp_path: Path, idp_key: RSAKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_real_dns_for(IDP_HOST)
    ca = TestCA()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))  # the operator's enterprise CA
    resolver = Counting(IDP_HOST, "127.0.0.1")
    with TlsServer(ca, (IDP_HOST,), body={"keys": [idp_key.as_dict(private=False)]}) as idp:
        options = probe_options(tmp_path, issuers=issuer_yaml(f"https://{IDP_HOST}:{idp.port}/keys"))
        async with running_gateway(
            tmp_path / "state", allow_loopback_destinations=True, before_start=_resolving(resolver), **options
        ) as gw:
            assert await _status(gw, idp_key) == 200
        assert resolver.calls == 1  # and no real resolver knows the name
        assert idp.sni == [IDP_HOST]
        [seen] = idp.requests
        assert (seen.method, seen.path, seen.host) == ("GET", "/keys", f"{IDP_HOST}:{idp.port}")


@pytest.mark.parametrize("host", [IDP_HOST, "127.0.0.1"])  # a name resolving to loopback, and the literal
async def test_loopback_is_never_connected_to_without_the_switch(
    tmp_path: Path, idp_key: RSAKey, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    ca = TestCA()
    monkeypatch.setenv("SSL_CERT_FILE", str(ca.ca_file))
    with TlsServer(ca, (IDP_HOST,), body={"keys": [idp_key.as_dict(private=False)]}) as idp:
        options = probe_options(tmp_path, issuers=issuer_yaml(f"https://{host}:{idp.port}/keys"))
        resolve = _resolving(Counting(IDP_HOST, "127.0.0.1"))
        async with running_gateway(tmp_path / "state", before_start=resolve, **options) as gw:
            assert await _status(gw, idp_key) == 401
        assert idp.connections == 0


async def test_proxy_variables_do_not_reach_the_fetch(
    tmp_path: Path, idp_key: RSAKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        TlsServer(TestCA(), ("proxy.test",)) as proxy,
        JwksServer({"keys": [idp_key.as_dict(private=False)]}) as idp,
    ):
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        for variable in PROXY_VARIABLES:
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        options = probe_options(tmp_path, issuers=issuer_yaml(idp.url))
        async with running_gateway(tmp_path / "state", allow_loopback_destinations=True, **options) as gw:
            assert await _status(gw, idp_key) == 200
        assert idp.fetches == 1 and proxy.connections == 0


@pytest.mark.parametrize("allowed", [False, True])
async def test_a_private_network_only_for_an_issuer_that_allows_it(tmp_path: Path, allowed: bool) -> None:
    extra = ["    allow_private_network: true"] if allowed else []
    options = probe_options(tmp_path, issuers=issuer_yaml("https://idp.corp.example/keys", *extra))
    resolve = _resolving(answers("10.255.255.1"))
    async with running_gateway(tmp_path / "state", before_start=resolve, **options) as gw:
        [issuer] = [i for i in gw.app.state.components.trusted_issuers() if i.issuer == IDP]
        if not allowed:
            with pytest.raises(DestinationRefused, match=r"not a public address \(private\)"):
                await issuer.keys.refresh()
        else:  # the check lets it through: the fetch connects (nothing answers there, so it never completes)
            with pytest.raises((TimeoutError, httpx.ConnectError, httpx.ConnectTimeout)):
                await asyncio.wait_for(issuer.keys.refresh(), 0.5)

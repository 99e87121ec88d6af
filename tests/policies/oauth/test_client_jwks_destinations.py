"""A client's ``jwks_uri`` goes through the outbound destination policy, at registration and at every fetch.

Real servers on 127.0.0.1: the plain-HTTP ``JwksServer`` and an HTTPS server with a test CA
(``tests/support/tls_server.py``); DNS answers are the one stand-in.
"""

from __future__ import annotations

import pytest
from joserfc.jwk import RSAKey
from litestar import Litestar
from litestar.testing import AsyncTestClient

from core.destinations import DestinationPolicy, outbound_client
from policies.oauth import OAuthService
from policies.oauth.client_jwks import FETCH_TIMEOUT, ClientJwksCache
from tests.core.test_destinations import Counting, no_real_dns_for
from tests.policies.oauth.conftest import FORM, assertion, assertion_form
from tests.support.jwks_server import JwksServer
from tests.support.tls_server import TestCA, TlsServer

KEYS = "keys.client.test"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


def rsa_key(kid: str = "k1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


async def test_a_loopback_jwks_uri_is_not_fetched_by_default(
    service: OAuthService, http: AsyncTestClient[Litestar]
) -> None:
    key = rsa_key()
    with JwksServer({"keys": [key.as_dict(private=False)]}) as published:
        # the form passes registration (the switch belongs to the running gateway) ...
        record, _ = await service.clients.create("Signer", ["system:crm:read"], "gold", jwks_uri=published.url)
        response = await http.post("/oauth/token", headers=FORM, data=assertion_form(assertion(key, record.client_id)))
        # ... and the fetch is refused: nothing reaches the server, the assertion finds no key
        assert response.status_code in (400, 401), response.text
        assert published.fetches == 0


@pytest.mark.parametrize(
    "uri",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.7/jwks.json",
        "https://[fd00::7]/jwks.json",
        "https://[::ffff:169.254.169.254]/jwks.json",
        "https://[64:ff9b::a9fe:a9fe]/jwks.json",
        "https://100.100.100.200/jwks.json",
        "https://224.0.0.1/jwks.json",
        "https://2130706433/jwks.json",
        "https://0x7f.1/jwks.json",
        "https://keys@keys.client.example/jwks.json",
    ],
)
async def test_non_public_jwks_uris_are_refused_at_registration(service: OAuthService, uri: str) -> None:
    with pytest.raises(ValueError, match="jwks_uri: destination not allowed"):
        await service.clients.create("Signer", ["system:crm:read"], "gold", jwks_uri=uri)


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


async def test_keys_are_fetched_from_the_checked_address_with_the_names_host_and_sni(ca: TestCA) -> None:
    no_real_dns_for(KEYS)
    key = rsa_key()
    resolver = Counting(KEYS, "127.0.0.1")
    with TlsServer(ca, (KEYS,), body={"keys": [key.as_dict(private=False)]}) as server:
        cache = ClientJwksCache(
            outbound_client(FETCH_TIMEOUT, verify=ca.client_context()),
            policy=DestinationPolicy(allow_loopback=True),
            resolve=resolver,
        )
        try:
            await cache.ensure("cli_signer", f"https://{KEYS}:{server.port}/jwks.json", "k1")
        finally:
            await cache.aclose()
        published = cache.get("cli_signer")
        assert published is not None and [k["kid"] for k in published["keys"]] == ["k1"]
        assert resolver.calls == 1
        assert server.sni == [KEYS]
        [seen] = server.requests
        assert (seen.method, seen.path, seen.host) == ("GET", "/jwks.json", f"{KEYS}:{server.port}")


@pytest.mark.parametrize("host", [KEYS, "127.0.0.1"])  # a name resolving to loopback, and the literal
async def test_a_refused_jwks_uri_is_never_connected_to(ca: TestCA, host: str) -> None:
    key = rsa_key()
    with TlsServer(ca, (KEYS,), body={"keys": [key.as_dict(private=False)]}) as server:
        cache = ClientJwksCache(
            outbound_client(FETCH_TIMEOUT, verify=ca.client_context()), resolve=Counting(KEYS, "127.0.0.1")
        )
        try:
            await cache.ensure("cli_signer", f"https://{host}:{server.port}/jwks.json", "k1")
        finally:
            await cache.aclose()
        assert cache.get("cli_signer") is None
        assert server.connections == 0


async def test_proxy_variables_do_not_reach_the_fetch(monkeypatch: pytest.MonkeyPatch, ca: TestCA) -> None:
    key = rsa_key()
    with TlsServer(ca, ("proxy.test",)) as proxy, JwksServer({"keys": [key.as_dict(private=False)]}) as published:
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        for variable in PROXY_VARIABLES:
            monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        cache = ClientJwksCache(policy=DestinationPolicy(allow_loopback=True))  # its own default client
        try:
            await cache.ensure("cli_signer", published.url, "k1")
        finally:
            await cache.aclose()
        assert cache.get("cli_signer") is not None
        assert published.fetches == 1 and proxy.connections == 0

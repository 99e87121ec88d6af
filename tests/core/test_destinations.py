"""The outbound destination policy: which addresses and URLs the gateway may send to, and how it connects.

DNS answers are the one stand-in (``answers``): what a name resolves to is someone else's DNS.
The connection tests use real servers on 127.0.0.1 (HTTPS with a test CA, see
``tests/support/tls_server.py``) and names under ``.test``, which no real resolver answers: a request
that arrives proves the client connected to the address the check saw, with no second lookup.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from core.destinations import (
    BENCHMARKING,
    BROADCAST,
    DOCUMENTATION,
    LINK_LOCAL,
    LOOPBACK,
    METADATA,
    MULTICAST,
    PRIVATE,
    RESERVED,
    SHARED,
    SITE_LOCAL,
    TEREDO,
    UNIQUE_LOCAL,
    UNSPECIFIED,
    DestinationGuard,
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
    Resolver,
    address_rule,
    outbound_client,
)
from tests.support.tls_server import TestCA, TlsServer

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
TIMEOUT = httpx.Timeout(5.0)

ADDRESSES: list[tuple[str, str | None]] = [
    # IPv4
    (PUBLIC_V4, None),
    ("8.8.8.8", None),
    ("10.0.0.7", PRIVATE),
    ("172.16.5.4", PRIVATE),
    ("192.168.1.1", PRIVATE),
    ("127.0.0.1", LOOPBACK),
    ("127.255.0.9", LOOPBACK),
    ("169.254.169.254", LINK_LOCAL),
    ("100.64.0.1", SHARED),
    ("100.100.100.200", METADATA),
    ("224.0.0.1", MULTICAST),
    ("239.255.255.250", MULTICAST),
    ("240.0.0.1", RESERVED),
    ("255.255.255.255", BROADCAST),
    ("0.0.0.0", UNSPECIFIED),
    ("0.1.2.3", UNSPECIFIED),
    ("198.18.0.1", BENCHMARKING),
    ("192.0.2.1", DOCUMENTATION),
    ("203.0.113.9", DOCUMENTATION),
    ("192.0.0.9", RESERVED),
    ("192.88.99.1", RESERVED),
    # IPv6
    (PUBLIC_V6, None),
    ("::1", LOOPBACK),
    ("::", UNSPECIFIED),
    ("fd00::7", UNIQUE_LOCAL),
    ("fc00::1", UNIQUE_LOCAL),
    ("fd00:ec2::254", METADATA),
    ("fd00:ec2::254%eth0", METADATA),
    ("::ffff:100.100.100.200", METADATA),
    ("fe80::1", LINK_LOCAL),
    ("fe80::1%eth0", LINK_LOCAL),
    ("fec0::1", SITE_LOCAL),
    ("ff02::1", MULTICAST),
    ("ff0e::1", MULTICAST),
    ("2001:db8::1", DOCUMENTATION),
    ("3fff::1", DOCUMENTATION),
    ("5f00::1", RESERVED),
    ("100::1", RESERVED),
    # IPv4 embedded in IPv6: judged by the embedded address
    ("::ffff:127.0.0.1", LOOPBACK),
    ("::ffff:10.0.0.7", PRIVATE),
    (f"::ffff:{PUBLIC_V4}", None),
    ("::7f00:1", LOOPBACK),  # IPv4-compatible ::127.0.0.1
    ("::a9fe:a9fe", LINK_LOCAL),  # ::169.254.169.254
    ("::5db8:d70e", None),  # ::93.184.215.14
    ("64:ff9b::7f00:1", LOOPBACK),  # NAT64 of 127.0.0.1
    ("64:ff9b::a00:7", PRIVATE),  # NAT64 of 10.0.0.7
    ("64:ff9b::5db8:d70e", None),  # NAT64 of a public address (DNS64 networks)
    ("64:ff9b:1::a00:7", RESERVED),  # local-use NAT64: embedding not fixed
    ("64:ff9b:1::5db8:d70e", RESERVED),
    ("2002:7f00:1::1", LOOPBACK),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::", LINK_LOCAL),  # 6to4 of 169.254.169.254
    ("2002:5db8:d70e::1", None),  # 6to4 of a public address
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", TEREDO),
    ("2001::1", TEREDO),
]


def answers(*addresses: str) -> Resolver:
    """A resolver answering ``addresses`` for every name (none: the name does not resolve)."""

    async def resolve(host: str, port: int) -> list[str]:
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(addresses)

    return resolve


async def never(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} should not have been resolved")


class Counting:
    """A resolver answering ``address`` for one name, counting the lookups."""

    def __init__(self, name: str, *addresses: str) -> None:
        self.name, self.addresses, self.calls = name, list(addresses), 0

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        if host != self.name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.addresses)


def no_real_dns_for(name: str) -> None:
    try:
        socket.getaddrinfo(name, 443)
    except OSError:
        return
    pytest.skip(f"this machine's resolver answers {name!r}: the test could not tell the lookups apart")


async def status_of(guard: DestinationGuard, ca: TestCA, method: str, url: str, **send: Any) -> int:
    """Send through ``guard`` on a fresh outbound client trusting ``ca``; the answer's status."""
    async with (
        outbound_client(TIMEOUT, verify=ca.client_context()) as client,
        guard.stream(client, method, url, **send) as response,
    ):
        return response.status_code


def _url_host(address: str) -> str:
    return f"[{address.replace('%', '%25')}]" if ":" in address else address


# ---------------------------------------------------------------------------------- the table


@pytest.mark.parametrize(("address", "rule"), ADDRESSES)
def test_every_range_has_its_rule(address: str, rule: str | None) -> None:
    assert address_rule(ipaddress.ip_address(address)) == rule


@pytest.mark.parametrize(("address", "rule"), ADDRESSES)
async def test_a_name_resolving_to_each_kind(address: str, rule: str | None) -> None:
    guard = DestinationGuard(DestinationPolicy(), answers(PUBLIC_V4, address))
    if rule is None:
        checked = await guard.check("https://hooks.partner.example/in")
        assert checked.addresses == (PUBLIC_V4, address)
        return
    with pytest.raises(DestinationRefused) as refused:
        await guard.check("https://hooks.partner.example/in")
    assert str(refused.value) == f"destination not allowed: not a public address ({rule})"
    assert address not in str(refused.value) and PUBLIC_V4 not in str(refused.value)


@pytest.mark.parametrize(("address", "rule"), [(a, r) for a, r in ADDRESSES if "%" not in a])
async def test_an_ip_literal_of_each_kind(address: str, rule: str | None) -> None:
    guard = DestinationGuard(DestinationPolicy(), never)
    url = f"https://{_url_host(address)}/in"
    if rule is None:
        assert (await guard.check(url)).addresses == (address,)
    else:
        with pytest.raises(DestinationRefused, match=re.escape(f"not a public address ({rule})")):
            await guard.check(url)


async def test_every_address_must_pass_not_only_the_first() -> None:
    guard = DestinationGuard(DestinationPolicy(), answers(PUBLIC_V4, PUBLIC_V6, "10.0.0.7"))
    with pytest.raises(DestinationRefused):
        await guard.check("https://hooks.partner.example/in")


@pytest.mark.parametrize(
    "url",
    [
        "http://2130706433/",  # decimal 127.0.0.1
        "https://2130706433/",
        "http://0x7f.1/",  # hex and short
        "https://0x7f000001/",
        "http://127.1/",  # short
        "https://0177.0.0.1/",  # octal
        "https://017700000001/",
        "https://1.2.3.4./",  # a trailing dot makes it a "name" the C resolver reads as an address
        "https://hooks.0x7f/",
    ],
)
async def test_numeric_forms_of_ipv4_are_refused_before_any_lookup(url: str) -> None:
    guard = DestinationGuard(DestinationPolicy(allow_loopback=True, allow_private_network=True), never)
    with pytest.raises(DestinationRefused, match="destination not allowed"):
        await guard.check(url)


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://hooks.partner.example/in", "https required"),
        ("http://127.0.0.1:8080/in", "https required"),  # loopback not allowed
        ("ftp://hooks.partner.example/in", "not an absolute http(s) URL"),
        ("https://user:pw@hooks.partner.example/in", "credentials in the URL"),
        ("https://hooks.partner.example/in#x", "a fragment in the URL"),
        ("https:///in", "not an absolute http(s) URL"),
    ],
)
async def test_the_form_is_checked(url: str, rule: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        await DestinationGuard(DestinationPolicy(), answers(PUBLIC_V4)).check(url)
    assert refused.value.rule == rule


# ---------------------------------------------------------------------------------- opt-ins


async def test_loopback_only_with_its_switch_and_http_only_to_loopback() -> None:
    loopback = DestinationPolicy(allow_loopback=True)
    assert (await DestinationGuard(loopback, never).check("http://127.0.0.1:8080/in")).addresses == ("127.0.0.1",)
    assert (await DestinationGuard(loopback, never).check("http://[::1]:8080/in")).addresses == ("::1",)
    assert await DestinationGuard(loopback, answers("127.0.0.1", "::1")).check("http://localhost:8080/in")
    with pytest.raises(DestinationRefused, match="https required"):  # an http:// name must stay on this machine
        await DestinationGuard(loopback, answers("127.0.0.1", PUBLIC_V4)).check("http://localhost/in")
    with pytest.raises(DestinationRefused, match="https required"):
        await DestinationGuard(loopback, answers("127.0.0.1")).check("http://hooks.partner.example/in")
    for address in ("10.0.0.7", "169.254.169.254", "fd00::7", "0.0.0.0"):
        with pytest.raises(DestinationRefused):
            await DestinationGuard(loopback, answers(address)).check("https://hooks.partner.example/in")


async def test_a_private_network_only_with_its_switch_and_never_link_local_or_metadata() -> None:
    private = DestinationPolicy(allow_private_network=True)
    for address in ("10.0.0.7", "172.16.5.4", "192.168.1.1", "fd00::7", "100.64.0.1", "::ffff:10.1.2.3"):
        assert await DestinationGuard(private, answers(address)).check("https://idp.corp.example/jwks")
    for address in ("127.0.0.1", "::1", "169.254.169.254", "fe80::1", "100.100.100.200", "fd00:ec2::254", "0.0.0.0"):
        with pytest.raises(DestinationRefused):
            await DestinationGuard(private, answers(address)).check("https://idp.corp.example/jwks")
    with pytest.raises(DestinationRefused, match="https required"):
        await DestinationGuard(private, answers("10.0.0.7")).check("http://idp.corp.example/jwks")


async def test_a_name_that_does_not_resolve_or_too_slowly_is_unresolved() -> None:
    with pytest.raises(DestinationUnresolved):
        await DestinationGuard(DestinationPolicy(), answers()).check("https://not-yet.partner.example/in")

    async def slow(host: str, port: int) -> list[str]:
        await asyncio.sleep(5)
        return [PUBLIC_V4]

    with pytest.raises(DestinationUnresolved):
        await DestinationGuard(DestinationPolicy(), slow, 0.05).check("https://slow.partner.example/in")


async def test_the_port_of_the_url_is_what_is_resolved() -> None:
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return [PUBLIC_V4]

    guard = DestinationGuard(DestinationPolicy(), resolve)
    await guard.check("https://hooks.partner.example:8443/in")
    await guard.check("https://hooks.partner.example/in")
    assert asked == [("hooks.partner.example", 8443), ("hooks.partner.example", 443)]


# ---------------------------------------------------------------------------------- connecting


@pytest.fixture(scope="module")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture
def hooks_server(ca: TestCA) -> Iterator[TlsServer]:
    with TlsServer(ca, ("hooks.partner.test",)) as server:
        yield server


async def test_the_checked_address_is_connected_to_with_the_names_host_and_sni(
    ca: TestCA, hooks_server: TlsServer
) -> None:
    no_real_dns_for("hooks.partner.test")
    resolver = Counting("hooks.partner.test", "127.0.0.1")
    guard = DestinationGuard(DestinationPolicy(allow_loopback=True), resolver)
    url = f"https://hooks.partner.test:{hooks_server.port}/in?x=1"
    assert await status_of(guard, ca, "POST", url, headers={"x-test": "1"}, content=b"{}") == 200
    assert resolver.calls == 1  # checked once; the connection used that answer (no real DNS knows the name)
    assert hooks_server.sni == ["hooks.partner.test"]
    [seen] = hooks_server.requests
    assert (seen.method, seen.path, seen.host, seen.body) == (
        "POST",
        "/in?x=1",
        f"hooks.partner.test:{hooks_server.port}",
        b"{}",
    )


async def test_the_certificate_is_verified_against_the_name_not_the_address(ca: TestCA) -> None:
    guard = DestinationGuard(DestinationPolicy(allow_loopback=True), Counting("hooks.partner.test", "127.0.0.1"))
    with TlsServer(ca, ("someone-else.test",)) as other:
        with pytest.raises(httpx.ConnectError, match=r"CERTIFICATE_VERIFY_FAILED|match"):
            await status_of(guard, ca, "GET", f"https://hooks.partner.test:{other.port}/")
        assert other.requests == []


async def test_a_refused_destination_is_never_connected_to(ca: TestCA, hooks_server: TlsServer) -> None:
    guard = DestinationGuard(DestinationPolicy(), Counting("hooks.partner.test", "127.0.0.1"))
    with pytest.raises(DestinationRefused, match=r"not a public address \(loopback\)"):
        await status_of(guard, ca, "POST", f"https://hooks.partner.test:{hooks_server.port}/in")
    assert hooks_server.connections == 0


async def test_redirects_are_not_followed(ca: TestCA) -> None:
    with (
        TlsServer(ca, ("target.test",)) as target,
        TlsServer(ca, ("hooks.partner.test",), status=302) as redirecting,
    ):
        redirecting.headers["location"] = f"https://target.test:{target.port}/stolen"
        resolver = Counting("hooks.partner.test", "127.0.0.1")
        guard = DestinationGuard(DestinationPolicy(allow_loopback=True), resolver)
        assert await status_of(guard, ca, "GET", f"https://hooks.partner.test:{redirecting.port}/") == 302
        assert target.connections == 0


async def test_a_dead_address_falls_through_to_the_next_checked_one(hooks_server: TlsServer, ca: TestCA) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    # Both checked; the first refuses the connection (nothing listens on [::1] at this port).
    resolver = Counting("hooks.partner.test", "::1", "127.0.0.1")
    guard = DestinationGuard(DestinationPolicy(allow_loopback=True), resolver)
    assert await status_of(guard, ca, "GET", f"https://hooks.partner.test:{hooks_server.port}/") == 200
    with pytest.raises(httpx.ConnectError):
        await status_of(guard, ca, "GET", f"https://hooks.partner.test:{dead_port}/")
    assert resolver.calls == 2


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "ALL_PROXY", "https_proxy", "all_proxy"])
async def test_proxy_variables_have_no_effect(
    variable: str, ca: TestCA, hooks_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TlsServer(ca, ("proxy.test",)) as proxy:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        guard = DestinationGuard(DestinationPolicy(allow_loopback=True), Counting("hooks.partner.test", "127.0.0.1"))
        assert await status_of(guard, ca, "GET", f"https://hooks.partner.test:{hooks_server.port}/") == 200
        assert proxy.connections == 0 and len(hooks_server.requests) == 1

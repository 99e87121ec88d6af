"""Where the gateway may send a request on someone else's behalf: one outbound destination policy.

Three kinds of URL are chosen by someone other than the gateway's operator, or by an operator
through an API, and fetched by the gateway: a partner's webhook URL, a ``private_key_jwt``
client's ``jwks_uri``, and an external issuer's ``jwks_uri`` (governance file). Unchecked, each
makes the gateway a proxy into its own network (server-side request forgery): the cloud metadata
service, an admin port on loopback, a database on the private network.

The policy, applied to every such request by :class:`DestinationGuard`:

1. **Form.** ``http``/``https`` only, no credentials, no fragment; ``https`` unless the
   destination is loopback and loopback is allowed. A host that ends in a number but is not a
   dotted-quad IPv4 address (``2130706433``, ``0x7f.1``, ``127.1``, ``0177.0.0.1``) is refused:
   the C resolver reads those as IPv4 addresses, so they are a way to spell ``127.0.0.1``.
2. **Every address.** The host is resolved once (an IP literal is its own address) and *every*
   address must pass :func:`address_rule`: global unicast only. IPv6 forms that embed an IPv4
   address (``::ffff:0:0/96``, ``::/96``, ``64:ff9b::/96``, ``2002::/16``) are judged by the
   embedded address; Teredo (``2001::/32``, whose client address is obfuscated and reached
   through a relay) and local-use NAT64 (``64:ff9b:1::/48``, whose embedding position is not
   fixed) are refused. The check is our own table, not :attr:`ipaddress.IPv4Address.is_global`
   alone: Python 3.11 calls multicast, site-local ``fec0::/10``, ``64:ff9b::7f00:1`` and
   ``2002:7f00:1::`` global.
3. **The checked address is the one connected to.** The request goes to the IP, with the
   ``Host`` header of the name and the TLS ``sni_hostname`` extension set to the name, so the
   server certificate is still verified against the name; there is no second DNS lookup to
   rebind. Redirects are never followed.

Two opt-ins, never on by default: :attr:`DestinationPolicy.allow_loopback` (one switch, the
``allow_loopback_destinations`` setting: a demo or tests on one machine) and
:attr:`DestinationPolicy.allow_private_network` (per external issuer in the governance file: an
enterprise IdP on the operator's network). Link-local addresses and the cloud metadata services
are refused whatever is allowed.

A refusal says ``destination not allowed`` and the rule class (e.g. *not a public address
(loopback)*), never what a name resolved to. The HTTP clients these requests go through come
from :func:`outbound_client`: no proxy from the environment (``HTTPS_PROXY`` would carry the
request past the check), no ``.netrc``, no pooled connection reused for another host name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port)`` → the addresses the host resolves to; raises :class:`OSError` when it does not."""

DEFAULT_RESOLVE_TIMEOUT_SECONDS = 5.0
"""How long a host name may take to resolve before the destination counts as unresolvable."""
MAX_ADDRESSES_TRIED = 3
"""Checked addresses tried in turn when connecting fails (a dual-stack name with a dead route)."""
LOOPBACK_NAMES = frozenset({"localhost"})
"""Names that may use ``http://`` (with loopback allowed) besides loopback IP literals."""

# Rule classes: what a refusal names.
LOOPBACK = "loopback"
PRIVATE = "private"
UNIQUE_LOCAL = "unique local"
SHARED = "shared address space"
LINK_LOCAL = "link-local"
SITE_LOCAL = "site-local"
MULTICAST = "multicast"
BROADCAST = "broadcast"
UNSPECIFIED = "unspecified"
RESERVED = "reserved"
DOCUMENTATION = "documentation"
BENCHMARKING = "benchmarking"
TEREDO = "Teredo tunnel"
METADATA = "cloud metadata service"
NOT_PUBLIC = "not a public address"
"""The start of every refusal of an address (the rule class follows in parentheses)."""
PRIVATE_NETWORK = frozenset({PRIVATE, UNIQUE_LOCAL, SHARED})
"""Classes an issuer with ``allow_private_network`` may use (never loopback or link-local)."""

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network
_V4_RANGES: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (_V4("255.255.255.255/32"), BROADCAST),
    (_V4("0.0.0.0/8"), UNSPECIFIED),
    (_V4("10.0.0.0/8"), PRIVATE),
    (_V4("100.64.0.0/10"), SHARED),
    (_V4("127.0.0.0/8"), LOOPBACK),
    (_V4("169.254.0.0/16"), LINK_LOCAL),
    (_V4("172.16.0.0/12"), PRIVATE),
    (_V4("192.0.0.0/24"), RESERVED),
    (_V4("192.0.2.0/24"), DOCUMENTATION),
    (_V4("192.88.99.0/24"), RESERVED),
    (_V4("192.168.0.0/16"), PRIVATE),
    (_V4("198.18.0.0/15"), BENCHMARKING),
    (_V4("198.51.100.0/24"), DOCUMENTATION),
    (_V4("203.0.113.0/24"), DOCUMENTATION),
    (_V4("224.0.0.0/4"), MULTICAST),
    (_V4("240.0.0.0/4"), RESERVED),
)
_V6_RANGES: tuple[tuple[ipaddress.IPv6Network, str], ...] = (
    (_V6("::/128"), UNSPECIFIED),
    (_V6("::1/128"), LOOPBACK),
    (_V6("64:ff9b:1::/48"), RESERVED),  # local-use NAT64 (RFC 8215)
    (_V6("2001::/32"), TEREDO),
    (_V6("2001::/23"), RESERVED),  # IETF protocol assignments
    (_V6("2001:db8::/32"), DOCUMENTATION),
    (_V6("3fff::/20"), DOCUMENTATION),
    (_V6("fc00::/7"), UNIQUE_LOCAL),
    (_V6("fe80::/10"), LINK_LOCAL),
    (_V6("fec0::/10"), SITE_LOCAL),
    (_V6("ff00::/8"), MULTICAST),
)
_EMBEDDING_V4 = (_V6("::ffff:0:0/96"), _V6("::/96"), _V6("64:ff9b::/96"))
"""IPv4-mapped, IPv4-compatible and NAT64 (RFC 6052): the IPv4 address is the low 32 bits."""
_SIX_TO_FOUR = _V6("2002::/16")
_GLOBAL_UNICAST = _V6("2000::/3")
_METADATA = frozenset({ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")})
"""Cloud metadata services outside link-local (Alibaba Cloud; AWS over IPv6)."""
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")


class DestinationError(Exception):
    """A request was not sent: the destination is refused or cannot be resolved."""


class DestinationRefused(DestinationError):
    """The policy refuses the destination; ``rule`` names the rule class (never an address)."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"destination not allowed: {rule}")
        self.rule = rule


class DestinationUnresolved(DestinationError):
    """The host name does not resolve (now, or within the timeout)."""

    def __init__(self) -> None:
        super().__init__("the host name does not resolve")


@dataclass(frozen=True, slots=True)
class DestinationPolicy:
    """What besides public addresses a destination may be; both off by default."""

    allow_loopback: bool = False
    """Loopback addresses (``127.0.0.0/8``, ``::1``), over ``http://`` too: demos and tests only."""
    allow_private_network: bool = False
    """Private (RFC 1918), unique local (``fc00::/7``) and shared (``100.64.0.0/10``) addresses."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A URL that passed the policy, and the addresses its host resolved to (all checked)."""

    url: httpx.URL
    addresses: tuple[str, ...]


def address_rule(address: IPAddress) -> str | None:
    """The rule class that makes ``address`` non-public (``None``: a global unicast address)."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a zone id
    if address in _METADATA:
        return METADATA
    if isinstance(address, ipaddress.IPv4Address):
        return _first_range(address, _V4_RANGES) or (None if address.is_global else RESERVED)
    found = _first_range(address, _V6_RANGES)
    if found is not None:
        return found
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_rule(embedded)
    if address not in _GLOBAL_UNICAST or not address.is_global:
        return RESERVED
    return None


_Ranges = tuple[tuple[ipaddress.IPv4Network, str], ...] | tuple[tuple[ipaddress.IPv6Network, str], ...]


def _first_range(address: IPAddress, ranges: _Ranges) -> str | None:
    return next((rule for network, rule in ranges if address in network), None)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if any(address in network for network in _EMBEDDING_V4):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour if address in _SIX_TO_FOUR else None


def address_problem(address: IPAddress, policy: DestinationPolicy) -> str | None:
    """Why ``policy`` refuses ``address`` (``None``: it may be connected to)."""
    rule = address_rule(address)
    if rule is None or (rule == LOOPBACK and policy.allow_loopback):
        return None
    if rule in PRIVATE_NETWORK and policy.allow_private_network:
        return None
    return f"{NOT_PUBLIC} ({rule})"


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _is_loopback_host(host: str) -> bool:
    literal = _ip_literal(host)
    return host in LOOPBACK_NAMES if literal is None else address_rule(literal) == LOOPBACK


def parse_destination(url: str, policy: DestinationPolicy) -> httpx.URL:
    """``url`` parsed by the parser the request will use, if its form passes ``policy``.

    Raises:
        DestinationRefused: the form (or the IP literal it names) is refused.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise DestinationRefused("not a valid URL") from None
    host = parsed.raw_host.decode("ascii").lower()
    if parsed.scheme not in ("http", "https") or not host:
        raise DestinationRefused("not an absolute http(s) URL")
    if parsed.userinfo:
        raise DestinationRefused("credentials in the URL")
    if parsed.fragment:
        raise DestinationRefused("a fragment in the URL")
    literal = _ip_literal(host)
    if literal is None and _NUMERIC_LABEL.match(host.rstrip(".").rsplit(".", 1)[-1]):
        raise DestinationRefused("a numeric host that is not a dotted-quad IPv4 address")
    if parsed.scheme == "http" and not (policy.allow_loopback and _is_loopback_host(host)):
        raise DestinationRefused("https required")
    problem = address_problem(literal, policy) if literal is not None else None
    if problem is not None:
        raise DestinationRefused(problem)
    return parsed


def form_problem(url: str, policy: DestinationPolicy) -> str | None:
    """Why ``url`` is refused from its form alone (``None``: it may be registered)."""
    try:
        parse_destination(url, policy)
    except DestinationRefused as refused:
        return str(refused)
    return None


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver, in its order, without repeats."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in found))


class DestinationGuard:
    """One :class:`DestinationPolicy` with a resolver: checks destinations, sends to checked addresses."""

    def __init__(
        self,
        policy: DestinationPolicy,
        resolve: Resolver = system_resolver,
        resolve_timeout_seconds: float = DEFAULT_RESOLVE_TIMEOUT_SECONDS,
    ) -> None:
        self.policy = policy
        self._resolve = resolve
        self._resolve_timeout = resolve_timeout_seconds

    async def check(self, url: str) -> Destination:
        """``url`` checked: its form, then every address its host resolves to (resolved once).

        Raises:
            DestinationRefused: the form or one of the addresses is refused.
            DestinationUnresolved: the host name does not resolve.
        """
        parsed = parse_destination(url, self.policy)
        host = parsed.raw_host.decode("ascii")
        if _ip_literal(host) is not None:
            return Destination(parsed, (host,))
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            addresses = await asyncio.wait_for(self._resolve(host, port), self._resolve_timeout)
        except (OSError, TimeoutError, UnicodeError):
            raise DestinationUnresolved() from None
        if not addresses:
            raise DestinationUnresolved()
        for text in addresses:
            address = _ip_literal(text)
            if address is None:
                raise DestinationUnresolved()  # an answer that is not an address
            problem = address_problem(address, self.policy)
            if problem is None and parsed.scheme == "http" and address_rule(address) != LOOPBACK:
                problem = "https required"  # http:// only ever reaches this machine
            if problem is not None:
                raise DestinationRefused(problem)
        return Destination(parsed, tuple(addresses))

    @asynccontextmanager
    async def stream(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Check ``url``, then send to its checked address; the response body is not read yet.

        Checked addresses are tried in turn (at most :data:`MAX_ADDRESSES_TRIED`) while
        connecting fails; nothing has been sent to an address that could not be connected to.

        Raises:
            DestinationRefused: the destination is refused (nothing was sent).
            DestinationUnresolved: the host name does not resolve (nothing was sent).
            httpx.HTTPError: the exchange failed.
        """
        destination = await self.check(url)
        tried = destination.addresses[:MAX_ADDRESSES_TRIED]
        for index, address in enumerate(tried):
            request = pinned_request(client, method, destination.url, address, headers=headers, content=content)
            try:
                response = await client.send(request, stream=True, follow_redirects=False)
            except httpx.ConnectError:
                if index == len(tried) - 1:
                    raise
                continue
            try:
                yield response
            finally:
                await response.aclose()
            return


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: httpx.URL,
    address: str,
    *,
    headers: Mapping[str, str] | None = None,
    content: bytes | None = None,
) -> httpx.Request:
    """A request for ``url`` that connects to ``address``, keeping the name for ``Host`` and TLS.

    httpcore opens the TCP connection to the URL's host (here the IP) and, for https, starts TLS
    with ``server_hostname = extensions["sni_hostname"] or <URL host>``; the SSL context (which
    checks host names) then sends that name as SNI and verifies the certificate against it.
    """
    host = url.raw_host.decode("ascii")
    netloc = f"[{host}]" if ":" in host else host
    all_headers = {name: value for name, value in (headers or {}).items() if name.lower() != "host"}
    all_headers["Host"] = netloc if url.port is None else f"{netloc}:{url.port}"
    extensions = {} if _ip_literal(host) is not None else {"sni_hostname": host}
    target = url.copy_with(host=address.split("%", 1)[0])
    return client.build_request(method, target, headers=all_headers, content=content, extensions=extensions)


def outbound_client(timeout: httpx.Timeout, *, verify: ssl.SSLContext | None = None) -> httpx.AsyncClient:
    """An HTTP client for requests a :class:`DestinationGuard` checks.

    ``trust_env=False``: no ``HTTP(S)_PROXY``/``ALL_PROXY`` (a proxy would connect to the name
    itself, past the check) and no ``.netrc`` credentials. No keep-alive: httpcore pools
    connections by scheme, IP and port only, so a connection whose certificate was verified for
    one name would otherwise carry a request for another name served at the same address.
    The CA bundle still honours ``SSL_CERT_FILE``/``SSL_CERT_DIR`` (an enterprise IdP's private
    CA); ``verify`` replaces it (tests with their own CA).
    """
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        verify=verify if verify is not None else httpx.create_ssl_context(trust_env=True),
        limits=httpx.Limits(max_keepalive_connections=0),
    )

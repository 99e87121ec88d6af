"""Where a partner webhook may be delivered: a public address, never this gateway's own network.

A partner chooses the URL, so without care it could make the gateway POST to a service only the
gateway can reach (server-side request forgery): ``https://10.0.0.7/``, the cloud metadata
address, or a name of the partner's whose DNS answers ``127.0.0.1``. The URL is checked when it
is registered (:func:`registration_problem`) and again before every delivery attempt
(:func:`destination_problem`): its form, then what its host name resolves to at that moment —
DNS can change after registration.

An address is acceptable when Python's :mod:`ipaddress` calls it global (not private, loopback,
link-local, shared or reserved; note that it counts multicast as global, which TCP cannot reach
anyway); with ``partner_webhook_allow_http_localhost`` (tests, local development) the
loopback names in :data:`LOCAL_HOSTS` are accepted too, over http or https.

What remains: the delivery resolves the name again when it connects, so a name that answers a
public address to the check and a private one a moment later (DNS rebinding) still reaches
the private address — but only for a TLS handshake, which fails unless that address presents a
certificate for the partner's name (https is required for every non-local URL), so no request
is sent to it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
"""Loopback names accepted when local delivery is allowed (and only then)."""
RESOLVE_TIMEOUT_SECONDS = 2.0
"""How long a registration waits for DNS (a delivery's own timeout bounds its lookup)."""

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""``(host, port)`` → the addresses the host resolves to; raises :class:`OSError` when it does not."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses from the operating system's resolver."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


def url_problem(url: str, allow_localhost: bool) -> str | None:
    """Why ``url`` cannot receive webhooks, from its form alone (``None``: it can)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not host:
        return "must be an absolute https:// URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    if host in LOCAL_HOSTS:
        return None if allow_localhost else "must not point at this machine (loopback)"
    if parts.scheme != "https":
        return "must use https"
    address = _ip_literal(host)
    if address is not None and not address.is_global:
        return "must not point at a private, loopback, link-local or reserved address"
    return None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` spells, if it is an IP literal rather than a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def destination_problem(url: str, allow_localhost: bool, resolve: Resolver = system_resolver) -> str | None:
    """Why ``url`` cannot receive webhooks now, from its form and from what its host resolves to
    (``None``: it can). Raises :class:`OSError` when the name does not resolve."""
    problem = url_problem(url, allow_localhost)
    if problem is not None:
        return problem
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host in LOCAL_HOSTS or _ip_literal(host) is not None:
        return None  # an allowed loopback name or a literal address: its form was the whole check
    port = parts.port or (443 if parts.scheme == "https" else 80)
    for address in await resolve(host, port):
        if not ipaddress.ip_address(address.split("%", 1)[0]).is_global:  # without an IPv6 zone
            return f"resolves to {address}, a private, loopback, link-local or reserved address"
    return None


async def registration_problem(url: str, allow_localhost: bool, resolve: Resolver = system_resolver) -> str | None:
    """Why ``url`` cannot be registered (``None``: it can). A name that does not resolve (yet) is
    accepted — its DNS may be set up after the subscription — and checked at every delivery."""
    try:
        return await asyncio.wait_for(destination_problem(url, allow_localhost, resolve), RESOLVE_TIMEOUT_SECONDS)
    except (OSError, TimeoutError):
        return None

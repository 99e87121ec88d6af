"""How a connector reaches its vendor: a value the composition root hands it.

Connectors never decide whether they talk to the real vendor or to its sandbox, and never
read a secret from the settings themselves. The composition root (``gateway/``) makes that
choice per vendor — the network while the vendor's URL is set, else the sandbox app in
process over ``httpx.ASGITransport`` — and hands each system API's builder a
:class:`VendorLink`: a ready HTTP client (traced), the base URL, the credentials (from the
vendor's settings, or set up for a sandbox) and the vendor's circuit breaker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker

C = TypeVar("C")


@dataclass(frozen=True)
class ClientSecret:
    """An OAuth client's id and secret (client-credentials grant, RFC 6749 §4.4)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class ApiKey:
    """One API key or secret key, sent as the vendor's dialect says (a header, Basic auth, …)."""

    key: str = field(repr=False)


@dataclass(frozen=True)
class BasicCredentials:
    """A user name and password for HTTP Basic authentication (RFC 7617)."""

    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class VendorLink(Generic[C]):
    """Everything a connector needs to reach its vendor, decided by the composition root."""

    client: httpx.AsyncClient
    """Ready to use: traced, bound to the vendor's network or to its sandbox app in process.
    The service built over it owns it and closes it."""
    base_url: str
    """Root of the vendor's API: the configured URL, or the sandbox's in-process base URL."""
    credentials: C
    """What the connector authenticates with (secrets included: never logged, never in a repr)."""
    breaker: CircuitBreaker | None = None
    """The vendor's circuit breaker in this process (None: no breaker)."""
    redis_url: str = ""
    """The Redis the gateway's processes share (empty: none), for caps that must hold across them
    (:mod:`apis.system.kit.concurrency_cap`)."""
    auth_url: str = ""
    """Base of the vendor's authorization server when it is not under ``base_url`` (Entra ID
    for Business Central); empty = ``base_url``."""

    @property
    def authority(self) -> str:
        """Base URL of the authorization server (``auth_url``, else ``base_url``), no trailing slash."""
        return (self.auth_url or self.base_url).rstrip("/")

"""Public keys of ``private_key_jwt`` clients registered with a ``jwks_uri`` (RFC 7591 §2).

Authlib's core is synchronous, so the keys must be in memory when it checks an assertion:
:meth:`ClientJwksCache.ensure` runs first, in the token endpoint's async path, and
:meth:`ClientJwksCache.get` is the core's lookup. A key set is kept for
:data:`JWKS_TTL_SECONDS`; an assertion naming a ``kid`` the cached set lacks (the client
rotated its keys) triggers one refetch, at most once per :data:`REFETCH_COOLDOWN_SECONDS`
per client, so a stream of bogus ``kid`` values cannot make us hammer the client's server.
A failed fetch keeps the last good set. Documents are bounded in size and checked like a
registered JWK set (public asymmetric keys only).

The URL is chosen by whoever registers the client, so every fetch goes through the outbound
destination policy (:mod:`core.destinations`): public addresses only (loopback only with
``allow_loopback_destinations``), sent to the address that was checked. At registration
:func:`check_jwks_uri` checks the form only, leniently about loopback (the switch is a property
of the running gateway, checked at every fetch).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog

from core.destinations import (
    DestinationError,
    DestinationGuard,
    DestinationPolicy,
    Resolver,
    form_problem,
    outbound_client,
    system_resolver,
)
from policies.oauth.client_fields import check_jwks

log = structlog.get_logger(__name__)

JWKS_TTL_SECONDS = 300.0
REFETCH_COOLDOWN_SECONDS = 30.0
FETCH_TIMEOUT = httpx.Timeout(5.0)
MAX_JWKS_BYTES = 64 * 1024
MAX_JWKS_URI_LENGTH = 500


REGISTRATION_POLICY = DestinationPolicy(allow_loopback=True)
"""The form check at registration: loopback passes here and is refused at fetch unless allowed."""


def check_jwks_uri(uri: str) -> str:
    """An ``https://`` URL (``http://`` only for a loopback host) whose form the destination
    policy accepts; raise ValueError otherwise."""
    if len(uri) > MAX_JWKS_URI_LENGTH or not uri.startswith(("https://", "http://")):
        raise ValueError(f"jwks_uri: must be an https:// URL of at most {MAX_JWKS_URI_LENGTH} characters")
    problem = form_problem(uri, REGISTRATION_POLICY)
    if problem is not None:
        raise ValueError(f"jwks_uri: {problem}")
    return uri


@dataclass(slots=True)
class _Entry:
    uri: str
    jwks: dict[str, Any] | None
    kids: frozenset[str]
    fetched_at: float


class ClientJwksCache:
    """Key sets fetched from clients' ``jwks_uri``, per client id."""

    def __init__(
        self,
        http: httpx.AsyncClient | None = None,
        *,
        policy: DestinationPolicy | None = None,
        resolve: Resolver = system_resolver,
    ) -> None:
        """Start an empty cache.

        Args:
            http: the client fetches go through (default: :func:`~core.destinations.outbound_client`).
            policy: where key sets may be fetched from (default: public addresses only).
            resolve: host name → addresses (the operating system's resolver by default).
        """
        self._http = http or outbound_client(FETCH_TIMEOUT)
        self._guard = DestinationGuard(policy or DestinationPolicy(), resolve)
        self._entries: dict[str, _Entry] = {}

    def get(self, client_id: str) -> dict[str, Any] | None:
        """The cached key set of a client (no I/O), or None."""
        entry = self._entries.get(client_id)
        return entry.jwks if entry is not None else None

    async def ensure(self, client_id: str, uri: str, kid: str | None) -> None:
        """Make sure the client's key set is cached and, if possible, holds ``kid``."""
        now = time.time()
        entry = self._entries.get(client_id)
        if entry is not None and entry.uri == uri:
            age = now - entry.fetched_at
            if age < JWKS_TTL_SECONDS and (kid is None or kid in entry.kids):
                return
            if age < REFETCH_COOLDOWN_SECONDS:
                return  # an unknown kid again so soon: the assertion will be refused
        jwks = await self._fetch(client_id, uri)
        if jwks is None:
            if entry is not None:
                entry.fetched_at = now  # keep the last good set; retry after the cooldown
            else:
                self._entries[client_id] = _Entry(uri, None, frozenset(), now)
            return
        kids = frozenset(str(key["kid"]) for key in jwks["keys"] if "kid" in key)
        self._entries[client_id] = _Entry(uri, jwks, kids, now)

    async def _fetch(self, client_id: str, uri: str) -> dict[str, Any] | None:
        try:
            async with self._guard.stream(self._http, "GET", uri, headers={"accept": "application/json"}) as response:
                if response.status_code != 200:
                    raise ValueError(f"status {response.status_code}")
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise ValueError(f"larger than {MAX_JWKS_BYTES} bytes")
            return check_jwks(json.loads(body))
        except (DestinationError, httpx.HTTPError, ValueError, TypeError, KeyError) as exc:
            log.warning("client jwks_uri fetch failed", client_id=client_id, error=str(exc))
            return None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

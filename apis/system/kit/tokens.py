"""A connector's OAuth 2.0 client-credentials token: fetched once, reused until it runs out.

Salesforce, NetSuite and Business Central (through Entra ID) all hand out bearer tokens by the
client-credentials grant (RFC 6749 §4.4); they differ only in how the client authenticates at
the token endpoint:

==================  ==========================================================================
vendor              client authentication (an Authlib ``ClientAuth`` method)
==================  ==========================================================================
Salesforce          ``client_secret_post``
Entra ID (BC)       ``client_secret_post``, ``scope=<API>/.default``
NetSuite            a JWT client assertion (RFC 7523 §2.2) of NetSuite's own claims
==================  ==========================================================================

:class:`ClientCredentialsGrant` asks for a token: the request body and the client
authentication are Authlib's (:func:`authlib.oauth2.rfc6749.parameters.prepare_token_request`,
:class:`authlib.oauth2.auth.ClientAuth`), the exchange is the connector's own (its traced
client, its deadline, its concurrency slot), and the answer is mapped onto the error tree
(429 → rate limited with ``Retry-After``, 5xx → unavailable, an OAuth error → rejected with
its ``error`` code, a missing ``access_token`` → contract violation). Authlib's
``AsyncOAuth2Client`` is not used: it is an HTTP client of its own, so its token requests
would bypass the client the composition root built (tracing, the sandbox transport), the
deadline and the error mapping; its automatic refresh knows expiry only, not "refused: fetch
a new one once".

:class:`TokenCache` keeps the token: one fetch at a time (concurrent callers wait for it), a
new one ``refresh_margin_seconds`` before ``expires_in`` runs out (or after
``default_lifetime_seconds`` when the vendor sends none), and a new one at once when a call
was refused with the token in hand (``current(stale=token)``) — a 401 refreshes once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import httpx
import msgspec
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from apis.system.kit.decoding import decode_json, decode_struct
from apis.system.kit.vendor_http import parse_retry_after
from core.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

FORM = "application/x-www-form-urlencoded"


class AccessToken(msgspec.Struct, kw_only=True):
    """A token endpoint's answer (RFC 6749 §5.1); unknown fields are ignored."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: float | None = None
    """Seconds the token lives; None when the vendor does not say (Salesforce)."""


T = TypeVar("T", bound=AccessToken)
Send = Callable[..., Awaitable[httpx.Response]]
"""The connector's exchange: ``send(method, url, **httpx_kwargs)`` under its deadline."""


class ClientCredentialsGrant:
    """The client-credentials grant at one token endpoint."""

    def __init__(
        self,
        send: Send,
        token_url: str,
        auth: ClientAuth,
        *,
        display: str,
        scope: str | None = None,
        refused: str = "the client credentials",
        on_response: Callable[[httpx.Response], None] | None = None,
    ) -> None:
        """
        Args:
            send: the connector's exchange (deadline, transport errors mapped).
            token_url: the token endpoint.
            auth: how the client authenticates (an Authlib ``ClientAuth``; its method may be a
                callable ``(auth, method, uri, headers, body)`` like Authlib's ``PrivateKeyJWT``).
            display: the authorization server's name in error details (``"Entra ID"``).
            scope: the ``scope`` parameter, if the server wants one.
            refused: what the server refused, in the error detail.
            on_response: sees every token response (Salesforce counts API usage from it).
        """
        self._send, self.token_url, self._auth = send, token_url, auth
        self._display, self._scope, self._refused, self._on_response = display, scope, refused, on_response

    async def fetch(self, kind: type[T]) -> T:
        """A new token, decoded as ``kind`` (which may require more fields, e.g. ``instance_url``).

        Raises:
            UpstreamRateLimited: the endpoint throttled the request (``retry_after`` set).
            UpstreamUnavailable: it answered 5xx.
            UpstreamRejected: it refused the client (``vendor_code`` = the OAuth ``error``).
            UpstreamContractViolation: the answer lacks a required field or is not JSON.
        """
        body = prepare_token_request("client_credentials", scope=self._scope)
        url, headers, body = self._auth.prepare("POST", self.token_url, {"Content-Type": FORM}, body)
        response = await self._send("POST", url, content=body, headers=headers)
        if self._on_response is not None:
            self._on_response(response)
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise UpstreamRateLimited(f"{self._display} throttled the token request", retry_after=retry_after)
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"{self._display} token endpoint answered {response.status_code}")
        answer = decode_json(response, display=self._display, strict=response.status_code == 200)
        if response.status_code != 200:
            code = _text(answer, "error")
            detail = _text(answer, "error_description")
            raise UpstreamRejected(f"{self._display} refused {self._refused}: {detail or code}", vendor_code=code)
        return decode_struct(answer, kind, what=f"{self._display} token response")


class TokenCache(Generic[T]):
    """One client's current token (see the module docstring)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[T]],
        *,
        refresh_margin_seconds: float = 0.0,
        default_lifetime_seconds: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._margin = refresh_margin_seconds
        self._default_lifetime = default_lifetime_seconds
        self._clock = clock
        self._token: T | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def current(self, stale: T | None = None) -> T:
        """The token to send; a new one when there is none, it ran out, or it is ``stale`` (refused)."""
        async with self._lock:
            if self._token is None or self._token is stale or self._clock() >= self._expires:
                token = await self._fetch()
                lifetime = token.expires_in if token.expires_in is not None else self._default_lifetime
                self._token, self._expires = token, self._clock() + max(0.0, lifetime - self._margin)
            return self._token


def _text(answer: Any, name: str) -> str | None:
    value = answer.get(name) if isinstance(answer, dict) else None
    return value if isinstance(value, str) else None

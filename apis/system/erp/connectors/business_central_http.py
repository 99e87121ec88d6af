"""Business Central's transport: Entra client-credentials token, OData calls, error mapping.

=========================================================  ==============================
Business Central / Entra                                   Strata
=========================================================  ==============================
429 (``Application_TooManyRequests``), ``Retry-After``     UpstreamRateLimited (retryable)
5xx, connection errors                                     UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``                       UpstreamTimeout (retryable)
404 ``BadRequest_NotFound``, 400 ``Internal_RecordNotFound``  NotFound
``Application_DialogException`` "...allowed posting dates"  PeriodClosed
412 ``Request_EntityChanged``, ``..._EntityWithSameKeyExists``  Conflict (vendor_code set)
other 4xx ``{"error": {"code", "message"}}``                UpstreamRejected (vendor_code set)
unreadable bodies, missing fields                          UpstreamContractViolation
=========================================================  ==============================

The token is cached until shortly before ``expires_in`` runs out; a 401 fetches a new one once
and repeats the call.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import httpx
import msgspec

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.vendor_http import RetryPolicy, call_with_retries, exchange, parse_retry_after
from core.errors import (
    Conflict,
    NotFound,
    PeriodClosed,
    StrataError,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamUnavailable,
)

SCOPE = "https://api.businesscentral.dynamics.com/.default"
DISPLAY = "Business Central"
CLOSED_PERIOD_MARKER = "allowed posting dates"
NOTHING_TO_POST = "nothing to post"


class BusinessCentralConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the Business Central connector.

    See :class:`~apis.system.kit.vendor_http.RetryPolicy`.
    """

    token_refresh_margin_seconds: float = 120.0
    """Fetch a new token this long before the cached one expires."""


DEFAULT_BUSINESS_CENTRAL_CONFIG = BusinessCentralConfig()


class _Token(msgspec.Struct):
    access_token: str
    expires_in: float
    token_type: str = "Bearer"


class _Unauthorized(Exception):
    pass


class BusinessCentralHttp:
    """Authorized OData calls to one BC environment, through ``client``."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        api_base: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        config: BusinessCentralConfig,
        breaker: CircuitBreaker | None,
    ) -> None:
        self.client, self.api_base, self.token_url = client, api_base.rstrip("/"), token_url
        self._client_id, self._client_secret = client_id, client_secret
        self.config, self.breaker = config, breaker
        self._token: _Token | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self._random = random.Random()

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """One call (retried when ``idempotent``); the decoded body, or None for 204."""
        url = path if path.startswith("http") else f"{self.api_base}{path}"
        response = await call_with_retries(
            lambda: self._authorized(method, url, params, json, headers or {}),
            policy=self.config,
            idempotent=idempotent,
            breaker=self.breaker,
            rng=self._random,
        )
        if response.status_code == 204 or not response.content:
            return None
        return _decode(response)

    async def retried(self, procedure: Any, *, writes: int) -> Any:
        """Run a whole check-before-create procedure again after a retryable failure.

        Each of its ``writes`` single-attempt vendor writes gets ``max_retries`` retries, so the
        procedure may start over ``(max_retries + 1) * writes - 1`` times; its reads retry themselves.
        """
        budget = (self.config.max_retries + 1) * writes - 1
        policy = msgspec.structs.replace(self.config, max_retries=budget)
        return await call_with_retries(procedure, policy=policy, idempotent=True, rng=self._random)

    async def _authorized(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str]
    ) -> httpx.Response:
        token = await self._current_token()
        try:
            return await self._send(method, url, params, json, headers, token)
        except _Unauthorized:
            token = await self._current_token(stale=token)
            try:
                return await self._send(method, url, params, json, headers, token)
            except _Unauthorized:
                raise UpstreamRejected(
                    "Business Central refused a fresh token", vendor_code="Authentication_InvalidCredentials"
                ) from None

    async def _send(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str], token: _Token
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json", **headers}
        response = await exchange(
            self.client,
            method,
            url,
            vendor=DISPLAY,
            timeout_seconds=self.config.timeout_seconds,
            params=params,
            json=json,
            headers=all_headers,
        )
        if response.status_code == 401:
            raise _Unauthorized
        if response.status_code >= 300:
            raise error_for(response)
        return response

    async def _current_token(self, stale: _Token | None = None) -> _Token:
        async with self._token_lock:
            if self._token is None or self._token is stale or time.monotonic() >= self._token_expires:
                self._token = await self._fetch_token()
                lifetime = max(0.0, self._token.expires_in - self.config.token_refresh_margin_seconds)
                self._token_expires = time.monotonic() + lifetime
            return self._token

    async def _fetch_token(self) -> _Token:
        """Client credentials grant (RFC 6749 §4.4) at the Entra token endpoint."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "scope": SCOPE,
        }
        response = await exchange(
            self.client,
            "POST",
            self.token_url,
            vendor="Entra ID",
            timeout_seconds=self.config.timeout_seconds,
            data=form,
        )
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            raise UpstreamRateLimited("Entra ID throttled the token request", retry_after=retry_after)
        if response.status_code >= 500:
            raise UpstreamUnavailable(f"Entra ID token endpoint answered {response.status_code}")
        body = _decode(response)
        if response.status_code != 200:
            code = body.get("error") if isinstance(body, dict) else None
            raise UpstreamRejected(f"Entra ID refused the client credentials: {code}", vendor_code=code)
        try:
            return msgspec.convert(body, _Token, strict=False)  # Entra's v1 endpoint sends expires_in as text
        except msgspec.ValidationError as error:
            raise UpstreamContractViolation(f"Entra ID token response: {error}") from None


def _decode(response: httpx.Response) -> Any:
    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        raise UpstreamContractViolation(
            f"{DISPLAY} answered {response.status_code} with a body that is not JSON"
        ) from None


def error_for(response: httpx.Response) -> StrataError:
    """The Strata error for a BC error answer (status + ``{"error": {"code", "message"}}``)."""
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content) if response.content else None
    except msgspec.DecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = str(error.get("message") or "") if isinstance(error, dict) else ""
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        return UpstreamRateLimited(
            f"{DISPLAY} throttled the call: {message}", retry_after=retry_after, vendor_code=code
        )
    if status >= 500:
        unavailable = UpstreamUnavailable(f"{DISPLAY} answered {status}: {message}", vendor_code=code)
        unavailable.retry_after = retry_after
        return unavailable
    if not isinstance(code, str):
        return UpstreamContractViolation(f"{DISPLAY} answered {status} without a readable error object")
    if status == 404 or code in ("BadRequest_NotFound", "Internal_RecordNotFound"):
        return NotFound(f"Not found in {DISPLAY}: {message}", vendor_code=code)
    if code == "Application_DialogException" and CLOSED_PERIOD_MARKER in message.lower():
        return PeriodClosed(f"{DISPLAY} refused the posting: {message}", vendor_code=code)
    if status in (409, 412) or code in ("Request_EntityChanged", "Internal_EntityWithSameKeyExists"):
        return Conflict(f"{DISPLAY}: {message}", vendor_code=code)
    return UpstreamRejected(f"{DISPLAY} rejected the request: {message}", vendor_code=code)

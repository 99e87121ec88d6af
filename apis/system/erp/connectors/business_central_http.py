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

The token (:class:`~apis.system.kit.tokens.TokenCache`, Authlib's ``client_secret_post``) is
cached until shortly before ``expires_in`` runs out; a 401 fetches a new one once and repeats
the call.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from authlib.oauth2.auth import ClientAuth

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.tokens import AccessToken, ClientCredentialsGrant, TokenCache
from apis.system.kit.vendor_http import RetryPolicy, exchange, upstream_transient
from core.errors import (
    Conflict,
    NotFound,
    PeriodClosed,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
)

SCOPE = "https://api.businesscentral.dynamics.com/.default"
DISPLAY = "Business Central"
AUTHORITY = "Entra ID"
CLOSED_PERIOD_MARKER = "allowed posting dates"
NOTHING_TO_POST = "nothing to post"


class BusinessCentralConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the Business Central connector.

    See :class:`~apis.system.kit.vendor_http.RetryPolicy`.
    """

    token_refresh_margin_seconds: float = 120.0
    """Fetch a new token this long before the cached one expires."""


DEFAULT_BUSINESS_CENTRAL_CONFIG = BusinessCentralConfig()


class EntraToken(AccessToken, kw_only=True):
    """Entra ID's token answer: ``expires_in`` is required (its v1 endpoint sends it as text)."""

    expires_in: float


class _Unauthorized(Exception):
    pass


class BusinessCentralHttp(VendorConnector):
    """Authorized OData calls to one BC environment, through ``client``."""

    system = "business-central"  # as lineage names it (the connector's breaker is "business_central")
    display = DISPLAY

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
        super().__init__(client, api_base, config, breaker)
        self.config: BusinessCentralConfig = config
        self.client, self.api_base, self.token_url = client, self._base_url, token_url
        grant = ClientCredentialsGrant(
            self._authority_exchange,
            token_url,
            ClientAuth(client_id, client_secret, "client_secret_post"),
            display=AUTHORITY,
            scope=SCOPE,
        )
        self._tokens: TokenCache[EntraToken] = TokenCache(
            lambda: grant.fetch(EntraToken), refresh_margin_seconds=config.token_refresh_margin_seconds
        )

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
        response = await self._retrying(
            lambda: self._authorized(method, url, params, json, headers or {}), idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return None
        return self._decode(response)

    async def retried(self, procedure: Any, *, writes: int) -> Any:
        """Run a whole check-before-create procedure again after a retryable failure.

        Each of its ``writes`` single-attempt vendor writes gets ``max_retries`` retries, so the
        procedure may start over ``(max_retries + 1) * writes - 1`` times; its reads retry themselves.
        """
        budget = (self.config.max_retries + 1) * writes - 1
        policy = msgspec.structs.replace(self.config, max_retries=budget)
        # Not through the breaker: each of the procedure's own calls goes through it already.
        return await self._retrying(procedure, idempotent=True, policy=policy, guarded=False)

    async def _authorized(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str]
    ) -> httpx.Response:
        token = await self._tokens.current()
        try:
            return await self._send(method, url, params, json, headers, token)
        except _Unauthorized:
            token = await self._tokens.current(stale=token)
            try:
                return await self._send(method, url, params, json, headers, token)
            except _Unauthorized:
                raise UpstreamRejected(
                    "Business Central refused a fresh token", vendor_code="Authentication_InvalidCredentials"
                ) from None

    async def _send(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str], token: EntraToken
    ) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json", **headers}
        response = await self._exchange(method, url, params=params, json=json, headers=all_headers)
        if response.status_code == 401:
            raise _Unauthorized
        if response.status_code >= 300:
            raise error_for(response)
        return response

    async def _authority_exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An exchange with Entra ID (its name in a timeout's detail), under the same deadline."""
        return await exchange(
            self.client, method, url, vendor=AUTHORITY, timeout_seconds=self.config.timeout_seconds, **kwargs
        )


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
    transient = upstream_transient(DISPLAY, status, message, code, response.headers.get("retry-after"))
    if transient is not None:
        return transient
    if not isinstance(code, str):
        return UpstreamContractViolation(f"{DISPLAY} answered {status} without a readable error object")
    if status == 404 or code in ("BadRequest_NotFound", "Internal_RecordNotFound"):
        return NotFound(f"Not found in {DISPLAY}: {message}", vendor_code=code)
    if code == "Application_DialogException" and CLOSED_PERIOD_MARKER in message.lower():
        return PeriodClosed(f"{DISPLAY} refused the posting: {message}", vendor_code=code)
    if status in (409, 412) or code in ("Request_EntityChanged", "Internal_EntityWithSameKeyExists"):
        return Conflict(f"{DISPLAY}: {message}", vendor_code=code)
    return UpstreamRejected(f"{DISPLAY} rejected the request: {message}", vendor_code=code)

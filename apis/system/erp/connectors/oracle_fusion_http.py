"""Oracle Fusion's transport: Basic or OAuth 2.0 authentication, REST framework headers, paging, errors.

=============================================================  ==============================
Oracle Fusion / identity domain                                Strata
=============================================================  ==============================
429, ``Retry-After``                                           UpstreamRateLimited (retryable)
5xx, connection errors                                         UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``                           UpstreamTimeout (retryable)
404                                                            NotFound
400 whose detail says "not in an open ... period"              PeriodClosed
400 whose detail says "already exists"                         Conflict (vendor_code set)
other 4xx ``{"title", "o:errorDetails": [{"detail", "o:errorCode"}]}``  UpstreamRejected
401 (Basic refused, or a fresh token refused)                  UpstreamRejected
unreadable bodies, missing fields                              UpstreamContractViolation
=============================================================  ==============================

Every call sends ``REST-Framework-Version`` (error bodies with ``o:errorDetails`` need 4 or later)
and reads with ``onlyData=true`` unless it follows ``links``. Lists are read with ``limit``/``offset``
and ``totalResults=true``, following ``hasMore``. With ``oauth2`` a client-credentials token from the
identity domain is cached until shortly before it expires; a 401 fetches a new one once.
"""

from __future__ import annotations

import base64
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

DISPLAY = "Oracle Fusion"
AUTHORITY = "the identity domain"
ITEM_TYPE = "application/vnd.oracle.adf.resourceitem+json"
ACTION_TYPE = "application/vnd.oracle.adf.action+json"
CLOSED_PERIOD_MARKERS = ("open or future-enterable", "not in an open")
DUPLICATE_MARKERS = ("already exists",)
PAGE_LIMIT = 500
"""Oracle's largest ``limit``."""


class OracleFusionConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the Oracle Fusion connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`)."""

    token_refresh_margin_seconds: float = 120.0
    """Fetch a new token this long before the cached one expires."""


class _Unauthorized(Exception):
    pass


class OracleFusionHttp(VendorConnector):
    """Authorized REST calls to one Oracle Fusion pod, through ``client``."""

    system = "oracle-fusion"  # as lineage names it (the breaker is "oracle_fusion")
    display = DISPLAY

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_version: str,
        framework_version: str,
        *,
        basic: tuple[str, str] | None,
        oauth: tuple[str, str, str, str] | None,
        config: OracleFusionConfig,
        breaker: CircuitBreaker | None,
    ) -> None:
        """``basic`` is (user, password); ``oauth`` is (token URL, client id, client secret, scope)."""
        super().__init__(client, base_url, config, breaker)
        self.config: OracleFusionConfig = config
        self.client = client
        self.fscm = f"{self._base_url}/fscmRestApi/resources/{api_version}"
        self.crm = f"{self._base_url}/crmRestApi/resources/{api_version}"
        self._framework = framework_version
        self._basic = (
            "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode() if basic is not None else None
        )
        self._tokens: TokenCache[AccessToken] | None = None
        if oauth is not None:
            token_url, client_id, client_secret, scope = oauth
            grant = ClientCredentialsGrant(
                self._authority_exchange,
                token_url,
                ClientAuth(client_id, client_secret, "client_secret_basic"),
                display=AUTHORITY,
                scope=scope or None,
            )
            self._tokens = TokenCache(
                lambda: grant.fetch(AccessToken), refresh_margin_seconds=config.token_refresh_margin_seconds
            )

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """One call (retried when ``idempotent``); the decoded body, or None when empty."""
        response = await self._retrying(
            lambda: self._authorized(method, url, params, json, headers or {}), idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return None
        return self._decode(response)

    async def items(self, url: str, params: dict[str, str], *, limit: int = PAGE_LIMIT) -> list[dict[str, Any]]:
        """Every item of a collection matching ``params``, page after page while ``hasMore``."""
        found: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = {**params, "onlyData": "true", "limit": str(limit), "offset": str(offset)}
            body = await self.call("GET", url, params=query, idempotent=True)
            page = page_items(body)
            found.extend(page)
            if not (isinstance(body, dict) and body.get("hasMore") is True) or not page:
                return found
            offset += len(page)

    async def retried(self, procedure: Any, *, writes: int) -> Any:
        """Run a whole check-before-create procedure again after a retryable failure.

        Each of its ``writes`` single-attempt vendor writes gets ``max_retries`` retries; its reads
        retry themselves.
        """
        budget = (self.config.max_retries + 1) * writes - 1
        policy = msgspec.structs.replace(self.config, max_retries=budget)
        return await self._retrying(procedure, idempotent=True, policy=policy, guarded=False)

    async def _authorized(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str]
    ) -> httpx.Response:
        if self._tokens is None:
            try:
                return await self._send(method, url, params, json, headers, self._basic or "")
            except _Unauthorized:
                raise UpstreamRejected(f"{DISPLAY} refused the integration user's credentials") from None
        token = await self._tokens.current()
        try:
            return await self._send(method, url, params, json, headers, f"Bearer {token.access_token}")
        except _Unauthorized:
            token = await self._tokens.current(stale=token)
            try:
                return await self._send(method, url, params, json, headers, f"Bearer {token.access_token}")
            except _Unauthorized:
                raise UpstreamRejected(f"{DISPLAY} refused a fresh token") from None

    async def _send(
        self, method: str, url: str, params: Any, json: Any, headers: dict[str, str], authorization: str
    ) -> httpx.Response:
        all_headers = {
            "Authorization": authorization,
            "REST-Framework-Version": self._framework,
            "Accept": "application/json",
            **({"Content-Type": ITEM_TYPE} if json is not None else {}),
            **headers,
        }
        content = msgspec.json.encode(json) if json is not None else None
        response = await self._exchange(method, url, params=params, content=content, headers=all_headers)
        if response.status_code == 401:
            raise _Unauthorized
        if response.status_code >= 300:
            raise error_for(response)
        return response

    async def _authority_exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An exchange with the identity domain, under the same deadline."""
        return await exchange(
            self.client, method, url, vendor=AUTHORITY, timeout_seconds=self.config.timeout_seconds, **kwargs
        )


def page_items(body: Any) -> list[dict[str, Any]]:
    """The ``items`` of a collection, checked."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise UpstreamContractViolation(f"{DISPLAY} collection lacks 'items'")
    return [item for item in body["items"] if isinstance(item, dict)]


def error_for(response: httpx.Response) -> StrataError:
    """The Strata error for an Oracle error answer (status + ``o:errorDetails``)."""
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content) if response.content else None
    except msgspec.DecodeError:
        body = None
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
    message = str(
        first.get("detail") or (body.get("detail") or body.get("title") if isinstance(body, dict) else "") or ""
    )
    code = first.get("o:errorCode") if isinstance(first.get("o:errorCode"), str) else None
    transient = upstream_transient(DISPLAY, status, message, code, response.headers.get("retry-after"))
    if transient is not None:
        return transient
    if status == 404:
        return NotFound(f"Not found in {DISPLAY}: {message}", vendor_code=code)
    if not message:
        return UpstreamContractViolation(f"{DISPLAY} answered {status} without a readable error body")
    lowered = message.lower()
    if any(marker in lowered for marker in CLOSED_PERIOD_MARKERS):
        return PeriodClosed(f"{DISPLAY} refused the posting: {message}", vendor_code=code)
    if status == 409 or any(marker in lowered for marker in DUPLICATE_MARKERS):
        return Conflict(f"{DISPLAY}: {message}", vendor_code=code)
    return UpstreamRejected(f"{DISPLAY} rejected the request: {message}", vendor_code=code)

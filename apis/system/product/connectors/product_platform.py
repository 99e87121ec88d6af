"""Product platform connector: API key, JSON, ``pageToken`` paging, ``Idempotency-Key`` on POST.

Speaks the dialect documented in :mod:`sandboxes.product_platform` and maps its failures
onto :mod:`core.errors`:

=================================================  ==============================
product platform                                   Strata
=================================================  ==============================
429 ``rate_limited`` (+ ``Retry-After``)           UpstreamRateLimited (retryable)
5xx, connection errors                             UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``               UpstreamTimeout (retryable)
404 ``not_found``                                  NotFound
409, 422 ``idempotency_key_reused``                Conflict
400 ``invalid_page_token``                         InvalidInput naming ``cursor``
other 4xx                                          UpstreamRejected (vendor_code = error code)
401/403 (our API key refused), unreadable bodies,   UpstreamContractViolation (502)
missing fields
=================================================  ==============================

Retried (exponential backoff with full jitter, honouring ``Retry-After``): reads, PATCH
(absolute values), and POSTs carrying an ``Idempotency-Key`` — the platform replays the
first answer of a key, so a retry after a lost answer never grants twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.vendor_http import RetryPolicy, upstream_transient
from core.cursors import InvalidCursor
from core.errors import (
    Conflict,
    NotFound,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
)

VENDOR = "product-platform"
DISPLAY_NAME = "Product platform"
API_KEY_HEADER = "X-Api-Key"


class ProductPlatformConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the product platform connector.

    See :class:`~apis.system.kit.vendor_http.RetryPolicy`.
    """

    timeout_seconds: float = 5.0
    """Deadline of one exchange: the platform is an internal service, answers are quick."""


DEFAULT_PRODUCT_PLATFORM_CONFIG = ProductPlatformConfig()


class VendorRejected(UpstreamRejected):
    """A 4xx the platform explained; ``details`` are its ``[{"field", "issue"}]``."""

    def __init__(self, detail: str, *, vendor_code: str | None, details: list[dict[str, Any]]) -> None:
        super().__init__(detail, vendor_code=vendor_code)
        self.details = details


class ProductPlatformConnector(VendorConnector):
    """One product platform, reached through ``client`` (any transport: network or in-process)."""

    system = VENDOR
    display = DISPLAY_NAME

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        api_key: str,
        config: ProductPlatformConfig = DEFAULT_PRODUCT_PLATFORM_CONFIG,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(client, base_url, config, breaker)
        self.config: ProductPlatformConfig = config
        self._api_key = api_key

    # -- public operations ------------------------------------------------------------------------
    async def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """One resource (a JSON object)."""
        return await self._call("GET", path, params=params, idempotent=True)

    async def page(
        self, path: str, params: Mapping[str, str], page_size: int, page_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of a list: its items and the next page's token (``None`` on the last page)."""
        query = {**params, "pageSize": str(page_size)}
        if page_token:
            query["pageToken"] = page_token
        body = await self._call("GET", path, params=query, idempotent=True)
        data = body.get("data")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise UpstreamContractViolation(f"{DISPLAY_NAME} list answer lacks 'data'")
        token = body.get("nextPageToken")
        if token is not None and not isinstance(token, str):
            raise UpstreamContractViolation(f"{DISPLAY_NAME} nextPageToken is not a string")
        return data, token or None

    async def post(self, path: str, body: Any, *, idempotency_key: str | None) -> dict[str, Any]:
        """A POST; retried only when it carries an ``Idempotency-Key``."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return await self._call("POST", path, json=body, headers=headers, idempotent=idempotency_key is not None)

    async def patch(self, path: str, body: Any) -> dict[str, Any]:
        """A PATCH of absolute values: safe to repeat, so retried."""
        return await self._call("PATCH", path, json=body, idempotent=True)

    # -- transport ----------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool,
    ) -> dict[str, Any]:
        return await self._retrying(lambda: self._send(method, path, params, json, headers), idempotent=idempotent)

    async def _send(
        self, method: str, path: str, params: Any, json: Any, extra: Mapping[str, str] | None
    ) -> dict[str, Any]:
        headers = {API_KEY_HEADER: self._api_key, "Accept": "application/json", **(extra or {})}
        response = await self._exchange(method, f"{self._base_url}{path}", params=params, json=json, headers=headers)
        if response.status_code >= 300:
            raise self._error_for(response)
        body = self._decode(response, strict=False)
        if not isinstance(body, dict):
            raise UpstreamContractViolation(f"{DISPLAY_NAME} answered {response.status_code} without a JSON object")
        return body

    def _error_for(self, response: httpx.Response) -> StrataError:
        """The Strata error for an error answer (status + ``{"error": {...}}``)."""
        status = response.status_code
        body = self._decode(response, strict=False)
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = str(error.get("message") or f"{DISPLAY_NAME} answered {status}")
        transient = upstream_transient(DISPLAY_NAME, status, message, code, response.headers.get("retry-after"))
        if transient is not None:
            return transient
        if status in (401, 403):
            # Our credentials were refused: the gateway's set-up is wrong, not the caller's input.
            return UpstreamContractViolation(f"{DISPLAY_NAME} refused the gateway's API key: {message}")
        if status == 404:
            return NotFound(message, vendor_code=code)
        if status == 409 or code == "idempotency_key_reused":
            return Conflict(message, vendor_code=code)
        if code == "invalid_page_token":
            return InvalidCursor()
        if code is None:
            return UpstreamContractViolation(f"{DISPLAY_NAME} answered {status} without a readable error")
        details = error.get("details")
        cleaned = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        return VendorRejected(f"{DISPLAY_NAME} rejected the request: {message}", vendor_code=code, details=cleaned)

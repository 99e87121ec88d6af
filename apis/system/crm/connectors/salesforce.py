"""Salesforce REST connector: OAuth 2.0 client credentials, SOQL, sObjects, composite.

Speaks Salesforce's own dialect (see ``docs/vendors.md``) and maps its failures onto
:mod:`core.errors`:

=====================================================  ==============================
Salesforce                                             Strata
=====================================================  ==============================
429, 403 ``REQUEST_LIMIT_EXCEEDED``                    UpstreamRateLimited (retryable)
5xx, connection errors                                 UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``                   UpstreamTimeout (retryable)
404 / ``NOT_FOUND``                                    NotFound
300 (upsert or external-id read matched several)       Conflict
other 4xx error arrays                                 UpstreamRejected (vendor_code set)
unreadable bodies, missing fields                      UpstreamContractViolation
=====================================================  ==============================

A 401 ``INVALID_SESSION_ID`` refreshes the token once and repeats the call. Only idempotent
calls (reads and upserts by external id) are retried, with exponential backoff and full
jitter; a ``Retry-After`` longer than ``backoff_max_seconds`` is not waited for: the error
is raised with its ``retry_after`` so a durable workflow can schedule the retry instead.
Every attempt goes through the vendor's :class:`~apis.system.kit.circuit_breaker.CircuitBreaker`
when one is given: while Salesforce's circuit is open, calls fail at once with a 503.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from authlib.oauth2.auth import ClientAuth
from prometheus_client import Gauge

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.decoding import required
from apis.system.kit.tokens import AccessToken, ClientCredentialsGrant, TokenCache
from apis.system.kit.vendor_http import RetryPolicy, upstream_transient
from core.errors import (
    Conflict,
    NotFound,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
)

VENDOR = "salesforce"
API_USAGE = Gauge("strata_vendor_api_usage", "API calls used in the vendor's current allocation", ["vendor"])
API_USAGE_MAX = Gauge("strata_vendor_api_usage_max", "Size of the vendor's API call allocation", ["vendor"])
_LIMIT_INFO = re.compile(r"api-usage=(\d+)/(\d+)")
TOKEN_PATH = "/services/oauth2/token"


class SalesforceConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the Salesforce connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`)."""

    token_max_age_seconds: float = 3600.0
    """Refresh the token after this long even without a 401 (Salesforce sends no expiry)."""


DEFAULT_SALESFORCE_CONFIG = SalesforceConfig()


class ApiUsage(msgspec.Struct, frozen=True):
    """The last ``Sforce-Limit-Info`` seen: calls used of the org's allocation."""

    used: int
    max: int


class SalesforceToken(AccessToken, kw_only=True):
    """Salesforce's token answer: the org's ``instance_url`` comes with it (and no ``expires_in``)."""

    instance_url: str


class _SessionExpired(Exception):
    pass


class SalesforceConnector(VendorConnector):
    """One Salesforce org, reached through ``client`` (any transport: network or in-process)."""

    system = VENDOR
    display = "Salesforce"
    decimals = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        client_id: str,
        client_secret: str,
        api_version: str = "v62.0",
        config: SalesforceConfig = DEFAULT_SALESFORCE_CONFIG,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(client, base_url, config, breaker)
        self.config: SalesforceConfig = config
        self.api_version = api_version
        self.api_usage: ApiUsage | None = None
        grant = ClientCredentialsGrant(
            self._exchange,
            f"{self._base_url}{TOKEN_PATH}",
            ClientAuth(client_id, client_secret, "client_secret_post"),
            display=self.display,
            on_response=self._note_limits,
        )
        self._tokens: TokenCache[SalesforceToken] = TokenCache(
            lambda: grant.fetch(SalesforceToken), default_lifetime_seconds=config.token_max_age_seconds
        )

    @property
    def data_path(self) -> str:
        """Root-relative path of the REST API, e.g. ``/services/data/v62.0``."""
        return f"/services/data/{self.api_version}"

    # -- public operations ------------------------------------------------------------------------
    async def instance_url(self) -> str:
        """The org's instance URL, from a token (obtained now unless one is cached)."""
        return (await self._tokens.current()).instance_url

    async def versions(self) -> list[str]:
        """The REST API versions the org serves (``GET /services/data``), e.g. ``["61.0", "62.0"]``."""
        listed = await self._call("GET", "/services/data", idempotent=True)
        if not isinstance(listed, list):
            raise UpstreamContractViolation("Salesforce listed its API versions in something other than an array")
        return [str(item.get("version")) for item in listed if isinstance(item, dict)]

    async def describe(self, sobject: str) -> dict[str, Any]:
        """The sObject's describe: its fields with types, external ids and picklist values."""
        result = await self._call("GET", f"{self.data_path}/sobjects/{sobject}/describe", idempotent=True)
        self._field(result, "fields", list)
        return dict(result)

    async def query(self, soql: str) -> list[dict[str, Any]]:
        """All records of a SOQL query, following ``nextRecordsUrl`` to the last batch."""
        page = await self._call("GET", f"{self.data_path}/query", params={"q": soql}, idempotent=True)
        records = list(self._field(page, "records", list))
        while not page.get("done", True):
            next_url = self._field(page, "nextRecordsUrl", str)
            page = await self._call("GET", next_url, idempotent=True)
            records.extend(self._field(page, "records", list))
        return records

    async def get(self, sobject: str, record_id: str, fields: list[str] | None = None) -> dict[str, Any]:
        """One record by id."""
        params = {"fields": ",".join(fields)} if fields else None
        result = await self._call("GET", self.sobject_url(sobject, record_id), params=params, idempotent=True)
        return self.require_record(result)

    async def get_by_external_id(self, sobject: str, field: str, value: str) -> dict[str, Any]:
        """One record by external id (Conflict when several match)."""
        result = await self._call("GET", self.sobject_url(sobject, field, value), idempotent=True)
        return self.require_record(result)

    async def create(self, sobject: str, values: Mapping[str, Any]) -> str:
        """Insert a record; returns its id. Not retried (a retry could insert twice)."""
        result = await self._call("POST", self.sobject_url(sobject), json=dict(values), idempotent=False)
        return str(self._field(result, "id", str))

    async def update(self, sobject: str, record_id: str, values: Mapping[str, Any]) -> None:
        """Change fields of a record. Not retried."""
        await self._call("PATCH", self.sobject_url(sobject, record_id), json=dict(values), idempotent=False)

    async def upsert(self, sobject: str, field: str, value: str, values: Mapping[str, Any]) -> bool:
        """Create or update by external id; True when created. Retried: it is idempotent."""
        response = await self._call(
            "PATCH", self.sobject_url(sobject, field, value), json=dict(values), idempotent=True, raw=True
        )
        return bool(response.status_code == 201)

    async def composite(self, subrequests: list[dict[str, Any]], *, all_or_none: bool, idempotent: bool) -> list[Any]:
        """Run subrequests in one round trip; returns their bodies, raising the first failure."""
        result = await self._call(
            "POST",
            f"{self.data_path}/composite",
            json={"allOrNone": all_or_none, "compositeRequest": subrequests},
            idempotent=idempotent,
        )
        bodies = []
        for item in self._field(result, "compositeResponse", list):
            status = self._field(item, "httpStatusCode", int)
            body = item.get("body")
            if status >= 300:
                errors = (
                    [e for e in body if e.get("errorCode") != "PROCESSING_HALTED"] if isinstance(body, list) else []
                )
                raise self._error_for(status, errors or body, None)
            bodies.append(body)
        return bodies

    # -- transport ----------------------------------------------------------------------------
    def sobject_url(self, sobject: str, *parts: str) -> str:
        """Root-relative URL of an sObject resource; parts are percent-encoded."""
        return "/".join([f"{self.data_path}/sobjects/{sobject}", *(quote(p, safe="") for p in parts)])

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        idempotent: bool,
        raw: bool = False,
    ) -> Any:
        return await self._retrying(lambda: self._authorized(method, path, params, json, raw), idempotent=idempotent)

    async def _authorized(self, method: str, path: str, params: Any, json: Any, raw: bool) -> Any:
        token = await self._tokens.current()
        try:
            return await self._send(method, path, params, json, raw, token)
        except _SessionExpired:
            token = await self._tokens.current(stale=token)
            try:
                return await self._send(method, path, params, json, raw, token)
            except _SessionExpired:
                raise UpstreamRejected("Salesforce refused a fresh session", vendor_code="INVALID_SESSION_ID") from None

    async def _send(self, method: str, path: str, params: Any, json: Any, raw: bool, token: SalesforceToken) -> Any:
        url = path if path.startswith("http") else f"{token.instance_url.rstrip('/')}{path}"
        headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        response = await self._exchange(method, url, params=params, json=json, headers=headers)
        self._note_limits(response)
        if response.status_code == 401:
            raise _SessionExpired
        if response.status_code >= 300:
            body = self._decode(response, strict=response.status_code < 500)
            raise self._error_for(response.status_code, body, response.headers.get("retry-after"))
        if raw:
            return response
        return self._decode(response) if response.content else None

    def _note_limits(self, response: httpx.Response) -> None:
        match = _LIMIT_INFO.search(response.headers.get("sforce-limit-info", ""))
        if match:
            self.api_usage = ApiUsage(int(match[1]), int(match[2]))
            API_USAGE.labels(vendor=VENDOR).set(self.api_usage.used)
            API_USAGE_MAX.labels(vendor=VENDOR).set(self.api_usage.max)

    # -- errors -------------------------------------------------------------------------------
    @staticmethod
    def _error_for(status: int, body: Any, retry_after_header: str | None) -> StrataError:
        """The Strata error for a Salesforce error answer (status + error array)."""
        first = body[0] if isinstance(body, list) and body and isinstance(body[0], dict) else {}
        code = first.get("errorCode")
        message = first.get("message") or f"Salesforce answered {status}"
        throttled = status == 429 or code == "REQUEST_LIMIT_EXCEEDED"
        transient = upstream_transient("Salesforce", status, message, code, retry_after_header, throttled=throttled)
        if transient is not None:
            return transient
        if status == 300:
            return Conflict("Several Salesforce records match the external id", vendor_code="MULTIPLE_CHOICES")
        if status == 404 or code == "NOT_FOUND":
            return NotFound("No such record in Salesforce", vendor_code=code)
        if not first or not isinstance(code, str):
            return UpstreamContractViolation(f"Salesforce answered {status} without a readable error array")
        fields = first.get("fields")
        suffix = f" (fields: {', '.join(map(str, fields))})" if isinstance(fields, list) and fields else ""
        return UpstreamRejected(f"Salesforce rejected the request: {message}{suffix}", vendor_code=code)

    @staticmethod
    def _field(body: Any, name: str, kind: type) -> Any:
        return required(body, name, what="Salesforce response", kind=kind)

    @staticmethod
    def require_record(body: Any) -> dict[str, Any]:
        """``body`` as a record, checked to carry an ``Id``."""
        record: dict[str, Any] = body if isinstance(body, dict) else {}
        required(record, "Id", what="Salesforce record", kind=str)
        return record

"""SAP S/4HANA Cloud's transport: Basic or OAuth 2.0 auth, CSRF tokens, OData V2 envelopes, SOAP, errors.

==========================================================  ===============================
S/4HANA Cloud (SAP Gateway)                                 Strata
==========================================================  ===============================
429, ``Retry-After``                                        UpstreamRateLimited (retryable)
5xx, connection errors                                      UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``                        UpstreamTimeout (retryable)
404 (``/IWBEP/CM_MGW_RT/020``)                              NotFound
``F5/201`` "Posting period … is not open"                   PeriodClosed
412 (ETag), 409                                             Conflict (vendor_code set)
other 4xx ``{"error": {"code", "message": {"value"}}}``     UpstreamRejected (vendor_code set)
unreadable bodies, missing fields                           UpstreamContractViolation
==========================================================  ===============================

Writes need SAP Gateway's CSRF token: it is fetched with a ``GET`` of the service root carrying
``x-csrf-token: Fetch`` and sent, with the session cookies of that answer, on every write; a 403
answered with ``x-csrf-token: Required`` fetches a new one and repeats the write once (the write
was refused, so repeating it cannot duplicate it). A 401 with OAuth fetches a new token once.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import msgspec
from authlib.oauth2.auth import ClientAuth

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.tokens import AccessToken, ClientCredentialsGrant, TokenCache
from apis.system.kit.vendor_http import RetryPolicy, exchange, upstream_transient
from core.errors import Conflict, NotFound, PeriodClosed, StrataError, UpstreamContractViolation, UpstreamRejected

DISPLAY = "SAP S/4HANA Cloud"
ODATA_ROOT = "/sap/opu/odata/sap"
CLOSED_PERIOD_CODE = "F5/201"
WRITES = ("POST", "PUT", "PATCH", "MERGE", "DELETE")


class SapConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the S/4HANA Cloud connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`)."""


class _Unauthorized(Exception):
    pass


class _CsrfRequired(Exception):
    pass


class SapHttp(VendorConnector):
    """Authorized OData V2 and SOAP calls to one S/4HANA Cloud tenant, through ``client``."""

    system = "sap-s4hana"
    display = DISPLAY

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        *,
        basic: tuple[str, str] | None,
        oauth: tuple[str, str, str] | None,
        config: SapConfig,
        breaker: CircuitBreaker | None,
    ) -> None:
        """``basic`` = (user, password) of a communication user, or ``oauth`` = (token URL, client id, secret)."""
        super().__init__(client, base_url, config, breaker)
        self.client = client
        self.base_url = self._base_url
        self._basic = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode() if basic else ""
        self._tokens: TokenCache[AccessToken] | None = None
        if oauth is not None:
            token_url, client_id, secret = oauth
            grant = ClientCredentialsGrant(
                self._token_exchange, token_url, ClientAuth(client_id, secret, "client_secret_basic"), display=DISPLAY
            )
            self._tokens = TokenCache(lambda: grant.fetch(AccessToken))
        self._csrf: dict[str, tuple[str, str]] = {}
        """Service → (CSRF token, cookie header) of its session."""
        self._csrf_lock = asyncio.Lock()

    async def _authorization(self, stale: Any = None) -> tuple[str, Any]:
        if self._tokens is None:
            return self._basic, None
        token = await self._tokens.current(stale=stale) if stale is not None else await self._tokens.current()
        return f"Bearer {token.access_token}", token

    async def _token_exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return await exchange(
            self.client, method, url, vendor=DISPLAY, timeout_seconds=self.config.timeout_seconds, **kwargs
        )

    # -- OData ---------------------------------------------------------------------------------
    async def odata(
        self,
        method: str,
        service: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        """One OData call (retried when ``idempotent``): the ``d`` of the answer, or None for 204."""
        url = path if path.startswith("http") else f"{self.base_url}{ODATA_ROOT}/{service}/{path}"
        response = await self._retrying(
            lambda: self._attempt(method, service, url, params, json, headers or {}), idempotent=idempotent
        )
        if response.status_code == 204 or not response.content:
            return None
        body = self._decode(response)
        if not isinstance(body, dict) or "d" not in body:
            raise UpstreamContractViolation(f"{DISPLAY} answered without the OData V2 'd' envelope")
        return body["d"]

    async def _attempt(
        self, method: str, service: str, url: str, params: Any, json: Any, headers: dict[str, str]
    ) -> httpx.Response:
        authorization, token = await self._authorization()
        try:
            return await self._with_csrf(method, service, url, params, json, headers, authorization)
        except _Unauthorized:
            if token is None:
                raise UpstreamRejected(f"{DISPLAY} refused the communication user", vendor_code="401") from None
            authorization, _ = await self._authorization(stale=token)
            try:
                return await self._with_csrf(method, service, url, params, json, headers, authorization)
            except _Unauthorized:
                raise UpstreamRejected(f"{DISPLAY} refused a fresh token", vendor_code="401") from None

    async def _with_csrf(
        self, method: str, service: str, url: str, params: Any, json: Any, headers: dict[str, str], authorization: str
    ) -> httpx.Response:
        if method not in WRITES:
            return await self._send(method, url, params, json, {**headers, "Authorization": authorization})
        for attempt in range(2):
            token, cookie = await self._session(service, authorization, fresh=attempt > 0)
            all_headers = {**headers, "Authorization": authorization, "x-csrf-token": token, "Cookie": cookie}
            try:
                return await self._send(method, url, params, json, all_headers)
            except _CsrfRequired:
                continue
        raise UpstreamRejected(f"{DISPLAY} refused a fresh CSRF token", vendor_code="403")

    async def _session(self, service: str, authorization: str, *, fresh: bool) -> tuple[str, str]:
        async with self._csrf_lock:
            if fresh or service not in self._csrf:
                url = f"{self.base_url}{ODATA_ROOT}/{service}/"
                response = await self._send("GET", url, None, None, {"Authorization": authorization,
                                                                       "x-csrf-token": "Fetch"})  # fmt: skip
                token = response.headers.get("x-csrf-token", "")
                if not token or token.lower() == "required":
                    raise UpstreamContractViolation(f"{DISPLAY} answered no CSRF token")
                cookies = "; ".join(
                    c.split(";", 1)[0].strip() for c in response.headers.get_list("set-cookie") if "=" in c
                )
                self._csrf[service] = (token, cookies)
            return self._csrf[service]

    async def _send(self, method: str, url: str, params: Any, json: Any, headers: dict[str, str]) -> httpx.Response:
        all_headers = {"Accept": "application/json", **headers}
        response = await self._exchange(method, url, params=params, json=json, headers=all_headers)
        if response.status_code == 401:
            raise _Unauthorized
        if response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required":
            raise _CsrfRequired
        if response.status_code >= 300:
            raise error_for(response)
        return response

    # -- SOAP ----------------------------------------------------------------------------------
    async def soap(self, path: str, envelope: bytes) -> ET.Element:
        """One SOAP call, single attempt (callers retry whole procedures): the parsed answer."""

        async def attempt() -> httpx.Response:
            authorization, _ = await self._authorization()
            headers = {"Authorization": authorization, "Content-Type": "text/xml; charset=utf-8", "Accept": "text/xml"}
            response = await self._exchange("POST", f"{self.base_url}{path}", content=envelope, headers=headers)
            if response.status_code == 401:
                raise UpstreamRejected(f"{DISPLAY} refused the credentials", vendor_code="401")
            if response.status_code >= 300:
                transient = upstream_transient(
                    DISPLAY, response.status_code, "SOAP fault", None, response.headers.get("retry-after")
                )
                raise transient or UpstreamRejected(f"{DISPLAY} answered {response.status_code} to the SOAP call")
            return response

        response = await self._retrying(attempt, idempotent=False)
        try:
            return ET.fromstring(response.content)  # noqa: S314 (the tenant configured by the operator; no DTDs or entities are expanded by ElementTree since 3.7.1)
        except ET.ParseError:
            raise UpstreamContractViolation(f"{DISPLAY} answered an unreadable SOAP message") from None

    async def retried(self, procedure: Any, *, writes: int) -> Any:
        """Run a whole check-before-create procedure again after a retryable failure."""
        budget = (self.config.max_retries + 1) * writes - 1
        policy = msgspec.structs.replace(self.config, max_retries=budget)
        return await self._retrying(procedure, idempotent=True, policy=policy, guarded=False)


def error_for(response: httpx.Response) -> StrataError:
    """The Strata error for an SAP Gateway error answer."""
    status = response.status_code
    try:
        body = msgspec.json.decode(response.content) if response.content else None
    except msgspec.DecodeError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message_object = error.get("message") if isinstance(error, dict) else None
    message = str(message_object.get("value") if isinstance(message_object, dict) else message_object or "")
    transient = upstream_transient(DISPLAY, status, message, code, response.headers.get("retry-after"))
    if transient is not None:
        return transient
    if not isinstance(code, str):
        return UpstreamContractViolation(f"{DISPLAY} answered {status} without a readable error object")
    details = (error or {}).get("innererror", {}).get("errordetails") or [] if isinstance(error, dict) else []
    codes = {code, *(str(d.get("code")) for d in details if isinstance(d, dict))}
    if CLOSED_PERIOD_CODE in codes:
        return PeriodClosed(f"{DISPLAY} refused the posting: {message}", vendor_code=CLOSED_PERIOD_CODE)
    if status == 404:
        return NotFound(f"Not found in {DISPLAY}: {message}", vendor_code=code)
    if status in (409, 412):
        return Conflict(f"{DISPLAY}: {message}", vendor_code=code)
    return UpstreamRejected(f"{DISPLAY} rejected the request: {message}", vendor_code=code)

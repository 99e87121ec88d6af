"""NetSuite's wire protocol, vendor-wide: M2M token, exchanges under the cap, retries, errors.

:class:`NetSuiteHttp` is what every NetSuite call goes through (the connector,
:mod:`apis.system.erp.connectors.netsuite`, adds the canonical operations on top):

* OAuth 2.0 client credentials (RFC 6749 §4.4) with a JWT client assertion (RFC 7523 §2.2):
  header ``kid`` = certificate id, claims ``iss`` = client id, ``scope=rest_webservices``,
  ``aud`` = the token URL, ``iat``/``exp``; signed PS256/384/512 or ES256/384/512 with joserfc
  (Oracle's list; RS256 is refused). The token is
  cached (:class:`~apis.system.kit.tokens.TokenCache`) until ``token_refresh_margin_seconds``
  before ``expires_in``; a 401 refreshes it once. The assertion is an Authlib client
  authentication method of its own rather than Authlib's ``PrivateKeyJWT``, which adds ``sub``
  and ``jti`` claims NetSuite does not document (its list is iss, scope, aud, iat, exp).
* Every exchange holds one of ``max_concurrency`` slots of the account's
  :class:`~apis.system.kit.concurrency_cap.ConcurrencyCap` — shared by every gateway process through
  Redis when ``redis_url`` is set (NetSuite's limit is per account), else per process — and runs
  under :func:`apis.system.kit.vendor_http.exchange`'s deadline; :func:`~apis.system.kit.vendor_http.call_with_retries`
  retries what the caller marks idempotent, through NetSuite's circuit breaker.
* Records and SuiteQL pages (``links``, ``hasMore``, ``offset``, ``items``), ``Location`` ids.
* ``o:errorDetails`` mapped onto :mod:`core.errors` (see the connector's table).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import msgspec
from authlib.common.urls import add_params_to_qs
from authlib.oauth2.auth import ClientAuth
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from apis.system.erp.connectors import netsuite_mapping as m
from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.concurrency_cap import ConcurrencyCap, ProcessCap, concurrency_cap
from apis.system.kit.connector import VendorConnector
from apis.system.kit.decoding import required
from apis.system.kit.tokens import AccessToken, ClientCredentialsGrant, TokenCache
from apis.system.kit.vendor_http import RetryPolicy, upstream_transient
from core.errors import (
    Conflict,
    NotFound,
    PeriodClosed,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
)
from core.settings import SettingsError

if TYPE_CHECKING:
    from apis.system.erp.settings import NetSuiteSettings

DISPLAY = "NetSuite"
REST = "/services/rest"
TOKEN_PATH = "/auth/oauth2/v1/token"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_LOCATION = re.compile(r"/record/v1/([A-Za-z]+)/(\d+)/?$")
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600.0
"""How long a token lives when NetSuite's answer does not say."""
SUITEQL_PAGE = 1000
"""NetSuite's largest SuiteQL page."""


class NetSuiteConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts, retries, concurrency and lookups of the NetSuite connector."""

    max_concurrency: int = 4
    """Exchanges in flight at once; stay below the account's concurrency limit (5 on developer accounts)."""
    token_refresh_margin_seconds: float = 60.0
    """Fetch a new token this long before the cached one expires."""
    assertion_lifetime_seconds: int = 300
    """``exp - iat`` of the client assertion (NetSuite allows at most 3,600)."""
    job_poll_seconds: float = 0.2
    """Pause between polls of an async job that has not completed."""
    job_wait_seconds: float = 30.0
    """How long to wait for an async job before answering 504."""
    lookup_cache_seconds: float = 60.0
    """How long subsidiaries and accounting periods are kept (the period check before a posting);
    NetSuite's own ``CLOSED_TRAN_PRD`` still guards a period closed in the meantime."""
    lists: m.NetSuiteLists = m.DEFAULT_LISTS
    """Currency, account and term ids of the account."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.max_concurrency < 1 or not 0 < self.assertion_lifetime_seconds <= 3600:
            raise ValueError("max_concurrency must be at least 1; assertion_lifetime_seconds within 1..3600")


@dataclass(frozen=True)
class NetSuiteCredentials:
    """The integration record's client id and the certificate whose private key signs assertions."""

    client_id: str
    certificate_id: str
    private_key: RSAKey | ECKey = field(repr=False)
    algorithm: str = "PS256"


class _SessionExpired(Exception):
    pass


class AlreadySubmitted(Exception):
    """``IDEMPOTENCY_ERROR``: the key was used before; ``job_url`` is the original job."""

    def __init__(self, job_url: str) -> None:
        super().__init__(job_url)
        self.job_url = job_url


class NetSuiteHttp(VendorConnector):
    """Calls to one NetSuite account through ``client`` (network or an in-process sandbox)."""

    system = "netsuite"
    display = DISPLAY
    decimals = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        credentials: NetSuiteCredentials,
        config: NetSuiteConfig | None = None,
        breaker: CircuitBreaker | None = None,
        cap: ConcurrencyCap | None = None,
    ) -> None:
        config = config or NetSuiteConfig()
        super().__init__(client, base_url, config, breaker)
        self.config: NetSuiteConfig = config
        self._credentials = credentials
        self.cap: ConcurrencyCap = cap or ProcessCap(config.max_concurrency)
        """The account's concurrency cap (:func:`account_cap`; default: this process's own)."""
        grant = ClientCredentialsGrant(
            self._exchange,
            self.token_url,
            ClientAuth(credentials.client_id, None, self._assertion_auth),
            display=DISPLAY,
            refused="the client assertion",
        )
        self._tokens: TokenCache[AccessToken] = TokenCache(
            lambda: grant.fetch(AccessToken),
            refresh_margin_seconds=config.token_refresh_margin_seconds,
            default_lifetime_seconds=DEFAULT_TOKEN_LIFETIME_SECONDS,
        )
        self.in_flight = 0
        """Exchanges in flight now (a test reads it to see the cap hold)."""
        self.max_in_flight_seen = 0

    @property
    def token_url(self) -> str:
        """The token endpoint, which is also the assertion's ``aud``."""
        return f"{self._base_url}{REST}{TOKEN_PATH}"

    # -- records and SuiteQL ------------------------------------------------------------------
    async def get_record(self, record_type: str, record_id: str, *, expand: bool = True) -> m.Record:
        """One record; ``expand`` inlines its sublists (``expandSubResources=true``)."""
        params = {"expandSubResources": "true"} if expand else None
        response = await self._call("GET", f"/record/v1/{record_type}/{record_id}", params=params, idempotent=True)
        return record_body(self._decode(response))

    async def suiteql_page(self, query: str, limit: int, offset: int) -> tuple[list[m.Record], bool]:
        """One page of a SuiteQL query: (rows, hasMore)."""
        params = {"limit": str(limit), "offset": str(offset)}
        page = await self._suiteql(f"{REST}/query/v1/suiteql", query, params)
        return page["items"], page["hasMore"]

    async def suiteql_all(self, query: str) -> list[m.Record]:
        """Every row of a SuiteQL query, following the ``next`` link while ``hasMore``."""
        page = await self._suiteql(f"{REST}/query/v1/suiteql", query, {"limit": str(SUITEQL_PAGE), "offset": "0"})
        rows = list(page["items"])
        while page["hasMore"]:
            href = next(
                (link.get("href") for link in page["links"] if isinstance(link, dict) and link.get("rel") == "next"),
                None,
            )
            if not isinstance(href, str):
                raise UpstreamContractViolation("NetSuite SuiteQL page has more rows but no 'next' link")
            page = await self._suiteql(self._own_path(href), query, None)
            rows.extend(page["items"])
        return rows

    async def _suiteql(self, path: str, query: str, params: Mapping[str, str] | None) -> dict[str, Any]:
        response = await self._call(
            "POST", path, json={"q": query}, params=params, headers={"Prefer": "transient"}, idempotent=True
        )
        page = self._decode(response)
        if (
            not isinstance(page, dict)
            or not isinstance(page.get("items"), list)
            or not isinstance(page.get("hasMore"), bool)
        ):
            raise UpstreamContractViolation("NetSuite SuiteQL answer lacks 'items' or 'hasMore'")
        page.setdefault("links", [])
        if not all(isinstance(row, dict) for row in page["items"]):
            raise UpstreamContractViolation("NetSuite SuiteQL rows are not objects")
        return page

    # -- transport -------------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
    ) -> httpx.Response:
        return await self._retrying(
            lambda: self._attempt(method, path, json=json, params=params, headers=headers, raw=raw),
            idempotent=idempotent,
        )

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        raw: bool = False,
    ) -> httpx.Response:
        """One authorized exchange; a 401 refreshes the token once."""
        token = await self._tokens.current()
        try:
            return await self._send(method, path, json, params, headers, token, raw)
        except _SessionExpired:
            token = await self._tokens.current(stale=token)
            try:
                return await self._send(method, path, json, params, headers, token, raw)
            except _SessionExpired:
                raise UpstreamRejected("NetSuite refused a fresh token", vendor_code="INVALID_LOGIN") from None

    async def _send(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        token: AccessToken,
        raw: bool,
    ) -> httpx.Response:
        url = f"{self._base_url}{path if path.startswith(REST) else REST + path}"
        sent = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json", **(headers or {})}
        response = await self._exchange(method, url, json=json, params=params, headers=sent)
        if response.status_code == 401:
            raise _SessionExpired
        if raw and response.status_code < 500 and response.status_code != 429:
            return response
        if response.status_code >= 400:
            body = self._decode(response, strict=False)
            error = self._error_for(response.status_code, body, response.headers.get("retry-after"))
            if error.vendor_code == "IDEMPOTENCY_ERROR":
                job = response.headers.get("location") or job_in(body)
                if job:
                    raise AlreadySubmitted(job)
            raise error
        return response

    async def aclose(self) -> None:
        """Close the HTTP client and the cap's Redis connections."""
        try:
            await super().aclose()
        finally:
            await self.cap.aclose()

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async with self.cap.slot():
            self.in_flight += 1
            self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
            try:
                return await super()._exchange(method, url, **kwargs)
            finally:
                self.in_flight -= 1

    def client_assertion(self) -> str:
        """A fresh signed JWT client assertion (RFC 7523 §2.2) for the token request."""
        now = int(time.time())
        credentials = self._credentials
        header = {"alg": credentials.algorithm, "typ": "JWT", "kid": credentials.certificate_id}
        claims = {
            "iss": credentials.client_id,
            "scope": "rest_webservices",
            "aud": self.token_url,
            "iat": now,
            "exp": now + self.config.assertion_lifetime_seconds,
        }
        return jwt.encode(header, claims, credentials.private_key, algorithms=[credentials.algorithm])

    def _assertion_auth(self, _auth: ClientAuth, _method: str, uri: str, headers: Any, body: str) -> tuple[Any, ...]:
        """Authlib client authentication: the JWT client assertion (RFC 7523 §2.2) in the form."""
        form = [("client_assertion_type", JWT_BEARER), ("client_assertion", self.client_assertion())]
        return uri, headers, add_params_to_qs(body or "", form)

    def _own_path(self, href: str) -> str:
        """The REST path of a URL NetSuite handed us; only its path is used, never its host."""
        path = urlsplit(href).path
        at = path.find(REST)
        if at < 0:
            raise UpstreamContractViolation(f"NetSuite link {href!r} is not under {REST}")
        query = urlsplit(href).query
        return path[at:] + (f"?{query}" if query else "")

    @staticmethod
    def _location(response: httpx.Response) -> tuple[str, str]:
        location = response.headers.get("location")
        if response.status_code != 204 or not location:
            raise UpstreamContractViolation(f"NetSuite answered {response.status_code} without a Location")
        return parse_location(location)

    # -- errors -------------------------------------------------------------------------------
    @staticmethod
    def _error_for(status: int, body: Any, retry_after_header: str | None) -> StrataError:
        """The Strata error for a NetSuite error answer (``o:errorDetails``)."""
        details = body.get("o:errorDetails") if isinstance(body, dict) else None
        first = details[0] if isinstance(details, list) and details and isinstance(details[0], dict) else {}
        code = first.get("o:errorCode")
        message = str(
            first.get("detail") or (body.get("title") if isinstance(body, dict) else None) or f"answered {status}"
        )
        transient = upstream_transient(DISPLAY, status, message, code, retry_after_header)
        if transient is not None:
            return transient
        if code == "CLOSED_TRAN_PRD":
            return PeriodClosed(f"The ERP refused the posting: {message}", vendor_code=code)
        if status == 404 or code == "NONEXISTENT_ID":
            return NotFound("No such record in NetSuite", vendor_code=code or "NONEXISTENT_ID")
        if code == "DUP_RCRD":
            return Conflict("A NetSuite record with this external id exists", vendor_code=code)
        if code == "IDEMPOTENCY_ERROR":
            return Conflict("NetSuite saw this idempotency key before", vendor_code=code)
        if not isinstance(code, str):
            return UpstreamContractViolation(f"NetSuite answered {status} without readable o:errorDetails")
        path = first.get("o:errorPath")
        suffix = f" (field {m.field_pointer(path)})" if isinstance(path, str) and path else ""
        return UpstreamRejected(f"NetSuite rejected the request: {message}{suffix}", vendor_code=code)


def record_body(body: Any) -> m.Record:
    """``body`` as a NetSuite record, checked to carry an ``id``."""
    record: m.Record = body if isinstance(body, dict) else {}
    required(record, "id", what="NetSuite record", allow_empty=False)
    return record


def parse_location(location: str) -> tuple[str, str]:
    match = _LOCATION.search(urlsplit(location).path)
    if match is None:
        raise UpstreamContractViolation(f"NetSuite Location {location!r} names no record")
    return match[1], match[2]


def job_in(body: Any) -> str | None:
    details = body.get("o:errorDetails") if isinstance(body, dict) else None
    text = (
        str(details[0].get("detail", ""))
        if isinstance(details, list) and details and isinstance(details[0], dict)
        else ""
    )
    found = re.search(r"(\S*/async/v1/job/\d+)", text)
    return found[1].rstrip(".") if found else None


# -- building --------------------------------------------------------------------------------------
def lists_from_settings(settings: NetSuiteSettings) -> m.NetSuiteLists:
    """The account's list ids: ``netsuite_lists_file``, or the sandbox account's."""
    if not settings.lists_file:
        return m.DEFAULT_LISTS
    try:
        raw = Path(settings.lists_file).read_bytes()
    except OSError as error:
        raise SettingsError(f"netsuite_lists_file: cannot read it ({error.strerror})") from None
    try:
        return msgspec.json.decode(raw, type=m.NetSuiteLists)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        raise SettingsError(f"netsuite_lists_file: {error}") from None


def config_from_settings(settings: NetSuiteSettings) -> NetSuiteConfig:
    """The connector config the ``netsuite_*`` settings describe."""
    return NetSuiteConfig(
        lists=lists_from_settings(settings),
        timeout_seconds=settings.timeout_ms / 1000,
        max_retries=settings.max_retries,
        backoff_base_seconds=settings.backoff_base_ms / 1000,
        backoff_max_seconds=max(settings.backoff_max_ms, settings.backoff_base_ms) / 1000,
        max_concurrency=settings.max_concurrency,
    )


def account_cap(base_url: str, settings: NetSuiteSettings, redis_url: str) -> ConcurrencyCap:
    """The cap on exchanges in flight to the account at ``base_url``: ``max_concurrency`` across every
    process sharing ``redis_url`` (NetSuite counts an account's requests, whoever sends them), per
    process without Redis. A slot is held at most one exchange deadline."""
    return concurrency_cap(
        f"netsuite:{base_url.rstrip('/')}",
        settings.max_concurrency,
        redis_url=redis_url,
        hold_seconds=settings.timeout_ms / 1000,
        on_backend_error=settings.concurrency_on_redis_error,
    )


def load_private_key(settings: NetSuiteSettings) -> RSAKey | ECKey | None:
    """The configured signing key (``netsuite_private_key`` or the file), or None when unset."""
    pem = settings.private_key
    if not pem and settings.private_key_file:
        try:
            pem = Path(settings.private_key_file).read_text(encoding="utf-8")
        except OSError as error:
            raise SettingsError(f"netsuite_private_key_file: cannot read it ({error.strerror})") from None
    if not pem:
        return None
    try:
        if settings.signing_algorithm.startswith("ES"):
            return ECKey.import_key(pem)
        return RSAKey.import_key(pem)
    except Exception:  # joserfc raises several types for a bad PEM; never echo the key
        raise SettingsError(f"netsuite_private_key: not a PEM private key for {settings.signing_algorithm}") from None

"""Avalara AvaTax REST v2 connector: Basic auth, transactions, AvaTax's ``error.details[]``.

Speaks AvaTax's own dialect (see ``docs/vendors.md``) and maps its failures onto
:mod:`core.errors`:

===========================================================  ==================================
AvaTax                                                       Strata
===========================================================  ==================================
429 (``RequestLimitExceeded``)                               UpstreamRateLimited (retryable)
5xx, connection errors                                       UpstreamUnavailable (retryable)
no answer within ``timeout_seconds``                         UpstreamTimeout (retryable)
404 ``EntityNotFoundError``                                  :class:`AvalaraNotFound` (NotFound)
``DocumentCodeConflict``, ``InvalidDocumentStatus``           Conflict
401 ``AuthenticationException``                              UpstreamRejected (our credentials)
other 4xx with ``error.details[]``                           :class:`AvalaraRejected` (UpstreamRejected)
unreadable bodies, missing fields                            UpstreamContractViolation
===========================================================  ==================================

Both AvaTax-specific errors carry ``refers_to`` (the detail's ``refersTo``: the model field at
fault, e.g. ``addresses.shipTo.postalCode``), which the service turns into field errors.

Codes in URLs: AvaTax wants ``/ + ? % #`` in company and transaction codes written in its own
escape form (``/`` → ``_-ava2f-_``, ``+`` → ``_-ava2b-_``, ``?`` → ``_-ava3f-_``, ``%`` →
``_-ava25-_``, ``#`` → ``_-ava23-_``) and a space as ``%20`` (the NOTE on every
``/companies/{companyCode}/transactions/{transactionCode}`` operation of the AvaTax v2 API
reference); :func:`ava_escape` does that, then percent-encodes whatever else is not a plain URL
character.

Retries: only calls that are safe to repeat — tax estimates (``SalesOrder`` through
``transactions/create``: nothing is recorded), ``transactions/createoradjust`` (the document
code is the key; an identical repeat applies nothing) and reads. Commit, void and adjust are
sent once. Every attempt goes through AvaTax's circuit breaker when one is given.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import msgspec

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.decoding import required
from apis.system.kit.vendor_http import RetryPolicy, upstream_transient
from core.errors import (
    Conflict,
    NotFound,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
)

VENDOR = "avalara"
API = "/api/v2"
TRANSACTION_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("code", str),
    ("lines", list),
    ("totalAmount", (int, Decimal)),
    ("totalTax", (int, Decimal)),
)
"""What the mapping needs of a TransactionModel (amounts are JSON numbers: int or Decimal)."""
CONFLICT_CODES = frozenset({"DocumentCodeConflict", "InvalidDocumentStatus"})
_ENCODER = msgspec.json.Encoder(decimal_format="number")
AVA_ESCAPES = str.maketrans({"/": "_-ava2f-_", "+": "_-ava2b-_", "?": "_-ava3f-_", "%": "_-ava25-_", "#": "_-ava23-_"})
"""AvaTax's own escape form for the characters it will not take percent-encoded in a code."""
"""Decimals go out as JSON numbers, as AvaTax's models declare them."""


def ava_escape(code: str) -> str:
    """A company or transaction code as one URL path segment, escaped as AvaTax requires.

    ``INV/2026 #7`` → ``INV_-ava2f-_2026%20_-ava23-_7``: the five characters AvaTax names in its
    own form, then RFC 3986 percent-encoding for the rest (a space is ``%20``).
    """
    return quote(code.translate(AVA_ESCAPES), safe="")


class AvalaraConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the AvaTax connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`)."""

    client_header: str = "Strata; 1.0; Strata AvaTax connector; 1.0; strata-gateway"
    """``X-Avalara-Client``: application; version; adapter; adapter version; machine."""


DEFAULT_AVALARA_CONFIG = AvalaraConfig()


class AvalaraRejected(UpstreamRejected):
    """AvaTax refused the model; ``refers_to`` names the field at fault, when it says."""

    def __init__(self, detail: str, *, vendor_code: str | None, refers_to: str | None) -> None:
        super().__init__(detail, vendor_code=vendor_code)
        self.refers_to = refers_to


class AvalaraNotFound(NotFound):
    """AvaTax has no such company or document; ``refers_to`` says which (``companyCode``, …)."""

    def __init__(self, detail: str, *, vendor_code: str | None, refers_to: str | None) -> None:
        super().__init__(detail, vendor_code=vendor_code)
        self.refers_to = refers_to


class AvalaraConnector(VendorConnector):
    """One AvaTax account, reached through ``client`` (any transport: network or in-process)."""

    system = VENDOR
    display = "AvaTax"
    decimals = True

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        account_id: str,
        license_key: str,
        config: AvalaraConfig = DEFAULT_AVALARA_CONFIG,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(client, base_url, config, breaker)
        self.config: AvalaraConfig = config
        # Built once; the license key is never logged or put into an error detail.
        token = base64.b64encode(f"{account_id}:{license_key}".encode()).decode()
        self._authorization = f"Basic {token}"

    # -- operations ---------------------------------------------------------------------------------
    async def ping(self) -> dict[str, Any]:
        """``GET /utilities/ping``: the service version and whether our credentials are valid."""
        result = await self._call("GET", f"{API}/utilities/ping", idempotent=True)
        if not isinstance(result, dict) or not isinstance(result.get("authenticated"), bool):
            raise UpstreamContractViolation("AvaTax ping answer lacks 'authenticated'")
        return result

    async def company(self, code: str) -> dict[str, Any] | None:
        """The company with this code (QueryCompanies with a ``$filter``), or ``None``."""
        params = {"$filter": f"companyCode eq '{code.replace(chr(39), chr(39) * 2)}'"}
        result = await self._call("GET", f"{API}/companies", params=params, idempotent=True)
        found = required(result, "value", what="AvaTax FetchResult", kind=list)
        return found[0] if found and isinstance(found[0], dict) else None

    async def estimate(self, model: dict[str, Any]) -> dict[str, Any]:
        """Tax for a ``SalesOrder``/``ReturnOrder`` model (not recorded, so retried)."""
        if model.get("type") not in ("SalesOrder", "ReturnOrder"):
            raise ValueError("estimate() takes an order model; invoices are recorded: use create_or_adjust()")
        return self._transaction(await self._call("POST", f"{API}/transactions/create", json=model, idempotent=True))

    async def create_or_adjust(
        self, model: dict[str, Any], *, reason: str = "Other", description: str | None = None
    ) -> dict[str, Any]:
        """``transactions/createoradjust``: the idempotent write (retried; the document code is the key)."""
        body = {"adjustmentReason": reason, "adjustmentDescription": description, "createTransactionModel": model}
        result = await self._call("POST", f"{API}/transactions/createoradjust", json=body, idempotent=True)
        return self._transaction(result)

    async def get(self, company: str, code: str, document_type: str | None = None) -> dict[str, Any]:
        """The current version of a document."""
        params = {"documentType": document_type} if document_type else None
        result = await self._call("GET", self._document(company, code), params=params, idempotent=True)
        return self._transaction(result)

    async def void(self, company: str, code: str, reason: str, document_type: str | None = None) -> dict[str, Any]:
        """``…/void`` (sent once)."""
        return await self._document_call(company, code, "void", {"code": reason}, document_type)

    async def commit(self, company: str, code: str, document_type: str | None = None) -> dict[str, Any]:
        """``…/commit`` (sent once)."""
        return await self._document_call(company, code, "commit", {"commit": True}, document_type)

    async def adjust(
        self,
        company: str,
        code: str,
        model: dict[str, Any],
        *,
        reason: str,
        description: str | None,
        document_type: str | None = None,
    ) -> dict[str, Any]:
        """``…/adjust`` with a new model (sent once: every adjustment is a new version)."""
        body = {"adjustmentReason": reason, "adjustmentDescription": description, "newTransaction": model}
        return await self._document_call(company, code, "adjust", body, document_type)

    # -- transport ------------------------------------------------------------------------------------
    @staticmethod
    def _document(company: str, code: str) -> str:
        return f"{API}/companies/{ava_escape(company)}/transactions/{ava_escape(code)}"

    async def _document_call(
        self, company: str, code: str, action: str, body: dict[str, Any], document_type: str | None
    ) -> dict[str, Any]:
        params = {"documentType": document_type} if document_type else None
        path = f"{self._document(company, code)}/{action}"
        return self._transaction(await self._call("POST", path, json=body, params=params, idempotent=False))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        idempotent: bool,
    ) -> Any:
        return await self._retrying(lambda: self._send(method, path, json, params), idempotent=idempotent)

    async def _send(self, method: str, path: str, json: Any, params: dict[str, str] | None) -> Any:
        headers = {
            "Authorization": self._authorization,
            "Accept": "application/json",
            "X-Avalara-Client": self.config.client_header,
        }
        content = None
        if json is not None:
            content = _ENCODER.encode(json)
            headers["Content-Type"] = "application/json"
        response = await self._exchange(
            method, f"{self._base_url}{path}", content=content, params=params, headers=headers
        )
        if response.status_code >= 300:
            body = self._decode(response, strict=response.status_code < 500)
            raise self._error_for(response.status_code, body, response.headers.get("retry-after"))
        return self._decode(response)

    # -- errors -------------------------------------------------------------------------------------
    @staticmethod
    def _error_for(status: int, body: Any, retry_after_header: str | None) -> StrataError:
        """The Strata error for an AvaTax error answer (status + ``error`` object)."""
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        details = error.get("details") if isinstance(error.get("details"), list) else []
        first = details[0] if details and isinstance(details[0], dict) else {}
        code = error.get("code") or first.get("code")
        code = code if isinstance(code, str) else None
        message = (
            first.get("description") or error.get("message") or first.get("message") or f"AvaTax answered {status}"
        )
        refers_to = first.get("refersTo") if isinstance(first.get("refersTo"), str) else None
        transient = upstream_transient("AvaTax", status, str(message), code, retry_after_header)
        if transient is not None:
            return transient
        if code is None:
            return UpstreamContractViolation(f"AvaTax answered {status} without a readable error object")
        if status == 401:
            return UpstreamRejected(f"AvaTax refused the account id and license key: {message}", vendor_code=code)
        if status == 404 or code == "EntityNotFoundError":
            return AvalaraNotFound(str(message), vendor_code=code, refers_to=refers_to)
        if code in CONFLICT_CODES:
            return Conflict(f"AvaTax: {message}", vendor_code=code)
        return AvalaraRejected(f"AvaTax rejected the transaction: {message}", vendor_code=code, refers_to=refers_to)

    @staticmethod
    def _transaction(body: Any) -> dict[str, Any]:
        """``body`` as a TransactionModel, checked to carry what the mapping needs."""
        if not isinstance(body, dict):
            raise UpstreamContractViolation("AvaTax answered a transaction that is not an object")
        for name, kind in (
            ("code", str),
            ("lines", list),
            ("totalAmount", (int, Decimal)),
            ("totalTax", (int, Decimal)),
        ):
            required(body, name, what="AvaTax transaction", kind=kind)
        return body

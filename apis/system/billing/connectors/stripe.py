"""Stripe connector (shared by the billing and the payments system APIs).

Speaks Stripe's own dialect (see ``docs/vendors.md``): ``Authorization: Bearer
sk_…``; one pinned ``Stripe-Version`` (:data:`STRIPE_API_VERSION`, the version the stripe
16.1 SDK pins); form-encoded bodies in bracket notation (:func:`encode_form`); lists
``{"object": "list", "has_more", "data"}`` paged with ``starting_after``. Every POST carries an
``Idempotency-Key`` (:func:`derive_idempotency_key`), so every call is safe to retry; retries
use :func:`apis.system.kit.vendor_http.call_with_retries` (backoff with jitter, never sooner than
``Retry-After``) and follow ``Stripe-Should-Retry``. Failures map onto :mod:`core.errors`:

==========================================================  ==================================
Stripe                                                      Strata
==========================================================  ==================================
429 (``rate_limit``, ``lock_timeout``)                      UpstreamRateLimited (retried)
409 ``idempotency_key_in_use``, ``Stripe-Should-Retry: true``  UpstreamUnavailable (retried)
5xx, connection errors                                      UpstreamUnavailable (retried)
5xx with ``Stripe-Should-Retry: false``                     StripeFailedFinally (502, not retried)
no answer within ``timeout_seconds``                        UpstreamTimeout (retried)
404 ``resource_missing`` on the object itself               NotFound
400 naming a ``param`` we sent                              InvalidInput, param → our field
400 state codes (``invoice_not_editable`` …)                Conflict
400 ``idempotency_error``                                   Conflict
402 ``card_error``                                          PaymentDeclined (422, decline code)
401 / 403                                                   StripeFailedFinally (502)
unreadable bodies, missing fields                           UpstreamContractViolation
==========================================================  ==================================
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.connector import VendorConnector
from apis.system.kit.decoding import decode_json, required
from apis.system.kit.vendor_http import RetryPolicy, parse_retry_after, upstream_transient
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermanentError,
    StrataError,
    UpstreamContractViolation,
    UpstreamRejected,
    UpstreamUnavailable,
)

VENDOR = "stripe"
STRIPE_API_VERSION = "2026-10-28.endive"
"""The one API version every request pins (the stripe 16.1 SDK's)."""
DEFAULT_BASE_URL = "https://api.stripe.com"
MAX_PAGE = 100
STATE_CODES = frozenset(
    {
        "invoice_not_editable",
        "invoice_already_paid",
        "payment_intent_unexpected_state",
        "charge_already_refunded",
        "charge_not_refundable",
        "subscription_canceled",
        "credit_note_already_voided",
        "resource_already_exists",
    }
)
"""Stripe error codes meaning "the object is not in a state that allows this" → 409."""
ParamPointer = Callable[[str], str | None]
"""Maps a Stripe ``param`` (``items[0][price]``) to a JSON pointer into our request (``/items/0/price_id``)."""


class StripeConfig(RetryPolicy, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Timeouts and retries of the Stripe connector (see :class:`~apis.system.kit.vendor_http.RetryPolicy`).

    Stripe's own SDKs time out after 80 s; a gateway request should not wait that long.
    """

    timeout_seconds: float = 20.0
    """Deadline of one exchange with Stripe."""


DEFAULT_STRIPE_CONFIG = StripeConfig()


class StripeFailedFinally(PermanentError):
    """Stripe failed and said retrying cannot help (``Stripe-Should-Retry: false``, or it refused our key)."""

    status = 502
    problem = "upstream-failed"
    title = "Upstream failed"


class PaymentDeclined(UpstreamRejected):
    """The card was declined (Stripe 402 ``card_error``); ``vendor_code`` is the decline code."""

    problem = "payment-declined"
    title = "Payment declined"


def encode_form(params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Bracket-notation form pairs: ``{"items": [{"price": "p"}]}`` → ``[("items[0][price]", "p")]``.

    ``None`` is left out; booleans are ``true``/``false``; an empty mapping is ``name=`` (Stripe's
    "unset"). Lists of scalars use indexes too (``expand[0]=…``), which Stripe accepts.
    """
    pairs: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            if not value and prefix:
                pairs.append((prefix, ""))
            for key, item in value.items():
                walk(f"{prefix}[{key}]" if prefix else str(key), item)
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                walk(f"{prefix}[{index}]", item)
        elif isinstance(value, bool):
            pairs.append((prefix, "true" if value else "false"))
        else:
            pairs.append((prefix, str(value)))

    walk("", params)
    return pairs


def derive_idempotency_key(caller_key: str | None, *, client_id: str | None, operation: str) -> str:
    """The ``Idempotency-Key`` sent to Stripe for one write.

    With the caller's key: a digest of (client, key, operation), so the caller's retry through
    the gateway — even after a 5xx released the gateway's own record — repeats the same
    Stripe key and Stripe applies the write once; two clients choosing the same key never
    share a Stripe result. Without one: a fresh key, still reused by the connector's own retries.
    """
    if caller_key is None:
        return f"strata-{uuid.uuid4()}"
    digest = hashlib.sha256(f"{client_id or '-'}\x00{caller_key}\x00{operation}".encode()).hexdigest()
    return f"strata-{digest[:48]}"


class StripeConnector(VendorConnector):
    """One Stripe account, reached through ``client`` (any transport: network or in-process)."""

    system = VENDOR
    display = "Stripe"

    def __init__(
        self,
        client: httpx.AsyncClient,
        base_url: str,
        secret_key: str,
        *,
        config: StripeConfig = DEFAULT_STRIPE_CONFIG,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(client, base_url, config, breaker)
        self.config: StripeConfig = config
        self._secret_key = secret_key

    # -- public operations ---------------------------------------------------------------------
    async def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, pointer: ParamPointer | None = None
    ) -> dict[str, Any]:
        """``GET /v1/…`` (retried: reads are idempotent)."""
        return await self._call("GET", path, params or {}, None, pointer)

    async def post(
        self, path: str, params: Mapping[str, Any], *, idempotency_key: str, pointer: ParamPointer | None = None
    ) -> dict[str, Any]:
        """``POST /v1/…`` with an ``Idempotency-Key`` (retried: Stripe replays the first result)."""
        return await self._call("POST", path, params, idempotency_key, pointer)

    async def delete(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """``DELETE /v1/…`` (idempotent by definition at Stripe; carries no key)."""
        return await self._call("DELETE", path, params or {}, None, None)

    async def page(
        self, path: str, params: Mapping[str, Any], *, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """One list page: ``(data, has_more)``."""
        query = {**params, "limit": max(1, min(MAX_PAGE, limit)), "starting_after": after}
        body = await self.get(path, query)
        data = self.field(body, "data", list)
        if not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in data):
            raise UpstreamContractViolation(f"Stripe list {path} has items without an id")
        return data, bool(body.get("has_more", False))

    # -- transport -------------------------------------------------------------------------------
    async def _call(
        self, method: str, path: str, params: Mapping[str, Any], key: str | None, pointer: ParamPointer | None
    ) -> dict[str, Any]:
        if method == "POST" and key is None:
            key = derive_idempotency_key(None, client_id=None, operation=path)  # one key for every retry
        return await self._retrying(
            lambda: self._send(method, path, params, key, pointer),
            idempotent=True,  # reads, DELETEs and keyed POSTs only: every Stripe call we make
        )

    async def _send(
        self, method: str, path: str, params: Mapping[str, Any], key: str | None, pointer: ParamPointer | None
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self._secret_key}",
            "Stripe-Version": STRIPE_API_VERSION,
            "Accept": "application/json",
        }
        pairs = encode_form(params)
        kwargs: dict[str, Any] = {"headers": headers}
        if method == "POST":
            headers["Idempotency-Key"] = key or ""
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            kwargs["content"] = urlencode(pairs).encode()
        else:
            kwargs["params"] = urlencode(pairs)
        response = await self._exchange(method, f"{self._base_url}{path}", **kwargs)
        if response.status_code >= 300:
            raise self._error_for(response, pointer)
        body = self._decode(response)
        if not isinstance(body, dict) or not isinstance(body.get("object"), str):
            raise UpstreamContractViolation(f"Stripe answered {path} without an object")
        return body

    # -- errors ----------------------------------------------------------------------------------
    @classmethod
    def _error_for(cls, response: httpx.Response, pointer: ParamPointer | None) -> StrataError:
        """The Strata error for a Stripe error answer (status, ``error`` object, retry headers)."""
        status = response.status_code
        body = decode_json(response, display="Stripe", strict=False)
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        kind, code, param = error.get("type"), error.get("code"), error.get("param")
        message = str(error.get("message") or f"Stripe answered {status}")
        should_retry = response.headers.get("stripe-should-retry")
        if should_retry == "false" and (status >= 500 or status in (409, 429)):
            return StripeFailedFinally(f"Stripe failed and advised against retrying: {message}", vendor_code=code)
        transient = upstream_transient("Stripe", status, message, code, response.headers.get("retry-after"))
        if transient is not None:
            return transient
        if status == 409:  # idempotency_key_in_use: the first request with this key is still running
            failure = UpstreamUnavailable(f"Stripe answered {status}: {message}", vendor_code=code)
            failure.retry_after = parse_retry_after(response.headers.get("retry-after"))
            return failure
        if not error or not isinstance(kind, str):
            return UpstreamContractViolation(f"Stripe answered {status} without a readable error object")
        if status in (401, 403):
            return StripeFailedFinally(f"Stripe refused the credentials: {message}", vendor_code=code)
        if status == 402 or kind == "card_error":
            decline = error.get("decline_code") or code
            return PaymentDeclined(f"Stripe declined the payment: {message}", vendor_code=decline)
        if kind == "idempotency_error" or code in STATE_CODES:
            return Conflict(f"Stripe refused the change: {message}", vendor_code=code or kind)
        target = pointer(param) if pointer and isinstance(param, str) else None
        if status == 404 or (code == "resource_missing" and target is None):
            return NotFound(f"Stripe has no such object: {message}", vendor_code=code)
        if target is not None:
            detail = f"{message} (Stripe {code or kind})"
            return InvalidInput(detail, field_errors=[{"in": "body", "pointer": target, "detail": message}])
        return UpstreamRejected(f"Stripe rejected the request: {message}", vendor_code=code or kind)

    @staticmethod
    def field(body: Any, name: str, kind: type) -> Any:
        """``body[name]``, checked to be a ``kind``."""
        return required(body, name, what="Stripe response", kind=kind)

"""The payment processor's objects (``/system/payments``): payment intents, refunds, verified vendor events."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Money

PaymentIntentStatus = Literal[
    "requires_payment_method", "requires_confirmation", "requires_action", "processing", "requires_capture",
    "canceled", "succeeded",
]  # fmt: skip


class PaymentIntent(msgspec.Struct, frozen=True, kw_only=True):
    """An intent to collect one payment."""

    id: str
    """Id of the payment intent."""
    amount: Money
    """Amount to collect."""
    amount_received: Money
    """Amount collected so far."""
    customer_id: str | None
    """The paying customer."""
    status: PaymentIntentStatus
    """Where the payment stands."""
    description: str | None
    """Text shown on statements and receipts."""
    payment_method: str | None
    """Payment method used or to be used."""
    failure_code: str | None
    """Why the last attempt failed (e.g. a decline code)."""
    failure_message: str | None
    """The last failure, in words."""
    client_secret: str | None
    """Secret a browser needs to complete the payment."""
    canceled_at: dt.datetime | None
    """When it was canceled."""
    created_at: dt.datetime
    """When it was created (UTC)."""


class PaymentIntentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A payment to collect."""

    amount: Money
    """Amount to collect."""
    customer_id: str | None = None
    """The paying customer."""
    payment_method: str | None = None
    """Payment method to charge."""
    confirm: bool = False
    """Charge at once (needs ``payment_method``)."""
    description: str | None = None
    """Statement / receipt text."""
    external_id: str | None = None
    """Strata's id of what is paid (e.g. an invoice)."""


class PaymentIntentConfirm(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Confirming a payment intent."""

    payment_method: str | None = None
    """Payment method to charge (if not given at creation)."""


class PaymentIntentCancel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Canceling a payment intent."""

    reason: Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"] | None = None
    """Why."""


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    """Money given back from a payment."""

    id: str
    """Id of the refund."""
    payment_intent_id: str | None
    """The payment refunded."""
    amount: Money
    """Amount refunded."""
    status: Literal["pending", "requires_action", "succeeded", "failed", "canceled"]
    """Where the refund stands."""
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None
    """Why."""
    created_at: dt.datetime
    """When it was created (UTC)."""


class RefundCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A refund to make."""

    payment_intent_id: str
    """The payment to refund (it must have succeeded)."""
    amount: Money | None = None
    """Amount to refund (default: everything not yet refunded)."""
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    """Why."""


class VendorEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A verified vendor webhook event waiting in the inbox."""

    id: str
    """The vendor's event id (the de-duplication key)."""
    vendor: str
    """Who sent it (``stripe``)."""
    type: str
    """The vendor's event type, e.g. ``invoice.paid``."""
    received_at: dt.datetime
    """When it was received and verified (UTC)."""
    payload: bytes
    """The raw body as received (verified bytes)."""

"""Canonical business objects: the only shapes that cross a layer boundary.

Every object is a frozen :class:`msgspec.Struct`. Outbound objects (what system APIs return)
are plain frozen structs; inbound ones (what callers send us) also forbid unknown fields, so a
typo in a request body is an error instead of a silently ignored value.

Conventions (see ``/work/shared/ARCHITECTURE.md``):

* money is :class:`Money` — a decimal string and an ISO 4217 code, never a float;
* timestamps are timezone-aware ``datetime`` values in UTC (RFC 3339 on the wire), dates are
  ``datetime.date`` (ISO 8601);
* ids are opaque strings; no vendor field name appears in this module.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Generic, Literal, TypeVar

import msgspec

T = TypeVar("T")

OpportunityStage = Literal[
    "prospecting",
    "qualification",
    "needs_analysis",
    "value_proposition",
    "decision_makers",
    "perception_analysis",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
    "other",
]
"""Sales stages, in pipeline order. ``other`` stands for a vendor stage we do not know."""

OPPORTUNITY_STAGES: tuple[str, ...] = OpportunityStage.__args__  # type: ignore[attr-defined]

CustomerBillingStatus = Literal["prospect", "active", "past_due", "suspended", "churned"]
"""Where a customer stands with billing."""

OpportunityBillingStatus = Literal["not_invoiced", "pending", "invoiced", "paid", "failed"]
"""How far a won opportunity has travelled through billing (written back by quote-to-cash)."""


class Money(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An amount in one currency: ``{"amount": "1234.50", "currency": "EUR"}``."""

    amount: str
    """Decimal string, e.g. ``"1234.50"``; never a float."""
    currency: str
    """ISO 4217 code, e.g. ``"EUR"``."""

    @classmethod
    def of(cls, amount: Decimal, currency: str) -> Money:
        """Build from a :class:`~decimal.Decimal`, written without exponent."""
        return cls(amount=format(amount, "f"), currency=currency)

    def decimal(self) -> Decimal:
        """The amount as a :class:`~decimal.Decimal`."""
        return Decimal(self.amount)


class Address(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A postal address."""

    line1: str | None = None
    """First street line."""
    line2: str | None = None
    """Second street line (building, floor, ...)."""
    city: str | None = None
    """City or locality."""
    region: str | None = None
    """State, province or region."""
    postal_code: str | None = None
    """Postal or ZIP code."""
    country: str | None = None
    """ISO 3166-1 alpha-2 country code."""


class Customer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer account, as the CRM knows it."""

    id: str
    """Opaque id of the customer in this API (for the CRM API: the CRM's own id)."""
    external_id: str | None
    """Strata's canonical id (``cus_…``) stored on the CRM record, when it has been synced."""
    name: str
    """Legal or trading name."""
    domain: str | None
    """Primary web domain, e.g. ``example.com``."""
    parent_id: str | None
    """Id of the parent customer in the account hierarchy."""
    billing_address: Address | None
    """Billing address."""
    tax_id: str | None
    """VAT / tax registration number."""
    currency: str | None
    """ISO 4217 code of the customer's default currency."""
    industry: str | None
    """Industry, free text as kept in the CRM."""
    billing_status: CustomerBillingStatus | None
    """Where the customer stands with billing."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A person at a customer."""

    id: str
    """Opaque id of the contact."""
    account_id: str | None
    """Id of the customer the contact belongs to."""
    first_name: str | None
    """Given name."""
    last_name: str
    """Family name."""
    email: str | None
    """E-mail address."""
    phone: str | None
    """Phone number, as entered."""
    title: str | None
    """Job title."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""


class OpportunityLine(msgspec.Struct, frozen=True, kw_only=True):
    """One product line of an opportunity."""

    product_code: str | None
    """Product code, e.g. ``STRATA-CORE``."""
    description: str | None
    """Line description."""
    quantity: str
    """Quantity as a decimal string."""
    unit_price: Money
    """Price of one unit."""
    total: Money
    """Line total (after any line discount)."""


class Opportunity(msgspec.Struct, frozen=True, kw_only=True):
    """A sales opportunity; a won one is what quote-to-cash turns into a subscription."""

    id: str
    """Opaque id of the opportunity."""
    name: str
    """Name of the deal."""
    account_id: str | None
    """Id of the customer."""
    stage: OpportunityStage
    """Sales stage."""
    amount: Money | None
    """Deal amount, when known."""
    close_date: dt.date
    """Expected or actual close date."""
    billing_status: OpportunityBillingStatus | None
    """How far the deal has travelled through billing."""
    invoice_number: str | None
    """Number of the invoice billing issued, once invoiced."""
    lines: list[OpportunityLine] | None
    """Product lines; ``None`` in list results, where lines are not fetched."""
    created_at: dt.datetime
    """When the record was created (UTC)."""
    updated_at: dt.datetime
    """When the record last changed (UTC)."""


class CustomerUpsert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Create-or-update of a customer keyed by its external (Strata) id."""

    name: str
    """Legal or trading name."""
    domain: str | None = None
    """Primary web domain."""
    parent_id: str | None = None
    """Id of the parent customer."""
    billing_address: Address | None = None
    """Billing address."""
    tax_id: str | None = None
    """VAT / tax registration number."""
    currency: str | None = None
    """ISO 4217 code."""
    industry: str | None = None
    """Industry."""
    billing_status: CustomerBillingStatus | None = None
    """Where the customer stands with billing."""


class BillingStatusPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Billing's write-back onto an opportunity."""

    billing_status: OpportunityBillingStatus
    """The new billing status."""
    invoice_number: str | None = None
    """Number of the invoice, when one exists."""


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a list: the items and the cursor of the next page (``None`` on the last)."""

    items: list[T]
    """The objects of this page."""
    next_cursor: str | None
    """Opaque cursor of the next page; ``None`` on the last page."""


# -- billing ---------------------------------------------------------------------------------
# Named Billing* where another domain (ERP, product platform) may define its own Invoice,
# Product or CreditNote: the billing system's objects are not the ledger's.

CollectionMethod = Literal["charge_automatically", "send_invoice"]
"""How an invoice is collected: charged to the payment method on file, or sent to be paid."""
ProrationMode = Literal["prorate", "prorate_and_invoice", "none"]
"""How a subscription change is charged: prorated on the next invoice, invoiced now, or not at all."""
SubscriptionStatus = Literal[
    "active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "trialing", "paused"
]
BillingInvoiceStatus = Literal["draft", "open", "paid", "void", "uncollectible"]
CreditNoteReason = Literal["duplicate", "fraudulent", "order_change", "product_unsatisfactory"]


class BillingCustomer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as the billing system knows it."""

    id: str
    """Id of the customer in the billing system."""
    external_id: str | None
    """Strata's canonical id (``cus_01J…``), when the customer was created through Strata."""
    crm_account_id: str | None
    """The CRM account this customer was synced from, if any."""
    name: str | None
    """Name on invoices."""
    email: str | None
    """Where invoices are sent."""
    billing_address: Address | None
    """Billing address."""
    currency: str | None
    """ISO 4217 code of the customer's invoices, once it has any."""
    created_at: dt.datetime
    """When the customer was created (UTC)."""


class BillingCustomerCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new billing customer."""

    name: str
    """Name on invoices."""
    email: str | None = None
    """Where invoices are sent."""
    external_id: str | None = None
    """Strata's canonical id."""
    crm_account_id: str | None = None
    """The CRM account this customer belongs to."""
    billing_address: Address | None = None
    """Billing address."""


class BillingCustomerPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Changes to a billing customer; absent fields stay as they are."""

    name: str | None = None
    """New name."""
    email: str | None = None
    """New invoice e-mail."""
    billing_address: Address | None = None
    """New billing address."""


class BillingProduct(msgspec.Struct, frozen=True, kw_only=True):
    """Something sold: one product code."""

    id: str
    """Id of the product in the billing system."""
    code: str | None
    """Product code shared with CRM and ERP (``STRATA-CORE`` …)."""
    name: str
    """Display name."""
    description: str | None
    """Longer description."""
    active: bool
    """Whether it can be sold."""
    created_at: dt.datetime
    """When it was created (UTC)."""


class BillingPrice(msgspec.Struct, frozen=True, kw_only=True):
    """What a product costs, in one currency and rhythm."""

    id: str
    """Id of the price."""
    product_id: str
    """The product priced."""
    lookup_key: str | None
    """Stable name of the price (``STRATA-CORE-usd``)."""
    unit_amount: Money | None
    """Price per unit; ``None`` for prices without a fixed unit amount."""
    kind: Literal["one_time", "recurring", "metered"]
    """Charged once, per period per unit, or per period by metered usage."""
    interval: Literal["day", "week", "month", "year"] | None
    """Billing period of recurring and metered prices."""
    interval_count: int | None
    """Periods per billing cycle."""
    meter_id: str | None
    """The meter a metered price charges for."""
    active: bool
    """Whether new subscriptions may use it."""


class SubscriptionItem(msgspec.Struct, frozen=True, kw_only=True):
    """One price on a subscription."""

    id: str
    """Id of the item."""
    price_id: str
    """The price charged."""
    product_id: str
    """The price's product."""
    quantity: int | None
    """Units; ``None`` for metered prices."""
    current_period_start: dt.datetime | None
    """Start of the item's current billing period."""
    current_period_end: dt.datetime | None
    """End of the item's current billing period."""


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's recurring purchase."""

    id: str
    """Id of the subscription."""
    customer_id: str
    """The customer billed."""
    status: SubscriptionStatus
    """Where the subscription stands."""
    currency: str
    """ISO 4217 code."""
    collection_method: CollectionMethod
    """How its invoices are collected."""
    days_until_due: int | None
    """Payment term of sent invoices."""
    items: list[SubscriptionItem]
    """What is subscribed."""
    cancel_at_period_end: bool
    """Whether it ends with the current period."""
    latest_invoice_id: str | None
    """The newest invoice it produced."""
    canceled_at: dt.datetime | None
    """When it was canceled."""
    created_at: dt.datetime
    """When it was created (UTC)."""


class SubscriptionItemInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A price on a new subscription."""

    price_id: str
    """The price."""
    quantity: int | None = None
    """Units (default 1; leave out for metered prices)."""


class SubscriptionCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new subscription."""

    customer_id: str
    """The customer billed."""
    items: list[SubscriptionItemInput]
    """What is subscribed (at least one price)."""
    collection_method: CollectionMethod = "send_invoice"
    """How its invoices are collected."""
    days_until_due: int | None = 30
    """Payment term of sent invoices."""
    external_id: str | None = None
    """Strata's id of the subscription (e.g. the order it came from)."""


class SubscriptionItemChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One change of an amendment: an existing item (``item_id``) changed or removed, or a new price."""

    item_id: str | None = None
    """The item to change or remove; absent for a new item."""
    price_id: str | None = None
    """The new price (required for a new item)."""
    quantity: int | None = None
    """The new quantity."""
    remove: bool = False
    """Remove the item."""


class SubscriptionAmend(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Changes to a subscription's items, and how to charge for them."""

    items: list[SubscriptionItemChange]
    """The changes."""
    proration: ProrationMode = "prorate"
    """How the change is charged."""


class SubscriptionCancel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How to end a subscription."""

    prorate: bool = False
    """Credit the unused time of the current period."""
    invoice_now: bool = False
    """Invoice the final prorations at once (with ``prorate``)."""


class BillingInvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an invoice."""

    id: str
    """Id of the line."""
    description: str | None
    """Text on the invoice."""
    quantity: int | None
    """Units."""
    amount: Money
    """Line total (negative for credits, e.g. unused time)."""
    price_id: str | None
    """The price charged, if any."""
    proration: bool
    """Whether the line prorates a subscription change."""
    period_start: dt.datetime | None
    """Start of the period charged."""
    period_end: dt.datetime | None
    """End of the period charged."""


class BillingInvoice(msgspec.Struct, frozen=True, kw_only=True):
    """An invoice of the billing system."""

    id: str
    """Id of the invoice."""
    number: str | None
    """Invoice number, set when it is finalized."""
    customer_id: str
    """The customer billed."""
    subscription_id: str | None
    """The subscription it bills, if any."""
    status: BillingInvoiceStatus
    """Where the invoice stands."""
    collection_method: CollectionMethod
    """How it is collected."""
    total: Money
    """Total of the lines."""
    amount_due: Money
    """What the customer owes (total less pre-payment credit notes)."""
    amount_paid: Money
    """What was paid."""
    amount_remaining: Money
    """What is still open."""
    due_date: dt.date | None
    """When payment is due (sent invoices)."""
    hosted_url: str | None
    """Where the customer sees and pays the invoice."""
    lines: list[BillingInvoiceLine]
    """The lines."""
    created_at: dt.datetime
    """When it was created (UTC)."""
    finalized_at: dt.datetime | None
    """When it was finalized."""
    paid_at: dt.datetime | None
    """When it was paid."""
    voided_at: dt.datetime | None
    """When it was voided."""


class BillingCreditNote(msgspec.Struct, frozen=True, kw_only=True):
    """A credit against an invoice."""

    id: str
    """Id of the credit note."""
    number: str
    """Credit note number."""
    invoice_id: str
    """The invoice credited."""
    customer_id: str
    """The customer credited."""
    amount: Money
    """Amount credited."""
    reason: CreditNoteReason | None
    """Why."""
    memo: str | None
    """Text on the credit note."""
    status: Literal["issued", "void"]
    """Issued or voided."""
    applies_before_payment: bool
    """True when it lowered what was due on an open invoice; false when issued after payment."""
    created_at: dt.datetime
    """When it was issued (UTC)."""


class BillingCreditNoteCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A credit note to issue."""

    invoice_id: str
    """The invoice to credit (open or paid)."""
    amount: Money
    """Amount to credit, in the invoice's currency."""
    reason: CreditNoteReason | None = None
    """Why."""
    memo: str | None = None
    """Text on the credit note."""


class Meter(msgspec.Struct, frozen=True, kw_only=True):
    """A usage meter: what metered prices charge for."""

    id: str
    """Id of the meter."""
    event_name: str
    """Name usage events are reported under."""
    display_name: str
    """Display name."""
    aggregation: Literal["sum", "count", "last"]
    """How events in a period add up."""
    active: bool
    """Whether it accepts events."""


class UsageEventCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Usage to report for one customer."""

    event_name: str
    """The meter's event name."""
    customer_id: str
    """The billing customer."""
    value: int
    """Units used."""
    identifier: str
    """Unique id of this usage (de-duplicates repeated reports)."""
    timestamp: dt.datetime | None = None
    """When the usage happened (default now; at most 35 days ago)."""


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Usage as recorded."""

    identifier: str
    """Unique id of the usage."""
    event_name: str
    """The meter's event name."""
    customer_id: str
    """The billing customer."""
    value: int
    """Units used."""
    timestamp: dt.datetime
    """When the usage happened."""
    duplicate: bool
    """True when this identifier had been recorded before (nothing was counted twice)."""


class UsageSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A meter's aggregated usage of one customer over a time window."""

    meter_id: str
    """The meter."""
    customer_id: str
    """The customer."""
    start: dt.datetime
    """Start of the window (inclusive)."""
    end: dt.datetime
    """End of the window (exclusive)."""
    value: int
    """The aggregated usage."""


# -- payments --------------------------------------------------------------------------------
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

"""The billing system's objects (``/system/billing``): customers, subscriptions, invoices, meters.

Named ``Billing*`` where another domain (ERP, product platform) may define its own Invoice,
Product or CreditNote: the billing system's objects are not the ledger's.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Address, Money

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
    external_id: str | None
    """Strata's id it was created with (:attr:`SubscriptionCreate.external_id`: e.g. the order's
    opportunity), ``None`` for one created outside Strata."""
    schedule_id: str | None = None
    """The schedule that holds its later changes (:class:`SubscriptionSchedule`), if one does."""


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
    one_time_items: list[SubscriptionItemInput] = []
    """One-time prices (e.g. an onboarding fee) charged on the subscription's first invoice."""


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


class SchedulePhase(msgspec.Struct, frozen=True, kw_only=True):
    """One phase of a subscription schedule: these items from ``start`` to ``end``."""

    start: dt.datetime
    """When the phase begins (UTC)."""
    end: dt.datetime | None
    """When it ends (UTC)."""
    items: list[SubscriptionItemInput]
    """The prices and quantities of the phase."""


class SubscriptionSchedule(msgspec.Struct, frozen=True, kw_only=True):
    """Changes of a subscription that take effect later (e.g. a downgrade at the period's end)."""

    id: str
    """Id of the schedule."""
    subscription_id: str | None
    """The subscription it changes (``None`` once released)."""
    status: str
    """``active``, ``not_started``, ``completed``, ``released`` or ``canceled``."""
    phases: list[SchedulePhase]
    """The phases, in order; the first is the current one."""
    external_id: str | None = None
    """Strata's id it was created with (the transaction of the change), ``None`` for one made outside Strata."""


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


class MeterUsageEvent(msgspec.Struct, frozen=True, kw_only=True):
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

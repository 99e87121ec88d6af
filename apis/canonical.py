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


# -- product ---------------------------------------------------------------------------------------
ChargeModel = Literal["flat", "per_unit", "metered"]
"""How a SKU is charged: a flat fee, per unit (seat, instance), or by metered usage."""

BillingInterval = Literal["month", "year", "one_time"]
"""How often a SKU is charged."""

EntitlementStatus = Literal["active", "revoked"]
"""Whether an entitlement is in force."""

UsageEventStatus = Literal["accepted", "duplicate", "rejected"]
"""What became of one ingested usage event."""


class CatalogProduct(msgspec.Struct, frozen=True, kw_only=True):
    """A product of the product platform's catalog (what is sold, not how it is priced)."""

    id: str
    """Opaque id of the product."""
    code: str
    """Product code shared with CRM and ERP, e.g. ``STRATA-CORE``."""
    name: str
    """Display name."""
    family: str | None
    """Product family, e.g. ``Connectors``."""
    description: str | None
    """Longer description."""
    active: bool
    """Whether it can be sold."""
    created_at: dt.datetime
    """When the product was created (UTC)."""
    updated_at: dt.datetime
    """When the product last changed (UTC)."""


class Sku(msgspec.Struct, frozen=True, kw_only=True):
    """A sellable variant of a product, with its price."""

    id: str
    """Opaque id of the SKU."""
    code: str
    """SKU code; the primary SKU of a product carries the product code."""
    product_id: str
    """Id of the product."""
    name: str
    """Display name."""
    charge_model: ChargeModel
    """How it is charged."""
    billing_interval: BillingInterval | None
    """How often it is charged."""
    unit: str | None
    """What one unit is, e.g. ``instance`` or ``million_api_calls``."""
    unit_price: Money
    """List price of one unit."""
    active: bool
    """Whether it can be sold."""


class BundleComponent(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU in a bundle."""

    sku_id: str
    """Id of the SKU."""
    sku_code: str
    """Code of the SKU."""
    quantity: int
    """Units of the SKU in the bundle."""


class Bundle(msgspec.Struct, frozen=True, kw_only=True):
    """SKUs sold together under one code."""

    id: str
    """Opaque id of the bundle."""
    code: str
    """Bundle code, e.g. ``STRATA-STARTER``."""
    name: str
    """Display name."""
    description: str | None
    """Longer description."""
    components: list[BundleComponent]
    """The SKUs it contains."""
    active: bool
    """Whether it can be sold."""


class ProductCustomer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as the product platform knows it (the tenant that uses the product)."""

    id: str
    """Opaque id of the customer in the product platform."""
    crm_account_id: str | None
    """Id of the same customer in the CRM."""
    name: str
    """Name of the customer."""
    domain: str | None
    """Primary web domain."""
    status: str
    """The platform's status of the tenant, e.g. ``active`` or ``trial``."""
    created_at: dt.datetime
    """When the tenant was created (UTC)."""


class Entitlement(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's right to use a SKU, in a quantity, for a time."""

    id: str
    """Opaque id of the entitlement."""
    customer_id: str
    """Id of the customer (in the product platform)."""
    sku_id: str
    """Id of the SKU."""
    sku_code: str
    """Code of the SKU."""
    quantity: int
    """Units granted (seats, instances, ...)."""
    status: EntitlementStatus
    """Whether it is in force."""
    starts_at: dt.datetime
    """When it starts (UTC)."""
    ends_at: dt.datetime | None
    """When it ends (UTC); ``None`` = open-ended."""
    revoked_at: dt.datetime | None
    """When it was revoked (UTC)."""
    revoke_reason: str | None
    """Why it was revoked."""
    source_ref: str | None
    """What it was granted for (e.g. an order or opportunity id), when known."""
    created_at: dt.datetime
    """When it was granted (UTC)."""
    updated_at: dt.datetime
    """When it last changed (UTC)."""


class EntitlementGrant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Grant a SKU to a customer."""

    sku_code: str
    """Code of the SKU granted."""
    quantity: int = 1
    """Units granted."""
    starts_at: dt.datetime | None = None
    """Start (UTC); ``None`` = now."""
    ends_at: dt.datetime | None = None
    """End (UTC); ``None`` = open-ended."""
    source_ref: str | None = None
    """What it is granted for (an order or opportunity id)."""


class EntitlementChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """New absolute values for an entitlement (repeating a change changes nothing)."""

    quantity: int | None = None
    """New quantity."""
    ends_at: dt.datetime | None = None
    """New end (UTC)."""


class EntitlementRevoke(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Revoke an entitlement."""

    reason: str | None = None
    """Why."""


class UsageEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One metered usage event; its ``id`` de-duplicates it across batches and retries."""

    id: str
    """Event id chosen by the sender (unique per event, stable across retries)."""
    customer_id: str
    """Id of the customer (in the product platform)."""
    sku_code: str
    """Code of the metered SKU."""
    quantity: str
    """Quantity as a decimal string."""
    occurred_at: dt.datetime
    """When the usage happened (UTC)."""


class UsageEventBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Usage events sent together."""

    events: list[UsageEvent]
    """The events, at most 1,000."""


class UsageEventResult(msgspec.Struct, frozen=True, kw_only=True):
    """What became of one usage event."""

    id: str
    """The event's id."""
    status: UsageEventStatus
    """``accepted``, ``duplicate`` (seen before; nothing changed) or ``rejected``."""
    reason: str | None = None
    """Why it was rejected."""


class UsageBatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """Per-event results of a usage batch, in request order, with totals."""

    results: list[UsageEventResult]
    """One result per event."""
    accepted: int
    """Events accepted now."""
    duplicates: int
    """Events seen before."""
    rejected: int
    """Events refused."""


# -- data ------------------------------------------------------------------------------------------
class BusinessEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A business fact that happened, CloudEvents-like (id, type, source, time, subject, data)."""

    id: str
    """Event id, unique per source; the same fact always carries the same id."""
    type: str
    """Event type, e.g. ``strata.invoice.finalized``."""
    source: str
    """System the event comes from, e.g. ``billing`` or ``crm``."""
    time: dt.datetime
    """When it happened; its UTC date names the lake partition."""
    subject: str | None = None
    """What the event is about, e.g. an invoice id."""
    correlation_id: str | None = None
    """Id tying together everything done for one business transaction."""
    schema_version: str = "1"
    """Version of the ``data`` schema of this event type."""
    data: dict[str, object] = msgspec.field(default_factory=dict)
    """The event's payload."""


class DataRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A snapshot of one business record (an invoice, a customer, ...) as of ``updated_at``."""

    object_type: str
    """Kind of record, e.g. ``invoice``; names the lake folder."""
    id: str
    """Id of the record in its source system."""
    source: str
    """System the record comes from."""
    updated_at: dt.datetime
    """When the record was last changed; its UTC date names the lake partition."""
    correlation_id: str | None = None
    """Id tying together everything done for one business transaction."""
    schema_version: str = "1"
    """Version of the ``data`` schema of this object."""
    data: dict[str, object] = msgspec.field(default_factory=dict)
    """The record's fields."""


class EventBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Business events landed together under one batch id."""

    events: list[BusinessEvent]
    """The events."""


class RecordBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Records landed together under one batch id."""

    records: list[DataRecord]
    """The records."""


class LandedObject(msgspec.Struct, frozen=True, kw_only=True):
    """One object written to the lake."""

    key: str
    """Its key (path) relative to the lake root."""
    items: int
    """Lines (events or records) in it."""


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a batch landed as."""

    batch_id: str
    """The batch id (part of every object name, so a retry overwrites instead of duplicating)."""
    items: int
    """Events or records in the batch."""
    objects: list[LandedObject]
    """The objects written, in key order."""

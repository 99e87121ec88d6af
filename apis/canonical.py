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


# -- ERP --------------------------------------------------------------------------------------
# The financial system of record's objects. The same shapes come out of every ERP connector
# (NetSuite, Business Central): that is what makes the ERP swappable by configuration.

PaymentTerms = Literal["due_on_receipt", "net_15", "net_30", "net_45", "net_60", "net_90"]
"""Credit terms of an ERP customer (owned by the ERP, never overwritten by a CRM sync)."""

ErpDocumentStatus = Literal["open", "pending_approval", "billed", "paid", "partially_paid", "closed", "void"]
"""Where an ERP document stands; connectors map their vendor's statuses onto these."""


class LegalEntity(msgspec.Struct, frozen=True, kw_only=True):
    """A company of the group that keeps its own books (NetSuite subsidiary, BC company)."""

    id: str
    """ERP id of the legal entity."""
    name: str
    """Legal name."""
    currency: str
    """ISO 4217 code of its base currency."""
    country: str | None
    """ISO 3166-1 alpha-2 country code."""
    parent_id: str | None
    """Id of the parent (consolidating) entity."""


class AccountingPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """A posting period; nothing can be posted into a closed one."""

    id: str
    """ERP id of the period."""
    name: str
    """Display name, e.g. ``Jan 2026``."""
    start_date: dt.date
    """First day of the period."""
    end_date: dt.date
    """Last day of the period."""
    closed: bool
    """Whether postings dated in the period are refused."""


class Item(msgspec.Struct, frozen=True, kw_only=True):
    """A sellable item of the ERP's item master."""

    id: str
    """ERP id of the item."""
    code: str
    """Item code / SKU, matching the product code in CRM and billing (e.g. ``STRATA-CORE``)."""
    name: str
    """Display name."""
    description: str | None
    """Sales description."""
    unit_price: Money | None
    """Base price of one unit, when the ERP keeps one."""


class ErpCustomer(msgspec.Struct, frozen=True, kw_only=True):
    """A customer as the ERP knows it (the receivables side)."""

    id: str
    """ERP id of the customer."""
    external_id: str | None
    """Strata's canonical id (``cus_…``) or the CRM id the record was upserted with."""
    number: str | None
    """The ERP's customer number (NetSuite ``entityId``, BC ``number``)."""
    name: str
    """Legal or trading name."""
    legal_entity_id: str | None
    """The legal entity (subsidiary / company) that sells to this customer."""
    currency: str | None
    """ISO 4217 code of the customer's currency."""
    tax_id: str | None
    """VAT / tax registration number."""
    email: str | None
    """Billing e-mail address."""
    domain: str | None
    """Web domain or site."""
    billing_address: Address | None
    """Billing address."""
    parent_id: str | None
    """ERP id of the parent customer."""
    payment_terms: PaymentTerms | None
    """Credit terms."""
    updated_at: dt.datetime | None
    """When the record last changed (UTC), when the ERP says."""


class ErpCustomerUpsert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Create-or-update of an ERP customer keyed by its external id."""

    name: str
    """Legal or trading name."""
    legal_entity_id: str | None = None
    """Legal entity selling to the customer; the ERP's default when absent."""
    currency: str | None = None
    """ISO 4217 code."""
    tax_id: str | None = None
    """VAT / tax registration number."""
    email: str | None = None
    """Billing e-mail address."""
    domain: str | None = None
    """Web domain."""
    billing_address: Address | None = None
    """Billing address."""
    parent_id: str | None = None
    """ERP id of the parent customer."""
    payment_terms: PaymentTerms | None = None
    """Credit terms (left as the ERP has them when absent)."""


class DocumentLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an ERP sales order, invoice or credit memo."""

    item_id: str
    """ERP id of the item."""
    item_code: str | None
    """Item code, when the ERP returns it."""
    description: str | None
    """Line description."""
    quantity: str
    """Quantity as a decimal string."""
    unit_price: Money
    """Price of one unit."""
    amount: Money
    """Line amount (quantity × unit price, before tax)."""


class DocumentLineInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A line of a document to create."""

    item_id: str
    """ERP id of the item."""
    quantity: str
    """Quantity as a decimal string (positive)."""
    unit_price: str
    """Price of one unit as a decimal string, in the document's currency."""
    description: str | None = None
    """Line description."""


class SalesOrder(msgspec.Struct, frozen=True, kw_only=True):
    """A sales order in the ERP."""

    id: str
    """ERP id."""
    external_id: str | None
    """The business key it was created with (e.g. the CRM opportunity id)."""
    number: str | None
    """Document number (``SO…``)."""
    customer_id: str
    """ERP id of the customer."""
    legal_entity_id: str | None
    """Legal entity of the sale."""
    date: dt.date
    """Transaction date."""
    currency: str
    """ISO 4217 code."""
    status: ErpDocumentStatus
    """Where the order stands."""
    lines: list[DocumentLine]
    """The order's lines."""
    total: Money
    """Order total."""


class SalesOrderCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sales order to create; ``external_id`` makes the create exactly-once."""

    external_id: str
    """Business key of the order (e.g. the CRM opportunity id); a repeat returns the same order."""
    customer_id: str
    """ERP id of the customer."""
    date: dt.date
    """Transaction date."""
    currency: str
    """ISO 4217 code."""
    lines: list[DocumentLineInput]
    """At least one line."""
    memo: str | None = None
    """Free-text memo."""


class Invoice(msgspec.Struct, frozen=True, kw_only=True):
    """A receivable invoice in the ERP."""

    id: str
    """ERP id."""
    external_id: str | None
    """The business key it was created with (e.g. the billing invoice id)."""
    number: str | None
    """Document number."""
    customer_id: str
    """ERP id of the customer."""
    legal_entity_id: str | None
    """Legal entity that issued it."""
    sales_order_id: str | None
    """The sales order it bills, when created from one."""
    date: dt.date
    """Invoice date (decides the accounting period)."""
    due_date: dt.date | None
    """Payment due date."""
    currency: str
    """ISO 4217 code."""
    status: ErpDocumentStatus
    """Where the invoice stands."""
    lines: list[DocumentLine]
    """The invoice's lines."""
    total: Money
    """Invoice total."""
    amount_due: Money
    """What is still to be paid."""


class InvoiceCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A receivable to post; ``external_id`` makes the create exactly-once."""

    external_id: str
    """Business key (e.g. the billing invoice id); a repeat returns the same invoice."""
    customer_id: str
    """ERP id of the customer."""
    date: dt.date
    """Invoice date; its accounting period must be open."""
    currency: str
    """ISO 4217 code."""
    lines: list[DocumentLineInput]
    """At least one line."""
    due_date: dt.date | None = None
    """Payment due date."""
    sales_order_id: str | None = None
    """The sales order being billed, if any."""
    memo: str | None = None
    """Free-text memo."""


class PaymentApplication(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Part of a payment applied to one invoice."""

    invoice_id: str
    """ERP id of the invoice."""
    amount: str
    """Amount applied, as a decimal string in the payment's currency."""


class CustomerPayment(msgspec.Struct, frozen=True, kw_only=True):
    """Cash received from a customer, applied to invoices."""

    id: str
    """ERP id."""
    external_id: str | None
    """Business key (e.g. the payment processor's charge id)."""
    customer_id: str
    """ERP id of the customer."""
    date: dt.date
    """Payment date."""
    amount: Money
    """Amount received."""
    applications: list[PaymentApplication]
    """Invoices it pays, and how much of each."""


class CustomerPaymentCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A payment to record and apply; ``external_id`` makes the create exactly-once."""

    external_id: str
    """Business key (e.g. the payment intent id)."""
    customer_id: str
    """ERP id of the customer."""
    date: dt.date
    """Payment date; its accounting period must be open."""
    currency: str
    """ISO 4217 code."""
    amount: str
    """Amount received, as a decimal string."""
    applications: list[PaymentApplication]
    """Invoices to apply it to (the amounts may not exceed ``amount``)."""


class CreditMemo(msgspec.Struct, frozen=True, kw_only=True):
    """A credit memo (negative receivable) in the ERP."""

    id: str
    """ERP id."""
    external_id: str | None
    """Business key (e.g. the billing credit note or refund id)."""
    number: str | None
    """Document number."""
    customer_id: str
    """ERP id of the customer."""
    invoice_id: str | None
    """The invoice it credits, when created from one."""
    date: dt.date
    """Credit date."""
    currency: str
    """ISO 4217 code."""
    lines: list[DocumentLine]
    """The credited lines."""
    total: Money
    """Credit total."""


class CreditMemoCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A credit memo to post; ``external_id`` makes the create exactly-once."""

    external_id: str
    """Business key."""
    customer_id: str
    """ERP id of the customer."""
    date: dt.date
    """Credit date; its accounting period must be open."""
    currency: str
    """ISO 4217 code."""
    lines: list[DocumentLineInput]
    """At least one line."""
    invoice_id: str | None = None
    """The invoice being credited, if any."""
    memo: str | None = None
    """Free-text memo."""


class JournalLine(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One line of a journal entry: a debit or a credit to one account."""

    account: str
    """General-ledger account number (e.g. ``4000``)."""
    debit: str | None = None
    """Debit amount as a decimal string; exactly one of debit and credit is set."""
    credit: str | None = None
    """Credit amount as a decimal string."""
    memo: str | None = None
    """Line memo."""


class JournalEntry(msgspec.Struct, frozen=True, kw_only=True):
    """A posted general-ledger journal entry."""

    id: str
    """ERP id."""
    external_id: str | None
    """Business key."""
    number: str | None
    """Document number."""
    legal_entity_id: str | None
    """Legal entity whose books it is posted in."""
    date: dt.date
    """Posting date."""
    currency: str
    """ISO 4217 code."""
    memo: str | None
    """Memo."""
    lines: list[JournalLine]
    """Balanced lines (debits = credits)."""


class JournalEntryCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A journal entry to post; ``external_id`` makes the create exactly-once."""

    external_id: str
    """Business key."""
    legal_entity_id: str
    """Legal entity whose books it is posted in."""
    date: dt.date
    """Posting date; its accounting period must be open."""
    currency: str
    """ISO 4217 code."""
    lines: list[JournalLine]
    """At least two lines; debits must equal credits."""
    memo: str | None = None
    """Memo."""


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

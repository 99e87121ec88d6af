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
from typing import Any, Generic, Literal, TypeVar

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
    account_type: str | None
    """The CRM's kind of account in snake case: ``customer``, ``prospect``, ``partner``, ..."""
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
    partner_id: str | None = None
    """The Strata partner id (``partner-acme``) the customer is attributed to; ``None``: direct."""


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
    partner_id: str | None = None
    """The Strata partner id the deal is attributed to (a partner-registered deal); ``None``: direct."""
    description: str | None = None
    """Free-text description of the deal (a registered deal's product and notes)."""


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
    partner_id: str | None = None
    """Attribute the customer to this partner. Unlike the other optional fields, an absent
    ``partner_id`` leaves the attribution as it is: a sync never clears a partner's claim."""


class OpportunityCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new opportunity, keyed by its external (Strata) id so a retried create makes one."""

    name: str
    """Name of the deal."""
    account_id: str
    """Id of the customer."""
    close_date: dt.date
    """Expected close date."""
    stage: OpportunityStage = "prospecting"
    """Sales stage (never ``other``)."""
    amount: Money | None = None
    """Deal amount; its currency is the opportunity's."""
    description: str | None = None
    """Free-text description."""
    partner_id: str | None = None
    """The Strata partner id the deal is attributed to (``None``: a direct deal)."""


class ContactUpsert(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Create-or-update of a contact keyed by its external (Strata) id."""

    account_id: str
    """Id of the customer the contact belongs to."""
    last_name: str
    """Family name."""
    first_name: str | None = None
    """Given name."""
    email: str | None = None
    """E-mail address."""
    phone: str | None = None
    """Phone number."""
    title: str | None = None
    """Job title."""


class BillingStatusPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Billing's write-back onto an opportunity."""

    billing_status: OpportunityBillingStatus
    """The new billing status."""
    invoice_number: str | None = None
    """Number of the invoice, when one exists."""


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """One page of a list: the items and where the next page starts (``None`` on the last)."""

    items: list[T]
    """The objects of this page."""
    next_position: Any
    """Where the next page starts, in the lister's own terms (an id, an offset, a vendor token);
    ``None`` on the last page. Pass it back to page on; the HTTP boundary signs it into the
    ``next_cursor`` callers see (:mod:`core.cursors`)."""


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


# -- tax ---------------------------------------------------------------------------------------

TaxDocumentKind = Literal["sale", "return"]
"""A sale (an invoice) or a return (a credit: amounts negative)."""

TaxTransactionStatus = Literal["uncommitted", "committed", "voided"]
"""Where a recorded tax transaction stands: saved but not reported, reported, or cancelled."""

TaxAdjustmentReason = Literal[
    "price_adjusted",
    "product_returned",
    "product_exchanged",
    "bad_debt",
    "sourcing_issue",
    "reconciled_with_ledger",
    "exemption_applied",
    "offline",
    "other",
]
"""Why a committed transaction was changed (``other`` needs a description)."""

TaxVoidReason = Literal["unspecified", "post_failed", "document_deleted", "document_voided", "adjustment_cancelled"]
"""Why a transaction was voided."""

TaxJurisdictionType = Literal["country", "state", "county", "city", "special", "other"]
"""Level of the authority levying a tax (``special``: a district; ``other``: one we do not know)."""


class TaxLineRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One line to compute tax for."""

    amount: Money
    """Line total (quantity × unit price, after discounts); negative on a return."""
    number: str | None = None
    """Line number, unique within the document; defaults to the position (``1``, ``2``, …)."""
    product_code: str | None = None
    """Product code, e.g. ``STRATA-CORE``."""
    tax_code: str | None = None
    """The tax vendor's product tax code (e.g. a SaaS code); ``None`` = its default (taxable goods)."""
    description: str | None = None
    """Line description."""
    quantity: str = "1"
    """Quantity as a decimal string."""


class TaxQuoteRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What a tax computation needs: who sells to whom, where, when, and the lines."""

    company: str
    """Code of the selling legal entity at the tax vendor, e.g. ``STRATA-US``."""
    customer_id: str
    """The buyer's id (any stable id: CRM, ERP or canonical)."""
    date: dt.date
    """Document date; it decides which rates apply."""
    currency: str
    """ISO 4217 code of every amount in the document."""
    ship_to: Address
    """Where the buyer receives the supply (needs a country; a US address also region and postal code)."""
    lines: list[TaxLineRequest]
    """The lines (at least one)."""
    ship_from: Address | None = None
    """Origin of the supply; ``None`` = the legal entity's own address."""
    buyer_tax_id: str | None = None
    """The buyer's VAT / tax registration number; a cross-border EU B2B sale with one is reverse charged."""
    kind: TaxDocumentKind = "sale"
    """Sale or return."""


class TaxTransactionCreate(TaxQuoteRequest, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A tax transaction to record, committed: a quote request plus its document code."""

    code: str
    """Document code, e.g. the invoice number: the transaction's key at the vendor, so creating it
    again with the same content is exactly-once."""


class TaxAdjustment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A change to a recorded transaction: the new content replaces the old, which stays on record."""

    reason: TaxAdjustmentReason
    """Why the transaction changes."""
    transaction: TaxQuoteRequest
    """The transaction's new content (same company)."""
    description: str | None = None
    """Free-text explanation; required when ``reason`` is ``other``."""


class TaxVoid(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Cancellation of a recorded transaction."""

    reason: TaxVoidReason = "document_voided"
    """Why the transaction is voided."""


class TaxDetail(msgspec.Struct, frozen=True, kw_only=True):
    """One tax levied by one jurisdiction (on a line, or summed over the document)."""

    jurisdiction: str
    """Name of the jurisdiction, e.g. ``CALIFORNIA`` or ``FRANCE``."""
    jurisdiction_type: TaxJurisdictionType
    """Its level."""
    jurisdiction_code: str | None
    """The vendor's code of the jurisdiction."""
    country: str
    """ISO 3166-1 alpha-2 country code."""
    region: str | None
    """State or region, where there is one."""
    tax_name: str | None
    """Name of the tax, e.g. ``CA STATE TAX`` or ``FR STANDARD VAT``."""
    rate: str
    """Rate as a decimal string, e.g. ``"0.0725"``."""
    taxable: Money
    """Amount the rate applies to."""
    tax: Money
    """Tax due."""
    reverse_charge: bool
    """The buyer accounts for this tax (EU B2B cross-border): ``tax`` is zero."""


class TaxLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line with its tax."""

    number: str
    """Line number."""
    product_code: str | None
    """Product code."""
    tax_code: str | None
    """The vendor's product tax code used."""
    quantity: str
    """Quantity as a decimal string."""
    amount: Money
    """Line amount."""
    taxable: Money
    """Part of the amount that is taxable."""
    tax: Money
    """Tax on the line, all jurisdictions."""
    details: list[TaxDetail]
    """Tax per jurisdiction."""


class TaxQuote(msgspec.Struct, frozen=True, kw_only=True):
    """Tax computed for a document; a quote is an estimate the vendor does not record."""

    company: str
    """Code of the selling legal entity."""
    customer_id: str
    """The buyer's id."""
    date: dt.date
    """Document date."""
    kind: TaxDocumentKind
    """Sale or return."""
    total_amount: Money
    """Sum of the line amounts (tax excluded)."""
    total_taxable: Money
    """Sum of the taxable amounts."""
    total_tax: Money
    """Tax due on the document."""
    reverse_charge: bool
    """Whether reverse charge applies (the buyer accounts for the VAT)."""
    lines: list[TaxLine]
    """The lines with their tax."""
    summary: list[TaxDetail]
    """Tax per jurisdiction over the whole document."""


class TaxTransaction(TaxQuote, frozen=True, kw_only=True):
    """A tax transaction recorded at the vendor, keyed by (company, code)."""

    code: str
    """Document code (e.g. the invoice number)."""
    status: TaxTransactionStatus
    """Uncommitted, committed (reported) or voided."""
    version: int
    """1 when created; one more per adjustment."""
    buyer_tax_id: str | None
    """The buyer's VAT id the tax was computed with."""
    adjustment_reason: TaxAdjustmentReason | None
    """Why the current version replaced the previous one (``None`` before any adjustment)."""
    adjustment_description: str | None
    """Explanation of the adjustment."""


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
    external_id: str | None
    """Strata's id it was created with (:attr:`SubscriptionCreate.external_id`: e.g. the order's
    opportunity), ``None`` for one created outside Strata."""


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

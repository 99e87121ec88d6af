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

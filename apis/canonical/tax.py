"""The tax engine's objects (``/system/tax``): quotes, committed transactions, adjustments and voids."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Address, Money

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

"""The ERP's objects (``/system/erp``): the financial system of record.

The same shapes come out of every ERP connector (NetSuite, Business Central): that is what
makes the ERP swappable by configuration.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from apis.canonical.common import Address, Money

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


class InvoiceLineInput(DocumentLineInput, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A line of an invoice to post, with the service period it bills (revenue is recognised over it).

    Without a service period the line's revenue is recognised on the invoice date. How each ERP
    recognises it over the period is the connector's business (see
    :meth:`apis.system.erp.connector.ErpConnector.create_invoice`).
    """

    service_start: dt.date | None = None
    """First day of the service period billed (inclusive); with ``service_end``."""
    service_end: dt.date | None = None
    """Last day of the service period billed (inclusive); with ``service_start``."""


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


class SalesOrderCancel(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Why a sales order is cancelled (``POST /sales-orders/{id}/cancel``)."""

    reason: str
    """Why, for the audit trail and, where the ERP keeps one, the order (at most 500 characters)."""


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
    lines: list[InvoiceLineInput]
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
    posted: bool = True
    """False: recorded in the ERP, awaiting posting (the ERP refused to post it to the ledger yet)."""


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

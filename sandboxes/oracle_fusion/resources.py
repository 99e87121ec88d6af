"""The resources the Oracle Fusion sandbox serves: their attributes, types, keys and children.

Attribute names of ``receivablesInvoices`` and ``standardReceipts`` follow Oracle's documented
examples (see the package docstring); every other resource's attribute list is GUESSED from
Oracle's resource names and naming conventions and is kept to what the connector and tests use.

Types: ``int`` (JSON integer: ids, line numbers), ``num`` (JSON number: quantities, prices,
amounts of invoices), ``dec`` (a decimal written as a JSON string, as ``standardReceipts.Amount``
is in Oracle's example; a number is accepted too), ``str``, ``date`` (``"YYYY-MM-DD"``),
``datetime`` (ISO 8601 with time and offset, as ``TransactionOn``), ``flag`` (``"Y"``/``"N"``),
``bool`` (JSON true/false, as ``SubmittedFlag``).

Published facts used here: ``accountingPeriodStatusLOV`` is keyed by ``PeriodNameId``,
``ApplicationId`` and ``LedgerId`` (its item URL is a hash of them) with ``ClosingStatus`` ``O`` open,
``F`` future-enterable, ``C`` closed, ``P`` permanently closed, ``N`` never opened; an order-hub
order's item key is ``OrderKey`` (``<SourceTransactionSystem>:<SourceTransactionId>``) and it accepts
``Upsert-Mode``; ``accounts`` items are addressed by ``PartyNumber``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FSCM = "fscmRestApi"
CRM = "crmRestApi"


@dataclass(frozen=True)
class Resource:
    """One REST resource (top level or child)."""

    name: str
    root: str
    id_field: str
    """Numeric surrogate key the sandbox assigns (``CustomerTransactionId``, ...)."""
    fields: dict[str, str]
    """Attribute → type."""
    read_only: frozenset[str] = frozenset()
    """Attributes a client may not send (computed or assigned by Oracle)."""
    url_key: str = ""
    """The attribute in ``<resource>/{key}`` when not the id (``accounts/{PartyNumber}``)."""
    children: dict[str, Resource] = field(default_factory=dict)
    writable: bool = True
    """Whether POST is allowed (LOVs and items are read-only here)."""
    finders: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Finder name → its variables (each an attribute compared for equality)."""

    @property
    def key_field(self) -> str:
        """The attribute naming an item in its URL."""
        return self.url_key or self.id_field


def _ro(*names: str) -> frozenset[str]:
    return frozenset(names)


INVOICE_LINES = Resource(
    "receivablesInvoiceLines",
    FSCM,
    "CustomerTransactionLineId",
    {
        "CustomerTransactionLineId": "int",
        "LineNumber": "int",
        "Description": "str",
        "Quantity": "num",
        "UnitSellingPrice": "num",
        "LineAmount": "num",
        "ItemNumber": "str",
        "UnitOfMeasure": "str",
        "SalesOrder": "str",
        "SalesOrderLine": "str",
        "SalesOrderDate": "date",
        "TaxClassificationCode": "str",
        "AccountingRule": "str",
        "AccountingRuleDuration": "int",
        "RuleStartDate": "date",
        "RuleEndDate": "date",
    },
    _ro("CustomerTransactionLineId", "LineAmount"),
)
"""``AccountingRule`` (the revenue scheduling rule), ``AccountingRuleDuration``, ``RuleStartDate`` and
``RuleEndDate`` are in Oracle's example "Create an Invoice with an In Advance Invoicing Rule and Revenue
Scheduling Rule" (with the invoice's ``InvoicingRule``)."""
INVOICE_DISTRIBUTIONS = Resource(
    "receivablesInvoiceDistributions",
    FSCM,
    "DistributionId",
    {
        "DistributionId": "int",
        "InvoiceLineNumber": "int",
        "AccountClass": "str",
        "AccountCombination": "str",
        "Amount": "num",
        "Percent": "num",
        "AccountingDate": "date",
    },
    _ro(
        "DistributionId",
        "InvoiceLineNumber",
        "AccountClass",
        "AccountCombination",
        "Amount",
        "Percent",
        "AccountingDate",
    ),
    writable=False,
)
"""The invoice's distributions after Revenue Recognition ran: ``Receivable`` on the accounting date,
``Revenue`` per line (per period of its revenue schedule for a line with a rule). The child's name and
``AccountClass``, ``AccountCombination``, ``Amount``, ``Percent`` follow Oracle's example "Create an
Invoice with Distributions of Type Tax, Freight, Revenue, and Receivables"; ``AccountingDate`` (the GL date
of a scheduled period's revenue) and ``InvoiceLineNumber`` are GUESSED."""
INVOICES = Resource(
    "receivablesInvoices",
    FSCM,
    "CustomerTransactionId",
    {
        "CustomerTransactionId": "int",
        "TransactionNumber": "str",
        "TransactionDate": "date",
        "AccountingDate": "date",
        "DueDate": "date",
        "BillingDate": "date",
        "TransactionSource": "str",
        "TransactionType": "str",
        "BusinessUnit": "str",
        "BillToCustomerNumber": "str",
        "BillToCustomerName": "str",
        "BillToSite": "str",
        "InvoiceCurrencyCode": "str",
        "PaymentTerms": "str",
        "CrossReference": "str",
        "DocumentNumber": "str",
        "Comments": "str",
        "InternalNotes": "str",
        "InvoiceStatus": "str",
        "EnteredAmount": "num",
        "InvoiceBalanceAmount": "num",
        "LegalEntityIdentifier": "str",
        "PurchaseOrder": "str",
        "ShipToCustomerNumber": "str",
        "InvoicingRule": "str",
        "CreationDate": "str",
        "LastUpdateDate": "str",
    },
    _ro(
        "CustomerTransactionId",
        "BillToCustomerName",
        "EnteredAmount",
        "InvoiceBalanceAmount",
        "CreationDate",
        "LastUpdateDate",
        "LegalEntityIdentifier",
    ),
    children={"receivablesInvoiceLines": INVOICE_LINES, "receivablesInvoiceDistributions": INVOICE_DISTRIBUTIONS},
    finders={
        "PrimaryKey": ("CustomerTransactionId",),
        "invoiceSearch": ("TransactionNumber", "BillToCustomerNumber", "BusinessUnit"),
    },
)
CREDIT_MEMO_LINES = Resource(
    "receivablesCreditMemoLines",
    FSCM,
    "CustomerTransactionLineId",
    {
        "CustomerTransactionLineId": "int",
        "LineNumber": "int",
        "Description": "str",
        "Quantity": "num",
        "UnitSellingPrice": "num",
        "LineAmount": "num",
        "ItemNumber": "str",
        "UnitOfMeasure": "str",
    },
    _ro("CustomerTransactionLineId", "LineAmount"),
)
CREDIT_MEMOS = Resource(
    "receivablesCreditMemos",
    FSCM,
    "CustomerTransactionId",
    {
        "CustomerTransactionId": "int",
        "TransactionNumber": "str",
        "TransactionDate": "date",
        "AccountingDate": "date",
        "TransactionSource": "str",
        "TransactionType": "str",
        "BusinessUnit": "str",
        "BillToCustomerNumber": "str",
        "BillToCustomerName": "str",
        "CreditMemoCurrency": "str",
        "CreditedTransactionNumber": "str",
        "CrossReference": "str",
        "Comments": "str",
        "CreditMemoStatus": "str",
        "EnteredAmount": "num",
        "CreationDate": "str",
    },
    _ro("CustomerTransactionId", "BillToCustomerName", "EnteredAmount", "CreationDate"),
    children={"receivablesCreditMemoLines": CREDIT_MEMO_LINES},
    finders={"PrimaryKey": ("CustomerTransactionId",)},
)
RECEIPT_APPLICATIONS = Resource(
    "receiptApplications",
    FSCM,
    "ReceivableApplicationId",
    {
        "ReceivableApplicationId": "int",
        "TransactionNumber": "str",
        "CustomerTransactionId": "int",
        "AmountApplied": "dec",
        "ApplicationDate": "date",
        "AccountingDate": "date",
    },
    _ro("ReceivableApplicationId", "CustomerTransactionId"),
    writable=False,
)
RECEIPTS = Resource(
    "standardReceipts",
    FSCM,
    "StandardReceiptId",
    {
        "StandardReceiptId": "int",
        "ReceiptNumber": "str",
        "BusinessUnit": "str",
        "ReceiptMethod": "str",
        "ReceiptDate": "date",
        "DocumentNumber": "str",
        "Amount": "dec",
        "Currency": "str",
        "ConversionRateType": "str",
        "ConversionDate": "date",
        "ConversionRate": "num",
        "State": "str",
        "Status": "str",
        "RemittanceBankAccountNumber": "str",
        "RemittanceBankDepositDate": "date",
        "RemittanceBankAllowOverride": "flag",
        "CustomerName": "str",
        "TaxpayerIdentificationNumber": "str",
        "CustomerSite": "str",
        "CustomerAccountNumber": "str",
        "UnappliedAmount": "dec",
        "AccountingDate": "date",
        "MaturityDate": "date",
        "Comments": "str",
    },
    _ro("StandardReceiptId", "State", "Status", "CustomerName", "UnappliedAmount"),
    children={"receiptApplications": RECEIPT_APPLICATIONS},
    finders={"PrimaryKey": ("StandardReceiptId",)},
)
ORDER_LINES = Resource(
    "lines",
    FSCM,
    "LineId",
    {
        "LineId": "int",
        "SourceTransactionLineId": "str",
        "SourceTransactionLineNumber": "str",
        "SourceScheduleNumber": "str",
        "ProductNumber": "str",
        "OrderedQuantity": "num",
        "OrderedUOMCode": "str",
        "UnitSellingPrice": "num",
        "ExtendedAmount": "num",
    },
    _ro("LineId", "ExtendedAmount"),
)
ORDERS = Resource(
    "salesOrdersForOrderHub",
    FSCM,
    "HeaderId",
    {
        "HeaderId": "int",
        "OrderNumber": "str",
        "SourceTransactionNumber": "str",
        "SourceTransactionSystem": "str",
        "SourceTransactionId": "str",
        "BusinessUnitName": "str",
        "RequestingBusinessUnitName": "str",
        "BuyingPartyNumber": "str",
        "BuyingPartyName": "str",
        "TransactionalCurrencyCode": "str",
        "TransactionOn": "datetime",
        "StatusCode": "str",
        "TotalAmount": "num",
        "Comments": "str",
        "SubmittedFlag": "bool",
        "OrderKey": "str",
    },
    _ro("HeaderId", "OrderNumber", "BuyingPartyName", "StatusCode", "TotalAmount", "OrderKey"),
    url_key="OrderKey",
    children={"lines": ORDER_LINES},
    finders={"PrimaryKey": ("HeaderId",)},
)
JOURNAL_LINES = Resource(
    "journalLines",
    FSCM,
    "JeLineId",
    {
        "JeLineId": "int",
        "JeLineNumber": "int",
        "AccountCombination": "str",
        "EnteredDebitAmount": "num",
        "EnteredCreditAmount": "num",
        "Description": "str",
    },
    _ro("JeLineId"),
)
JOURNALS = Resource(
    "journalBatches",
    FSCM,
    "JeBatchId",
    {
        "JeBatchId": "int",
        "BatchName": "str",
        "BatchDescription": "str",
        "JournalSource": "str",
        "JournalCategory": "str",
        "LedgerName": "str",
        "AccountingDate": "date",
        "AccountingPeriodName": "str",
        "CurrencyCode": "str",
        "Status": "str",
        "PostedDate": "date",
    },
    _ro("JeBatchId", "AccountingPeriodName", "Status", "PostedDate"),
    children={"journalLines": JOURNAL_LINES},
    finders={"PrimaryKey": ("JeBatchId",)},
)
ACCOUNTS = Resource(
    "accounts",
    CRM,
    "PartyId",
    {
        "PartyId": "int",
        "PartyNumber": "str",
        "OrganizationName": "str",
        "SourceSystem": "str",
        "SourceSystemReferenceValue": "str",
        "CurrencyCode": "str",
        "TaxpayerIdentificationNumber": "str",
        "EmailAddress": "str",
        "URL": "str",
        "Address1": "str",
        "Address2": "str",
        "City": "str",
        "State": "str",
        "PostalCode": "str",
        "Country": "str",
        "PaymentTerms": "str",
        "Type": "str",
        "CreationDate": "str",
        "LastUpdateDate": "str",
    },
    _ro("PartyId", "CreationDate", "LastUpdateDate"),
    url_key="PartyNumber",
    finders={"PrimaryKey": ("PartyNumber",)},
)
ITEMS = Resource(
    "itemsV2",
    FSCM,
    "ItemId",
    {
        "ItemId": "int",
        "OrganizationId": "int",
        "OrganizationCode": "str",
        "ItemNumber": "str",
        "ItemDescription": "str",
        "LongDescription": "str",
        "ItemStatusValue": "str",
        "PrimaryUOMValue": "str",
        "ListPrice": "num",
    },
    writable=False,
)
LEGAL_ENTITIES = Resource(
    "legalEntitiesLOV",
    FSCM,
    "LegalEntityId",
    {
        "LegalEntityId": "int",
        "Name": "str",
        "LegalEntityIdentifier": "str",
        "EffectiveFrom": "date",
        "EffectiveTo": "date",
    },
    writable=False,
)
BUSINESS_UNITS = Resource(
    "finBusinessUnitsLOV",
    FSCM,
    "BusinessUnitId",
    {
        "BusinessUnitId": "int",
        "BusinessUnitName": "str",
        "PrimaryLedgerId": "int",
        "LegalEntityId": "int",
        "Status": "str",
    },
    writable=False,
)
LEDGERS = Resource(
    "ledgersLOV",
    FSCM,
    "LedgerId",
    {
        "LedgerId": "int",
        "Name": "str",
        "CurrencyCode": "str",
        "PeriodSetName": "str",
        "AccountedPeriodType": "str",
        "LedgerCategoryCode": "str",
        "Description": "str",
    },
    writable=False,
)
PERIODS = Resource(
    "accountingPeriodStatusLOV",
    FSCM,
    "_id",  # an internal row number: Oracle keys an item by a hash of PeriodNameId, ApplicationId, LedgerId
    {
        "PeriodNameId": "str",
        "ApplicationId": "int",
        "LedgerId": "int",
        "PeriodYear": "int",
        "PeriodNumber": "int",
        "StartDate": "date",
        "EndDate": "date",
        "ClosingStatus": "str",
        "AdjustmentPeriodFlag": "flag",
    },
    writable=False,
    finders={"PeriodStatusFinder": ("ApplicationId", "LedgerId")},
)

RESOURCES: dict[str, Resource] = {
    r.name: r
    for r in (
        INVOICES,
        CREDIT_MEMOS,
        RECEIPTS,
        ORDERS,
        JOURNALS,
        ACCOUNTS,
        ITEMS,
        LEGAL_ENTITIES,
        BUSINESS_UNITS,
        LEDGERS,
        PERIODS,
    )
}
"""Top-level resources by name."""

ACTIONS = {("standardReceipts", "applyReceipt"), ("salesOrdersForOrderHub", "cancelSalesOrder")}
"""Custom actions (``<resource>/{id}/action/<name>``)."""

AR_APPLICATION = 222
"""Receivables' application id in ``accountingPeriodStatusLOV``."""
GL_APPLICATION = 101
"""General Ledger's."""

"""What an ERP connector must do: the one interface NetSuite, Business Central, SAP S/4HANA Cloud
and Oracle Fusion Cloud ERP implement.

The ERP system API (:mod:`apis.system.erp.service`) and everything above it see only this
protocol and the canonical objects of :mod:`apis.canonical`; which vendor stands behind it is
configuration (``STRATA_ERP_VENDOR=netsuite|business-central|sap-s4hana|oracle-fusion``). A connector:

* speaks its vendor's dialect (auth handshake, paging, error bodies, concurrency limits) and
  maps failures onto :mod:`core.errors` (a posting into a closed period →
  :class:`~core.errors.PeriodClosed`; an unknown id → :class:`~core.errors.NotFound`);
* makes every create exactly-once by the document's ``external_id`` — NetSuite by ``eid:``
  upsert or ``X-NetSuite-Idempotency-Key``, Business Central by check-before-create on the
  external document number, SAP by check-before-create on its reference fields, Oracle by unique
  transaction and receipt numbers — so it may retry a create after a lost answer;
* pages lists by positions of its own making (``Page.next_position``: any JSON-encodable value),
  accepting one back as it issued it or as its JSON (the HTTP boundary signs positions into the
  API's cursors, :mod:`core.cursors`) and refusing any other with
  :class:`~core.cursors.InvalidCursor`;
* uses :mod:`apis.system.kit.vendor_http` for deadlines, retries and its vendor's circuit breaker.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

from apis.canonical import (
    AccountingPeriod,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    ErpCustomer,
    ErpCustomerUpsert,
    Invoice,
    InvoiceCreate,
    Item,
    JournalEntry,
    JournalEntryCreate,
    LegalEntity,
    Page,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
)


class ErpConnector(Protocol):
    """One ERP account / company, in canonical objects."""

    vendor: str
    """Vendor name as used for the circuit breaker and metrics (``netsuite``, ``business_central``)."""

    @property
    def system(self) -> str:
        """The ERP's name in lineage, cross-references and errors (``netsuite``, ``business-central``)."""

    async def aclose(self) -> None:
        """Close the HTTP client the connector owns, if any."""

    # -- master data -------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every legal entity (subsidiary / company) the account holds."""

    async def list_accounting_periods(self, *, year: int | None = None) -> list[AccountingPeriod]:
        """Monthly posting periods in date order, optionally of one calendar year."""

    async def period_for(self, day: dt.date) -> AccountingPeriod | None:
        """The monthly period containing ``day``, if the ERP has one."""

    async def list_items(self, *, code: str | None, limit: int, position: Any) -> Page[Item]:
        """Items, optionally the one with ``code``."""

    async def get_item(self, item_id: str) -> Item:
        """One item."""

    # -- customers ---------------------------------------------------------------------------
    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """Create or update the customer carrying ``external_id``; returns (customer, created)."""

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One customer by ERP id."""

    async def search_customers(
        self,
        *,
        name_prefix: str | None,
        tax_id: str | None,
        external_id: str | None,
        limit: int,
        position: Any,
    ) -> Page[ErpCustomer]:
        """Customers matching every given filter, in id order."""

    # -- documents (each create is exactly-once by its external_id) --------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Create the order, or return the one already created with its external id; (order, created)."""

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One sales order."""

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Cancel the order the ERP's own way; the order as it stands after (status ``void`` or ``closed``).

        Idempotent: an order already cancelled answers as it stands, with no second write. Each
        ERP's way, and what it refuses with :class:`~core.errors.Conflict` (409):

        * Business Central has no cancel: an unposted order is deleted (``DELETE salesOrders(id)``,
          If-Match); the answer is the order as it was, ``void``, and the order reads back 404.
          An order BC has invoiced (it deletes a fully invoiced order itself; the posted invoice
          names it in ``orderNumber``) is refused: its posted invoice is undone with the invoice's
          ``Microsoft.NAV.cancel`` (a bound action of ``salesInvoices``, not of ``salesOrders``).
        * NetSuite closes every item line (``isClosed``, a PATCH of the ``salesOrder``); the order
          reads ``closed`` (NetSuite's status Closed). A billed order is refused.
        * SAP S/4HANA Cloud sets a reason for rejection on every item (``SalesDocumentRjcnReason``,
          a PATCH of ``A_SalesOrderItem`` with If-Match); the order reads ``void`` (rejection status
          C). A billed order (processing status C) is refused.
        * Oracle Fusion cancels through Order Management (``salesOrdersForOrderHub``); the order
          reads ``void`` (CANCELED). A closed (fulfilled) order is refused.

        ``reason`` goes where the ERP keeps one (Oracle); the API's audit log records it always.
        """

    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """Post the receivable (from the sales order when given), or return the existing one.

        A line with a service period (``service_start``..``service_end``) has its revenue
        recognised ratably by month over the period, each ERP its own way:

        * NetSuite: its own Revenue Recognition; the item line carries ``revRecStartDate`` and
          ``revRecEndDate``, and the item's rev rec template builds the schedule over those dates.
        * Oracle Fusion: its own revenue scheduling; the ``receivablesInvoiceLines`` line carries
          ``RuleStartDate``/``RuleEndDate`` and a daily-rate revenue scheduling rule (``AccountingRule``),
          with the invoice's ``InvoicingRule`` *In Advance*.
        * Business Central: API v2.0's invoice lines carry no deferral field; the item's *Default
          Deferral Template Code* defers the line from the posting date over the template's periods
          (the preflight checks the templates are set). The service period itself is not sent.
        * SAP S/4HANA Cloud: the released sales order and billing document APIs carry no service
          period or revenue schedule; the connector posts deferral journal entries itself (SOAP
          ``JournalEntryCreateRequestConfirmation_In``): the part of each line billed for later
          months to deferred revenue on the invoice date, then each month's part back to revenue,
          dated in its month.
        """

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice."""

    async def list_invoices(self, *, customer_id: str | None, limit: int, position: Any) -> Page[Invoice]:
        """Invoices, optionally of one customer, in id order."""

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """Revenue recognised in ``period`` (``YYYY-MM``) over service periods, per customer and invoice,
        as the ERP booked it (see :meth:`create_invoice` for where each ERP keeps it)."""

    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """Record the payment applied to its invoices, or return the existing one."""

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One customer payment."""

    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """Post the credit memo, or return the existing one."""

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo."""

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """Post the journal entry, or return the existing one."""

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry."""

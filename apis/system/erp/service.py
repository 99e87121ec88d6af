"""The ERP system API's operations: vendor-neutral rules in front of whichever connector is configured.

What is checked here, the same for every ERP, before the vendor sees a write:

* a posting (invoice, customer payment, credit memo, journal entry) dated in a **closed
  accounting period** is refused with :class:`~core.errors.PeriodClosed` (409
  ``period-closed``) without calling the vendor's write — the period is looked up through the
  connector; the vendor's own closed-period error maps to the same problem, for a period
  closed after the lookup;
* quantities are positive, prices and amounts are non-negative decimals, currencies are ISO
  4217 shaped codes, documents have lines;
* a journal entry has at least two lines, each either a debit or a credit, and balances;
* a payment's applications are positive and add up to no more than the payment.

Every violation is an :class:`~core.errors.InvalidInput` (422) naming the field by JSON
Pointer, so a caller sees the same problem whichever vendor stands behind the API.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from apis.canonical import (
    AccountingPeriod,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    DocumentLineInput,
    ErpCustomer,
    ErpCustomerUpsert,
    Invoice,
    InvoiceCreate,
    InvoiceLineInput,
    Item,
    JournalEntry,
    JournalEntryCreate,
    LegalEntity,
    Page,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCancel,
    SalesOrderCreate,
)
from core.errors import InvalidInput, PeriodClosed

if TYPE_CHECKING:
    from apis.system.erp.connector import ErpConnector

MAX_LIMIT = 200
MAX_SERVICE_DAYS = 3_660
"""Longest service period of an invoice line (ten years): revenue is recognised month by month."""
PERIOD = re.compile(r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$")
"""A month, ``YYYY-MM`` (years 1900 to 2999, as the contract's ``Month``)."""
MAX_REASON = 500
"""Longest cancel reason accepted (the contract's ``maxLength``)."""
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_DECIMAL = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$")


class _Problems:
    """Field errors collected over one request body, raised together."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def add(self, pointer: str, detail: str) -> None:
        self.errors.append({"in": "body", "pointer": pointer, "detail": detail})

    def decimal(self, pointer: str, value: str, *, positive: bool = False) -> Decimal | None:
        """``value`` as a Decimal, or an error (``positive``: > 0, else ≥ 0)."""
        if not _DECIMAL.match(value):
            self.add(pointer, "must be a decimal string such as 12.50")
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            self.add(pointer, "must be a decimal string such as 12.50")
            return None
        if positive and number <= 0:
            self.add(pointer, "must be greater than zero")
        elif number < 0:
            self.add(pointer, "must not be negative")
        return number

    def currency(self, pointer: str, value: str | None) -> None:
        if value is not None and not _CURRENCY.match(value):
            self.add(pointer, "must be an ISO 4217 code such as EUR")

    def raise_if_any(self) -> None:
        if self.errors:
            raise InvalidInput(
                "; ".join(f"{e['pointer']}: {e['detail']}" for e in self.errors), field_errors=self.errors
            )


def _check_lines(problems: _Problems, lines: Sequence[DocumentLineInput]) -> None:
    if not lines:
        problems.add("/lines", "needs at least one line")
    for index, line in enumerate(lines):
        problems.decimal(f"/lines/{index}/quantity", line.quantity, positive=True)
        problems.decimal(f"/lines/{index}/unit_price", line.unit_price)
        if not line.item_id:
            problems.add(f"/lines/{index}/item_id", "must not be empty")


def _check_service_periods(problems: _Problems, lines: list[InvoiceLineInput]) -> None:
    for index, line in enumerate(lines):
        start, end = getattr(line, "service_start", None), getattr(line, "service_end", None)
        if (start is None) != (end is None):
            missing = "service_end" if end is None else "service_start"
            problems.add(f"/lines/{index}/{missing}", "is needed with the other end of the service period")
        elif start is not None and end is not None:
            if end < start:
                problems.add(f"/lines/{index}/service_end", "must not be before service_start")
            elif (end - start).days > MAX_SERVICE_DAYS:
                problems.add(f"/lines/{index}/service_end", f"a service period spans at most {MAX_SERVICE_DAYS} days")


def _check_document(problems: _Problems, external_id: str, customer_id: str, currency: str) -> None:
    if not external_id.strip():
        problems.add("/external_id", "must not be empty")
    if not customer_id:
        problems.add("/customer_id", "must not be empty")
    problems.currency("/currency", currency)


class ErpService:
    """Canonical ERP operations over one connector (NetSuite, Business Central, …)."""

    def __init__(self, connector: ErpConnector) -> None:
        self.connector = connector

    @property
    def vendor(self) -> str:
        """Which ERP serves the API, as lineage and cross-references name it (``netsuite``,
        ``business-central``): what the process layer records instead of naming an ERP itself."""
        return self.connector.system

    async def aclose(self) -> None:
        """Close what the connector owns."""
        await self.connector.aclose()

    # -- master data -----------------------------------------------------------------------------
    async def list_legal_entities(self) -> list[LegalEntity]:
        """Every legal entity."""
        return await self.connector.list_legal_entities()

    async def list_accounting_periods(self, year: int | None = None) -> list[AccountingPeriod]:
        """Monthly periods with their closed flag, optionally of one year."""
        return await self.connector.list_accounting_periods(year=year)

    async def list_items(self, *, code: str | None = None, limit: int = 50, position: Any = None) -> Page[Item]:
        """Items, optionally the one with ``code``."""
        return await self.connector.list_items(code=code, limit=_limit(limit), position=position)

    async def get_item(self, item_id: str) -> Item:
        """One item."""
        return await self.connector.get_item(item_id)

    # -- customers -------------------------------------------------------------------------------
    async def upsert_customer(self, external_id: str, upsert: ErpCustomerUpsert) -> tuple[ErpCustomer, bool]:
        """Create or update the customer carrying ``external_id``; (customer, created)."""
        problems = _Problems()
        if not upsert.name.strip():
            problems.add("/name", "must not be empty")
        problems.currency("/currency", upsert.currency)
        problems.raise_if_any()
        return await self.connector.upsert_customer(external_id, upsert)

    async def get_customer(self, customer_id: str) -> ErpCustomer:
        """One customer."""
        return await self.connector.get_customer(customer_id)

    async def search_customers(
        self,
        *,
        name_prefix: str | None = None,
        tax_id: str | None = None,
        external_id: str | None = None,
        limit: int = 50,
        position: Any = None,
    ) -> Page[ErpCustomer]:
        """Customers matching every given filter."""
        return await self.connector.search_customers(
            name_prefix=name_prefix, tax_id=tax_id, external_id=external_id, limit=_limit(limit), position=position
        )

    # -- documents -------------------------------------------------------------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """Create the order (a repeat of its external id returns the existing one)."""
        problems = _Problems()
        _check_document(problems, order.external_id, order.customer_id, order.currency)
        _check_lines(problems, order.lines)
        problems.raise_if_any()
        return await self.connector.create_sales_order(order)

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One sales order."""
        return await self.connector.get_sales_order(order_id)

    async def cancel_sales_order(self, order_id: str, cancel: SalesOrderCancel) -> SalesOrder:
        """Cancel the order the ERP's way (idempotent; 409 when the ERP can no longer cancel it)."""
        problems = _Problems()
        if not cancel.reason.strip():
            problems.add("/reason", "must not be empty")
        elif len(cancel.reason) > MAX_REASON:
            problems.add("/reason", f"must be at most {MAX_REASON} characters")
        problems.raise_if_any()
        return await self.connector.cancel_sales_order(order_id, reason=cancel.reason.strip())

    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """Post the invoice into an open period."""
        problems = _Problems()
        _check_document(problems, invoice.external_id, invoice.customer_id, invoice.currency)
        _check_lines(problems, invoice.lines)
        if invoice.due_date is not None and invoice.due_date < invoice.date:
            problems.add("/due_date", "must not be before the invoice date")
        _check_service_periods(problems, invoice.lines)
        problems.raise_if_any()
        await self._require_open_period(invoice.date)
        return await self.connector.create_invoice(invoice)

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice."""
        return await self.connector.get_invoice(invoice_id)

    async def list_invoices(
        self, *, customer_id: str | None = None, limit: int = 50, position: Any = None
    ) -> Page[Invoice]:
        """Invoices, optionally of one customer."""
        return await self.connector.list_invoices(customer_id=customer_id, limit=_limit(limit), position=position)

    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """Record a payment applied to invoices, into an open period."""
        problems = _Problems()
        _check_document(problems, payment.external_id, payment.customer_id, payment.currency)
        amount = problems.decimal("/amount", payment.amount, positive=True)
        applied = Decimal(0)
        for index, application in enumerate(payment.applications):
            value = problems.decimal(f"/applications/{index}/amount", application.amount, positive=True)
            applied += value or 0
            if not application.invoice_id:
                problems.add(f"/applications/{index}/invoice_id", "must not be empty")
        if amount is not None and applied > amount:
            problems.add("/applications", "applied amounts exceed the payment amount")
        problems.raise_if_any()
        await self._require_open_period(payment.date)
        return await self.connector.create_customer_payment(payment)

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One customer payment."""
        return await self.connector.get_customer_payment(payment_id)

    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """Post a credit memo into an open period."""
        problems = _Problems()
        _check_document(problems, memo.external_id, memo.customer_id, memo.currency)
        _check_lines(problems, memo.lines)
        problems.raise_if_any()
        await self._require_open_period(memo.date)
        return await self.connector.create_credit_memo(memo)

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo."""
        return await self.connector.get_credit_memo(memo_id)

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """Post a balanced journal entry into an open period."""
        problems = _Problems()
        if not entry.external_id.strip():
            problems.add("/external_id", "must not be empty")
        problems.currency("/currency", entry.currency)
        if len(entry.lines) < 2:
            problems.add("/lines", "needs at least two lines")
        debits = credits = Decimal(0)
        for index, line in enumerate(entry.lines):
            if (line.debit is None) == (line.credit is None):
                problems.add(f"/lines/{index}", "needs exactly one of debit and credit")
                continue
            if line.debit is not None:
                debits += problems.decimal(f"/lines/{index}/debit", line.debit, positive=True) or 0
            if line.credit is not None:
                credits += problems.decimal(f"/lines/{index}/credit", line.credit, positive=True) or 0
            if not line.account:
                problems.add(f"/lines/{index}/account", "must not be empty")
        if not problems.errors and debits != credits:
            problems.add("/lines", f"debits ({debits}) must equal credits ({credits})")
        problems.raise_if_any()
        await self._require_open_period(entry.date)
        return await self.connector.create_journal_entry(entry)

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry."""
        return await self.connector.get_journal_entry(entry_id)

    # -- revenue ---------------------------------------------------------------------------------
    async def list_recognized_revenue(self, period: str, *, customer_id: str | None = None) -> list[RecognizedRevenue]:
        """Revenue the ERP recognised in ``period`` (``YYYY-MM``) over service periods, per customer and invoice."""
        if not PERIOD.match(period):
            raise InvalidInput(
                "period: must be a month such as 2025-01",
                field_errors=[{"in": "query", "name": "period", "detail": "must be a month such as 2025-01"}],
            )
        found = await self.connector.list_recognized_revenue(period)
        return [r for r in found if customer_id is None or r.customer_id == customer_id]

    # -- rules -----------------------------------------------------------------------------------
    async def _require_open_period(self, day: dt.date) -> None:
        """Refuse a posting dated in a closed period before the vendor is asked to write it."""
        period = await self.connector.period_for(day)
        if period is not None and period.closed:
            raise PeriodClosed(
                f"The accounting period {period.name} ({period.start_date} to {period.end_date}) is closed; "
                f"postings dated {day} are refused. Date the document in an open period."
            )


def _limit(limit: int) -> int:
    return max(1, min(MAX_LIMIT, limit))


def build_erp_service(connector: ErpConnector) -> ErpService:
    """The ERP service over ``connector`` (``ERP_VENDORS[settings.erp.vendor]`` builds it)."""
    return ErpService(connector)

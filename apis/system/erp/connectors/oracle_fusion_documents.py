"""Oracle Fusion sales orders, invoices and credit memos, each exactly once (see :mod:`.oracle_fusion_records`).

Sales orders go where ``oracle_fusion_order_hub`` says: Order Management's ``salesOrdersForOrderHub``,
or (Financials only) an incomplete receivables transaction its invoice completes; ``skip`` refuses them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from apis.canonical import (
    CreditMemo,
    CreditMemoCreate,
    ErpDocumentStatus,
    Invoice,
    InvoiceCreate,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import oracle_fusion_mapping as of
from apis.system.erp.connectors.oracle_fusion_http import ACTION_TYPE
from apis.system.erp.connectors.oracle_fusion_records import (
    INVOICE_DISTRIBUTIONS,
    INVOICE_LINES,
    INVOICING_RULE,
    MEMO_LINES,
    Records,
    field_error,
)
from core.errors import BusinessRuleViolation, Conflict, NotFound

if TYPE_CHECKING:
    from apis.system.erp.connectors.oracle_fusion_setup import Unit

DRAFT_ORDER = "Strata sales order (draft receivable)"
"""``InternalNotes`` of an order recorded as an incomplete receivables transaction."""
ORDER_PREFIX = "SO-"
"""Prefix of a draft order's ``TransactionNumber`` (the invoice keys of the same external id stay free)."""


ORDER_STATUSES: dict[str, ErpDocumentStatus] = {"CLOSED": "closed", "CANCELED": "void"}
"""Order-hub ``StatusCode`` → canonical status (any other reads ``open``)."""
CANCEL_ACTION = "cancelSalesOrder"
"""The order-hub action that cancels an order (GUESSED name and body, see the sandbox)."""


class Documents(Records):
    """Sales orders, invoices and credit memos of one pod."""

    # -- sales orders --------------------------------------------------------------------------------
    async def create_sales_order(self, order: SalesOrderCreate) -> tuple[SalesOrder, bool]:
        """The order as ``order_hub`` says: an order-hub order keyed by ``SourceTransactionSystem`` +
        ``SourceTransactionNumber``, or an incomplete receivables transaction keyed by its ``TransactionNumber``."""
        if self.settings.order_hub == "skip":
            raise BusinessRuleViolation(
                "sales_orders_not_recorded",
                "Sales orders are not recorded in Oracle Fusion (oracle_fusion_order_hub=skip): post the invoice "
                "without a sales order, or set order-hub (Order Management) or draft-receivable",
                owner_system="oracle-fusion",
            )
        party, unit = await self._customer_unit(order.customer_id)
        if self.settings.order_hub == "draft-receivable":
            return await self._draft_order(order, party, unit)
        number = of.key(order.external_id, of.SOURCE_NUMBER_LENGTH)
        system = self.settings.source_system
        lines = [
            {"SourceTransactionLineId": str(n), "SourceTransactionLineNumber": str(n),
             "ProductNumber": await self.setup.item_number(line.item_id),
             "OrderedQuantity": float(Decimal(line.quantity)), "UnitSellingPrice": float(Decimal(line.unit_price))}
            for n, line in enumerate(order.lines, start=1)
        ]  # fmt: skip
        body = {"SourceTransactionNumber": number, "SourceTransactionSystem": system, "SourceTransactionId": number,
                "BusinessUnitName": unit.name, "RequestingBusinessUnitName": unit.name,
                "BuyingPartyNumber": party["PartyNumber"], "TransactionalCurrencyCode": order.currency.upper(),
                "TransactionOn": f"{order.date.isoformat()}T00:00:00+00:00", "SubmittedFlag": True,
                "lines": lines}  # fmt: skip
        q = f"SourceTransactionSystem={of.q_text(system)} and SourceTransactionNumber={of.q_text(number)}"
        record, created = await self._create_once("salesOrdersForOrderHub", q, body, "lines")
        return await self._sales_order(record, order.external_id), created

    async def _draft_order(self, order: SalesOrderCreate, party: dict[str, Any], unit: Unit) -> tuple[SalesOrder, bool]:
        """Financials only: the order as an incomplete invoice (``InternalNotes`` marks it), completed when invoiced."""
        number = of.key(ORDER_PREFIX + order.external_id, of.TRANSACTION_NUMBER_LENGTH)
        source = self.settings.transaction_source
        body: dict[str, Any] = {
            "TransactionNumber": number, "TransactionSource": source, "TransactionType": self.settings.invoice_type,
            "BusinessUnit": unit.name, "BillToCustomerNumber": party["PartyNumber"],
            "TransactionDate": order.date.isoformat(), "AccountingDate": order.date.isoformat(),
            "InvoiceCurrencyCode": order.currency.upper(), "Comments": order.external_id[:240],
            "InternalNotes": DRAFT_ORDER, "InvoiceStatus": "Incomplete", INVOICE_LINES: await self._lines(order.lines),
        }  # fmt: skip
        q = (f"TransactionNumber={of.q_text(number)} and TransactionSource={of.q_text(source)} "
             f"and BusinessUnit={of.q_text(unit.name)}")  # fmt: skip
        record, created = await self._create_once("receivablesInvoices", q, body, INVOICE_LINES)
        return await self._draft_sales_order(record), created

    async def _draft_sales_order(self, record: dict[str, Any]) -> SalesOrder:
        invoice = await self.invoice(record)
        return SalesOrder(
            id=invoice.id,
            external_id=record.get("Comments"),
            number=invoice.number,
            customer_id=invoice.customer_id,
            legal_entity_id=invoice.legal_entity_id,
            date=invoice.date,
            currency=invoice.currency,
            status="billed" if record.get("InvoiceStatus") == "Complete" else "open",
            lines=invoice.lines,
            total=invoice.total,
        )

    async def _invoice_draft(self, invoice: InvoiceCreate, party: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Complete the order's draft (a PATCH to ``InvoiceStatus`` Complete), exactly once: a completed draft
        is the order's invoice (with the order's lines, not the request's)."""
        order_id = invoice.sales_order_id or ""
        try:
            draft = await self._one("receivablesInvoices", order_id)
        except NotFound:
            draft = {}
        if draft.get("InternalNotes") != DRAFT_ORDER or draft.get("BillToCustomerNumber") != party["PartyNumber"]:
            raise field_error("/sales_order_id", "is not an order of this customer")
        changes: dict[str, Any] = {"InvoiceStatus": "Complete", "CrossReference": invoice.external_id[:150],
                                   "TransactionDate": invoice.date.isoformat(),
                                   "AccountingDate": invoice.date.isoformat()}  # fmt: skip
        if invoice.due_date is not None:
            changes["DueDate"] = invoice.due_date.isoformat()
        url = f"{self.http.fscm}/receivablesInvoices/{of.number_id(order_id)}"
        sent: list[bool] = []

        async def procedure() -> tuple[dict[str, Any], bool]:
            fresh = await self._one("receivablesInvoices", order_id, INVOICE_LINES)
            if fresh.get("InvoiceStatus") == "Complete":
                return fresh, bool(sent)
            sent.append(True)
            await self.http.call("PATCH", url, json=changes, idempotent=False)
            return await self._one("receivablesInvoices", order_id, INVOICE_LINES), True

        result: tuple[dict[str, Any], bool] = await self.http.retried(procedure, writes=1)
        return result

    async def _sales_order(self, record: dict[str, Any], external_id: str | None = None) -> SalesOrder:
        items = await self.setup.item_ids()
        currency = str(of.required(record, "TransactionalCurrencyCode"))
        lines = [
            of.document_line(
                line, items, currency, "OrderedQuantity", "UnitSellingPrice", "ExtendedAmount", "ProductNumber"
            )
            for line in record.get("lines") or []
        ]
        self._orders[str(record.get("OrderNumber"))] = str(record["HeaderId"])
        unit = await self.setup.unit_named(str(of.required(record, "BusinessUnitName")))
        total = sum((line.amount.decimal() for line in lines), Decimal(0))
        return SalesOrder(
            id=str(of.required(record, "HeaderId")),
            external_id=external_id or of.external_of(record.get("SourceTransactionNumber")),
            number=record.get("OrderNumber"),
            customer_id=await self._party_id(str(of.required(record, "BuyingPartyNumber"))),
            legal_entity_id=unit.legal_entity_id,
            date=of.day(record, "TransactionOn"),
            currency=currency,
            status=ORDER_STATUSES.get(str(record.get("StatusCode")).upper(), "open"),
            lines=lines,
            total=of.money(total, currency),
        )

    async def get_sales_order(self, order_id: str) -> SalesOrder:
        """One order-hub order by ``HeaderId`` (a draft receivable by ``CustomerTransactionId``)."""
        if self.settings.order_hub == "draft-receivable":
            record = await self._one("receivablesInvoices", order_id, INVOICE_LINES)
            if record.get("InternalNotes") != DRAFT_ORDER:
                raise NotFound(f"No sales order {order_id}")
            return await self._draft_sales_order(record)
        if self.settings.order_hub == "skip":
            of.number_id(order_id)
            raise NotFound(f"No sales order {order_id} (sales orders are not recorded: order_hub=skip)")
        return await self._sales_order(await self._order(order_id, "lines"))

    async def cancel_sales_order(self, order_id: str, *, reason: str) -> SalesOrder:
        """Cancel an order-hub order through Order Management (``action/cancelSalesOrder`` on
        ``salesOrdersForOrderHub``, GUESSED shape), unless it is CANCELED already; a CLOSED
        (fulfilled) order is refused (409). A draft-receivable order is refused too: it is an
        incomplete receivables transaction, not an order Order Management can cancel."""
        if self.settings.order_hub == "skip":
            await self.get_sales_order(order_id)  # raises the same NotFound
        if self.settings.order_hub == "draft-receivable":
            raise Conflict(f"Sales order {order_id} is a draft receivables transaction (order_hub=draft-receivable); "
                           "Oracle Order Management does not hold it, so it cannot be cancelled there.")  # fmt: skip

        async def procedure() -> dict[str, Any]:
            order = await self._order(order_id, "lines")
            status = str(order.get("StatusCode")).upper()
            if status == "CANCELED":
                return order
            if status == "CLOSED":
                raise Conflict(f"Sales order {order.get('OrderNumber')} is closed (fulfilled); Order Management "
                               "cancels only open orders.", vendor_code="order_closed")  # fmt: skip
            url = f"{self.http.fscm}/salesOrdersForOrderHub/{quote(str(order['OrderKey']), safe=':')}"
            await self.http.call("POST", f"{url}/action/{CANCEL_ACTION}", json={"CancelReason": reason[:240]},
                                 headers={"Content-Type": ACTION_TYPE}, idempotent=False)  # fmt: skip
            return await self._order(order_id, "lines")

        record: dict[str, Any] = await self.http.retried(procedure, writes=1)
        return await self._sales_order(record)

    async def _order(self, order_id: str, expand: str | None = None) -> dict[str, Any]:
        """An order-hub order by ``HeaderId`` (its item URL takes the ``OrderKey``, so it is queried)."""
        found = await self._find("salesOrdersForOrderHub", f"HeaderId={of.number_id(order_id)}", expand)
        if found is None:
            raise NotFound(f"No sales order {order_id}")
        return found

    # -- invoices --------------------------------------------------------------------------------------
    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """A complete receivables invoice keyed by ``TransactionNumber`` in the manual source and unit."""
        party, unit = await self._customer_unit(invoice.customer_id)
        if invoice.sales_order_id is not None and self.settings.order_hub != "order-hub":
            if self.settings.order_hub == "skip":
                raise field_error("/sales_order_id", "sales orders are not recorded in Oracle Fusion (order_hub=skip)")
            record, created = await self._invoice_draft(invoice, party)
            return await self.invoice(record), created
        lines = await self._lines(invoice.lines)
        if invoice.sales_order_id is not None:
            try:
                order = await self._order(invoice.sales_order_id)
            except NotFound:
                order = {}
            if order.get("BuyingPartyNumber") != party["PartyNumber"]:
                raise field_error("/sales_order_id", "is not an order of this customer")
            for line in lines:
                line["SalesOrder"] = str(order["OrderNumber"])
        number = of.key(invoice.external_id, of.TRANSACTION_NUMBER_LENGTH)
        source = self.settings.transaction_source
        body: dict[str, Any] = {
            "TransactionNumber": number,
            "TransactionSource": source,
            "TransactionType": self.settings.invoice_type,
            "BusinessUnit": unit.name,
            "BillToCustomerNumber": party["PartyNumber"],
            "TransactionDate": invoice.date.isoformat(),
            "AccountingDate": invoice.date.isoformat(),
            "InvoiceCurrencyCode": invoice.currency.upper(),
            "CrossReference": invoice.external_id[:150],
            INVOICE_LINES: lines,
        }
        if any("AccountingRule" in line for line in lines):
            body["InvoicingRule"] = INVOICING_RULE
        if invoice.due_date is not None:
            body["DueDate"] = invoice.due_date.isoformat()
        q = (
            f"TransactionNumber={of.q_text(number)} and TransactionSource={of.q_text(source)} "
            f"and BusinessUnit={of.q_text(unit.name)}"
        )
        record, created = await self._create_once("receivablesInvoices", q, body, INVOICE_LINES)
        return await self.invoice(record), created

    async def invoice(self, record: dict[str, Any]) -> Invoice:
        """A ``receivablesInvoices`` item (with its lines) as canonical."""
        items = await self.setup.item_ids()
        currency = str(of.required(record, "InvoiceCurrencyCode"))
        raw_lines = record.get(INVOICE_LINES) or []
        lines = [of.document_line(line, items, currency) for line in raw_lines]
        total, balance = of.decimal(record.get("EnteredAmount")), of.decimal(record.get("InvoiceBalanceAmount"))
        status: ErpDocumentStatus
        if record.get("InvoiceStatus") != "Complete":
            status = "pending_approval"
        elif balance <= 0:
            status = "paid"
        elif balance < total:
            status = "partially_paid"
        else:
            status = "open"
        order_number = next((str(line["SalesOrder"]) for line in raw_lines if line.get("SalesOrder")), None)
        unit = await self.setup.unit_named(str(of.required(record, "BusinessUnit")))
        sales_order_id = None
        if record.get("InternalNotes") == DRAFT_ORDER:
            sales_order_id = str(record["CustomerTransactionId"])  # the draft order, completed as the invoice
        elif order_number:
            sales_order_id = await self._order_id(order_number)
        return Invoice(
            id=str(of.required(record, "CustomerTransactionId")),
            external_id=record.get("CrossReference") or of.external_of(record.get("TransactionNumber")),
            number=record.get("TransactionNumber"),
            customer_id=await self._party_id(str(of.required(record, "BillToCustomerNumber"))),
            legal_entity_id=unit.legal_entity_id,
            sales_order_id=sales_order_id,
            date=of.day(record, "TransactionDate"),
            due_date=of.optional_day(record, "DueDate"),
            currency=currency,
            status=status,
            lines=lines,
            total=of.money(total, currency),
            amount_due=of.money(max(balance, Decimal(0)), currency),
        )

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """The revenue distributions Oracle's revenue scheduling put in ``period`` (``YYYY-MM``).

        A line sent with a revenue scheduling rule and rule dates gets, once Revenue Recognition
        has run, one ``Revenue`` distribution per period of its schedule (GL date in the period);
        those of lines with a rule are summed per invoice. Invoices are read with both children.
        """
        expand = f"{INVOICE_LINES},{INVOICE_DISTRIBUTIONS}"
        records = await self.http.items(f"{self.http.fscm}/receivablesInvoices", {"expand": expand})
        found: list[RecognizedRevenue] = []
        for record in records:
            ruled = {line.get("LineNumber") for line in record.get(INVOICE_LINES) or [] if line.get("AccountingRule")}
            amount = sum(
                (
                    of.decimal(row.get("Amount"))
                    for row in record.get(INVOICE_DISTRIBUTIONS) or []
                    if row.get("AccountClass") == "Revenue"
                    and row.get("InvoiceLineNumber") in ruled
                    and str(row.get("AccountingDate") or "")[:7] == period
                ),
                Decimal(0),
            )
            if ruled and amount:
                currency = str(of.required(record, "InvoiceCurrencyCode"))
                found.append(
                    RecognizedRevenue(
                        period=period,
                        customer_id=await self._party_id(str(of.required(record, "BillToCustomerNumber"))),
                        invoice_id=str(of.required(record, "CustomerTransactionId")),
                        amount=of.money(amount, currency),
                    )
                )
        return found

    async def _order_id(self, order_number: str) -> str | None:
        if order_number not in self._orders:
            found = await self._find("salesOrdersForOrderHub", f"OrderNumber={of.q_text(order_number)}")
            if found is None:
                return None
            self._orders[order_number] = str(found["HeaderId"])
        return self._orders[order_number]

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice by ``CustomerTransactionId``."""
        return await self.invoice(await self._one("receivablesInvoices", invoice_id, INVOICE_LINES))

    # -- credit memos ----------------------------------------------------------------------------------
    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """A receivables credit memo (negative lines) keyed by ``TransactionNumber``, crediting its invoice."""
        party, unit = await self._customer_unit(memo.customer_id)
        number = of.key(memo.external_id, of.TRANSACTION_NUMBER_LENGTH)
        source = self.settings.transaction_source
        body: dict[str, Any] = {
            "TransactionNumber": number,
            "TransactionSource": source,
            "TransactionType": self.settings.credit_memo_type,
            "BusinessUnit": unit.name,
            "BillToCustomerNumber": party["PartyNumber"],
            "TransactionDate": memo.date.isoformat(),
            "AccountingDate": memo.date.isoformat(),
            "CreditMemoCurrency": memo.currency.upper(),
            "CrossReference": memo.external_id[:150],
            MEMO_LINES: await self._lines(memo.lines, sign=-1),
        }
        if memo.invoice_id is not None:
            try:
                invoice = await self._one("receivablesInvoices", memo.invoice_id)
            except NotFound:
                invoice = {}
            if invoice.get("BillToCustomerNumber") != party["PartyNumber"] or invoice.get("BusinessUnit") != unit.name:
                raise field_error("/invoice_id", "is not an invoice of this customer")
            body["CreditedTransactionNumber"] = invoice["TransactionNumber"]
        q = (
            f"TransactionNumber={of.q_text(number)} and TransactionSource={of.q_text(source)} "
            f"and BusinessUnit={of.q_text(unit.name)}"
        )
        record, created = await self._create_once("receivablesCreditMemos", q, body, MEMO_LINES)
        return await self._credit_memo(record), created

    async def _credit_memo(self, record: dict[str, Any]) -> CreditMemo:
        items = await self.setup.item_ids()
        currency = str(of.required(record, "CreditMemoCurrency"))
        invoice_id = None
        credited = record.get("CreditedTransactionNumber")
        if credited:
            unit = of.q_text(str(record.get("BusinessUnit")))
            q = f"TransactionNumber={of.q_text(str(credited))} and BusinessUnit={unit}"
            found = await self._find("receivablesInvoices", q)
            invoice_id = str(found["CustomerTransactionId"]) if found else None
        return CreditMemo(
            id=str(of.required(record, "CustomerTransactionId")),
            external_id=record.get("CrossReference") or of.external_of(record.get("TransactionNumber")),
            number=record.get("TransactionNumber"),
            customer_id=await self._party_id(str(of.required(record, "BillToCustomerNumber"))),
            invoice_id=invoice_id,
            date=of.day(record, "TransactionDate"),
            currency=currency,
            lines=[of.document_line(line, items, currency) for line in record.get(MEMO_LINES) or []],
            total=of.money(abs(of.decimal(record.get("EnteredAmount"))), currency),
        )

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo by ``CustomerTransactionId``."""
        return await self._credit_memo(await self._one("receivablesCreditMemos", memo_id, MEMO_LINES))

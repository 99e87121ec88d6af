"""Oracle Fusion documents: orders, invoices, receipts, credit memos and journal batches, each exactly once.

Every create is a check-before-create procedure keyed by the document's business key (see
:mod:`.oracle_fusion`), run whole again after a retryable failure of one of its writes. ``sent``
remembers that a write of this call went out, so a document found by a later attempt is reported
as created by this call.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apis.canonical import (
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    DocumentLineInput,
    ErpDocumentStatus,
    Invoice,
    InvoiceCreate,
    JournalEntry,
    JournalEntryCreate,
    JournalLine,
    PaymentApplication,
    SalesOrder,
    SalesOrderCreate,
)
from apis.system.erp.connectors import oracle_fusion_mapping as of
from core.errors import BusinessRuleViolation, Conflict, InvalidInput, NotFound, UpstreamRejected

if TYPE_CHECKING:
    from apis.system.erp.connectors.oracle_fusion_http import OracleFusionHttp
    from apis.system.erp.connectors.oracle_fusion_setup import Setup, Unit
    from apis.system.erp.settings import OracleFusionSettings

INVOICE_LINES = "receivablesInvoiceLines"
DRAFT_ORDER = "Strata sales order (draft receivable)"
"""``InternalNotes`` of an order recorded as an incomplete receivables transaction."""
ORDER_PREFIX = "SO-"
"""Prefix of a draft order's ``TransactionNumber`` (the invoice keys of the same external id stay free)."""
MEMO_LINES = "receivablesCreditMemoLines"


def _field_error(pointer: str, detail: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


class Documents:
    """The document operations of one pod."""

    def __init__(self, http: OracleFusionHttp, settings: OracleFusionSettings, setup: Setup) -> None:
        self.http, self.settings, self.setup = http, settings, setup
        self._parties: dict[str, str] = {}
        """PartyNumber → PartyId, as read."""
        self._orders: dict[str, str] = {}
        """OrderNumber → HeaderId, as read."""

    # -- shared reads ----------------------------------------------------------------------------
    async def party(self, customer_id: str) -> dict[str, Any]:
        """The ``accounts`` item of a customer id (``PartyId``)."""
        found = await self.http.items(
            f"{self.http.crm}/accounts", {"q": f"PartyId={of.number_id(customer_id)}"}, limit=1
        )
        if not found:
            raise NotFound(f"No customer {customer_id}")
        self._parties[str(found[0].get("PartyNumber"))] = str(found[0]["PartyId"])
        return found[0]

    async def _party_id(self, party_number: str) -> str:
        if party_number not in self._parties:
            q = {"q": f"PartyNumber={of.q_text(party_number)}", "fields": "PartyId,PartyNumber"}
            found = await self.http.items(f"{self.http.crm}/accounts", q, limit=1)
            if not found:
                return ""
            self._parties[party_number] = str(found[0]["PartyId"])
        return self._parties[party_number]

    async def _customer_unit(self, customer_id: str) -> tuple[dict[str, Any], Unit]:
        party = await self.party(customer_id)
        entity = await self.setup.entity_for_currency(party.get("CurrencyCode"))
        return party, await self.setup.unit_for_entity(entity)

    async def _one(self, resource: str, id_value: str, expand: str | None = None) -> dict[str, Any]:
        params = {"onlyData": "true", **({"expand": expand} if expand else {})}
        record = await self.http.call(
            "GET", f"{self.http.fscm}/{resource}/{of.number_id(id_value)}", params=params, idempotent=True
        )
        if not isinstance(record, dict):
            raise NotFound(f"No {resource} item {id_value}")
        return record

    async def _find(self, resource: str, q: str, expand: str | None = None) -> dict[str, Any] | None:
        params = {"q": q, **({"expand": expand} if expand else {})}
        found = await self.http.items(f"{self.http.fscm}/{resource}", params, limit=2)
        return found[0] if found else None

    async def _lines(self, lines: list[DocumentLineInput], *, sign: int = 1) -> list[dict[str, Any]]:
        bodies = []
        for number, line in enumerate(lines, start=1):
            body: dict[str, Any] = {
                "LineNumber": number,
                "ItemNumber": await self.setup.item_number(line.item_id),
                "Quantity": float(Decimal(line.quantity)) * sign,
                "UnitSellingPrice": float(Decimal(line.unit_price)),
            }
            if line.description:
                body["Description"] = line.description[:240]
            bodies.append(body)
        return bodies

    async def _create_once(
        self, resource: str, q: str, body: dict[str, Any], expand: str | None
    ) -> tuple[dict[str, Any], bool]:
        """Check-before-create by ``q``; a duplicate refused by Oracle is read back."""
        sent: list[bool] = []

        async def procedure() -> tuple[dict[str, Any], bool]:
            existing = await self._find(resource, q, expand)
            if existing is not None:
                return existing, bool(sent)
            sent.append(True)
            # A Conflict: made meanwhile (by a concurrent call, or by ours whose answer was lost).
            with contextlib.suppress(Conflict):
                await self.http.call("POST", f"{self.http.fscm}/{resource}", json=body, idempotent=False)
            found = await self._find(resource, q, expand)
            if found is None:
                raise UpstreamRejected(f"Oracle Fusion created no {resource} item for {q}")
            return found, True

        result: tuple[dict[str, Any], bool] = await self.http.retried(procedure, writes=1)
        return result

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
            raise _field_error("/sales_order_id", "is not an order of this customer")
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
            status="closed" if str(record.get("StatusCode")).upper() == "CLOSED" else "open",
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
                raise _field_error("/sales_order_id", "sales orders are not recorded in Oracle Fusion (order_hub=skip)")
            record, created = await self._invoice_draft(invoice, party)
            return await self.invoice(record), created
        lines = await self._lines(invoice.lines)
        if invoice.sales_order_id is not None:
            try:
                order = await self._order(invoice.sales_order_id)
            except NotFound:
                order = {}
            if order.get("BuyingPartyNumber") != party["PartyNumber"]:
                raise _field_error("/sales_order_id", "is not an order of this customer")
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

    # -- payments ------------------------------------------------------------------------------------
    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """A standard receipt keyed by ``ReceiptNumber``, then one ``applyReceipt`` per application not yet made."""
        party, unit = await self._customer_unit(payment.customer_id)
        applications: list[tuple[str, str, str]] = []  # (invoice id, TransactionNumber, amount)
        for index, application in enumerate(payment.applications):
            try:
                invoice = await self._one("receivablesInvoices", application.invoice_id)
            except NotFound:
                invoice = {}
            if invoice.get("BillToCustomerNumber") != party["PartyNumber"] or invoice.get("BusinessUnit") != unit.name:
                raise _field_error(f"/applications/{index}/invoice_id", "is not an invoice of this customer")
            applications.append(
                (application.invoice_id, str(invoice["TransactionNumber"]), of.amount_text(application.amount))
            )
        number = of.key(payment.external_id, of.RECEIPT_NUMBER_LENGTH)
        body = {
            "ReceiptNumber": number,
            "ReceiptMethod": self.settings.receipt_method,
            "BusinessUnit": unit.name,
            "Amount": of.amount_text(payment.amount),
            "Currency": payment.currency.upper(),
            "RemittanceBankAccountNumber": self.settings.remittance_bank_account,
            "ReceiptDate": payment.date.isoformat(),
            "AccountingDate": payment.date.isoformat(),
            "CustomerAccountNumber": party["PartyNumber"],
            "Comments": payment.external_id[:240],
        }
        q = f"ReceiptNumber={of.q_text(number)} and BusinessUnit={of.q_text(unit.name)}"
        url = f"{self.http.fscm}/standardReceipts"
        sent: list[bool] = []

        async def procedure() -> tuple[dict[str, Any], list[dict[str, Any]], bool]:
            receipt = await self._find("standardReceipts", q)
            if receipt is None:
                sent.append(True)
                with contextlib.suppress(Conflict):
                    await self.http.call("POST", url, json=body, idempotent=False)
                receipt = await self._find("standardReceipts", q)
                if receipt is None:
                    raise UpstreamRejected("Oracle Fusion created no standard receipt")
            receipt_id = of.required(receipt, "StandardReceiptId")
            made = Counter(
                (str(a.get("TransactionNumber")), of.amount_text(a.get("AmountApplied")))
                for a in await self._applications(receipt_id)
            )
            for _invoice, transaction, amount in applications:
                if made[(transaction, amount)] > 0:
                    made[(transaction, amount)] -= 1
                    continue
                sent.append(True)
                action = {
                    "TransactionNumber": transaction,
                    "AmountApplied": amount,
                    "ApplicationDate": payment.date.isoformat(),
                    "AccountingDate": payment.date.isoformat(),
                }
                await self.http.call(
                    "POST",
                    f"{url}/{receipt_id}/action/applyReceipt",
                    json=action,
                    headers={"Content-Type": "application/vnd.oracle.adf.action+json"},
                    idempotent=False,
                )
            fresh = await self._one("standardReceipts", str(receipt_id))
            return fresh, await self._applications(receipt_id), bool(sent)

        receipt, applied, created = await self.http.retried(procedure, writes=1 + len(applications))
        return await self._payment(receipt, applied), created

    async def _applications(self, receipt_id: Any) -> list[dict[str, Any]]:
        """The receipt's applications, found by following its ``receiptApplications`` child link."""
        receipt = await self.http.call("GET", f"{self.http.fscm}/standardReceipts/{receipt_id}", idempotent=True)
        links = receipt.get("links") if isinstance(receipt, dict) else None
        href = next(
            (
                link.get("href")
                for link in links or []
                if isinstance(link, dict) and link.get("rel") == "child" and link.get("name") == "receiptApplications"
            ),
            None,
        )
        if not isinstance(href, str):
            return []
        return await self.http.items(href, {})

    async def _payment(self, receipt: dict[str, Any], applied: list[dict[str, Any]]) -> CustomerPayment:
        currency = str(of.required(receipt, "Currency"))
        return CustomerPayment(
            id=str(of.required(receipt, "StandardReceiptId")),
            external_id=receipt.get("Comments") or of.external_of(receipt.get("ReceiptNumber")),
            customer_id=await self._party_id(str(receipt.get("CustomerAccountNumber") or "")),
            date=of.day(receipt, "ReceiptDate"),
            amount=of.money(of.required(receipt, "Amount"), currency),
            applications=[
                PaymentApplication(
                    invoice_id=str(of.required(a, "CustomerTransactionId")),
                    amount=of.amount_text(a.get("AmountApplied")),
                )
                for a in applied
            ],
        )

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One payment by ``StandardReceiptId``."""
        receipt = await self._one("standardReceipts", payment_id)
        return await self._payment(receipt, await self._applications(receipt["StandardReceiptId"]))

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
                raise _field_error("/invoice_id", "is not an invoice of this customer")
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

    # -- journal entries -------------------------------------------------------------------------------
    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """A journal batch in the legal entity's primary ledger, keyed by ``BatchName`` there."""
        try:
            unit = await self.setup.unit_for_entity(entry.legal_entity_id)
        except NotFound:
            raise _field_error("/legal_entity_id", "is not a legal entity of this Oracle Fusion pod") from None
        if entry.currency.upper() != unit.currency:
            raise _field_error("/currency", f"must be {unit.currency} (the ledger currency of the legal entity)")
        name = of.key(entry.external_id, of.BATCH_NAME_LENGTH)
        lines = []
        for number, line in enumerate(entry.lines, start=1):
            body: dict[str, Any] = {"JeLineNumber": number, "AccountCombination": line.account}
            if line.debit is not None:
                body["EnteredDebitAmount"] = float(Decimal(line.debit))
            else:
                body["EnteredCreditAmount"] = float(Decimal(line.credit or "0"))
            if line.memo or entry.memo:
                body["Description"] = (line.memo or entry.memo or "")[:240]
            lines.append(body)
        batch = {
            "BatchName": name,
            "JournalSource": self.settings.journal_source,
            "JournalCategory": self.settings.journal_category,
            "LedgerName": unit.ledger_name,
            "AccountingDate": entry.date.isoformat(),
            "CurrencyCode": unit.currency,
            "journalLines": lines,
        }
        if entry.memo:
            batch["BatchDescription"] = entry.memo[:240]
        q = f"BatchName={of.q_text(name)} and LedgerName={of.q_text(unit.ledger_name)}"
        record, created = await self._create_once("journalBatches", q, batch, "journalLines")
        return await self._journal(record, entry.external_id), created

    async def _journal(self, record: dict[str, Any], external_id: str | None = None) -> JournalEntry:
        unit = await self.setup.unit_for_ledger(str(record.get("LedgerName")))
        memo = record.get("BatchDescription")
        lines = []
        for line in sorted(record.get("journalLines") or [], key=lambda r: int(r.get("JeLineNumber") or 0)):
            debit, credit = line.get("EnteredDebitAmount"), line.get("EnteredCreditAmount")
            description = line.get("Description")
            lines.append(
                JournalLine(
                    account=str(line.get("AccountCombination")),
                    debit=of.amount_text(debit) if debit is not None else None,
                    credit=of.amount_text(credit) if credit is not None else None,
                    memo=description if description and description != memo else None,
                )
            )
        return JournalEntry(
            id=str(of.required(record, "JeBatchId")),
            external_id=external_id or of.external_of(record.get("BatchName")),
            number=record.get("BatchName"),
            legal_entity_id=unit.legal_entity_id if unit else None,
            date=of.day(record, "AccountingDate"),
            currency=str(of.required(record, "CurrencyCode")),
            memo=memo,
            lines=lines,
        )

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry by ``JeBatchId``."""
        return await self._journal(await self._one("journalBatches", entry_id, "journalLines"))

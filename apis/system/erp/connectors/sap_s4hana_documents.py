"""The S/4HANA Cloud connector's documents: invoices (billing run), credit memos, payments, journal entries.

A mixin of :class:`~apis.system.erp.connectors.sap_s4hana.SapS4HanaConnector` (see its docstring for
the de-duplication keys); kept apart so each module stays readable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from apis.canonical import (
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    ErpDocumentStatus,
    Invoice,
    InvoiceCreate,
    JournalEntry,
    JournalEntryCreate,
    JournalLine,
    Page,
    PaymentApplication,
    RecognizedRevenue,
)
from apis.system.erp.connectors import sap_s4hana_deferrals as deferrals
from apis.system.erp.connectors import sap_s4hana_mapping as sap
from apis.system.erp.connectors.sap_s4hana_soap import PATH, journal_envelope, read_confirmation
from core.errors import InvalidInput, NotFound, UpstreamContractViolation

if TYPE_CHECKING:
    from apis.canonical import DocumentLineInput
    from apis.system.erp.connectors.sap_s4hana_http import SapHttp

SO, BILL, CMR, GL = (
    "API_SALES_ORDER_SRV",
    "API_BILLING_DOCUMENT_SRV",
    "API_CREDIT_MEMO_REQUEST_SRV",
    "API_GLACCOUNTLINEITEM",
)
BANK_ACCOUNT = "1000"


def _field(detail: str, pointer: str) -> InvalidInput:
    return InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])


def _skip(position: Any) -> int:
    from apis.system.erp.connectors.sap_s4hana import _position

    return _position(position)


class SapDocuments:
    """Documents over the billing run, credit memo requests and the SOAP journal entry posting."""

    http: SapHttp
    channel: str
    division: str

    if TYPE_CHECKING:

        async def _customer_ref(self, customer_id: str) -> tuple[str, str, str]: ...
        async def _currency(self, company: str) -> str: ...
        def _sales_org(self, company: str) -> str: ...
        def _items(
            self, lines: Sequence[DocumentLineInput], currency: str, text_field: str
        ) -> list[dict[str, Any]]: ...
        async def _create_order(
            self, partner: str, company: str, key: str, day: dt.date, currency: str,
            lines: Sequence[DocumentLineInput], *, invoice_key: str | None,
        ) -> dict[str, Any]: ...  # fmt: skip

    # -- billing documents -----------------------------------------------------------------------
    async def _billing(self, clauses: list[str]) -> dict[str, Any] | None:
        params = {"$filter": " and ".join(clauses), "$expand": "to_Item"}
        found = sap.results(await self.http.odata("GET", BILL, "A_BillingDocument", params=params, idempotent=True))
        return found[0] if found else None

    async def _paid(self, company: str, partner: str) -> dict[str, Decimal]:
        """Invoice accounting document → what payments and credit memos took off it."""
        clauses = f"CompanyCode eq {sap.text(company)} and Customer eq {sap.text(partner)} and InvoiceReference ne ''"
        params = {"$filter": clauses, "$select": "InvoiceReference,AmountInTransactionCurrency"}
        paid: dict[str, Decimal] = {}
        for line in sap.results(await self.http.odata("GET", GL, "GLAccountLineItem", params=params, idempotent=True)):
            ref = str(line.get("InvoiceReference") or "")
            paid[ref] = paid.get(ref, Decimal(0)) + sap.decimal(line.get("AmountInTransactionCurrency") or "0")
        return paid

    def _invoice(self, record: dict[str, Any], paid: dict[str, Decimal]) -> Invoice:
        currency = str(record.get("TransactionCurrency") or "")
        items = sap.results(record.get("to_Item"))
        total = sap.decimal(record.get("TotalGrossAmount") or "0")
        due = max(Decimal(0), total + paid.get(str(record.get("AccountingDocument") or "-"), Decimal(0)))
        status: ErpDocumentStatus = "partially_paid" if due < total else "open"
        if due == 0 and total:
            status = "paid"
        if record.get("BillingDocumentIsCancelled"):
            status = "void"
        order = next((str(i["SalesDocument"]) for i in items if i.get("SalesDocument")), None)
        day = sap.date(record.get("BillingDocumentDate"))
        days = sap.TERM_DAYS.get(str(record.get("CustomerPaymentTerms") or ""))
        return Invoice(
            id=str(record["BillingDocument"]), external_id=sap.external_id_of(record.get("DocumentReferenceID")),
            number=str(record["BillingDocument"]), customer_id=str(record.get("SoldToParty") or ""),
            legal_entity_id=str(record.get("CompanyCode") or "") or None, sales_order_id=order,
            date=day, due_date=day + dt.timedelta(days=days) if days is not None else None, currency=currency,
            status=status,
            lines=sap.lines(items, currency, "BillingQuantity", "BillingDocumentItemText"),
            total=sap.money(total, currency), amount_due=sap.money(due, currency),
        )  # fmt: skip

    async def create_invoice(self, invoice: InvoiceCreate) -> tuple[Invoice, bool]:
        """The billing run's invoice over the order (its block removed), or over an order made for it."""
        partner, company, _ = await self._customer_ref(invoice.customer_id)
        key = sap.key(invoice.external_id, 16)
        check = [f"DocumentReferenceID eq {sap.text(key)}", f"SoldToParty eq {sap.text(partner)}",
                 "BillingDocumentType eq 'F2'"]  # fmt: skip
        sent: list[bool] = []

        async def procedure() -> tuple[Invoice, bool]:
            found = await self._billing(check)
            if found is None:
                sent.append(True)
                if invoice.sales_order_id is not None:
                    await self._release_order(invoice, partner, key)
                else:
                    order_key = sap.key(invoice.external_id, 35)
                    await self._create_order(partner, company, order_key, invoice.date, invoice.currency,
                                             invoice.lines, invoice_key=key)  # fmt: skip
                found = await self._billing(check)
                if found is None:
                    raise UpstreamContractViolation("SAP S/4HANA Cloud's billing run made no invoice of the order")
                return self._invoice(found, await self._paid(company, partner)), True
            return self._invoice(found, await self._paid(company, partner)), bool(sent)

        result: tuple[Invoice, bool] = await self.http.retried(procedure, writes=1)
        # After the invoice, found or made: a repeat re-posts nothing (each entry is keyed).
        await deferrals.defer(self._post, invoice, company=company, currency=await self._currency(company),
                              billing_document=result[0].id, customer=partner)  # fmt: skip
        return result

    async def list_recognized_revenue(self, period: str) -> list[RecognizedRevenue]:
        """The month's deferral releases (see :mod:`.sap_s4hana_deferrals`)."""
        params = {"$filter": deferrals.release_filter(period)}
        lines = sap.results(await self.http.odata("GET", GL, "GLAccountLineItem", params=params, idempotent=True))
        return deferrals.recognized(period, lines)

    async def _release_order(self, invoice: InvoiceCreate, partner: str, key: str) -> None:
        order_id = invoice.sales_order_id or ""
        try:
            order = await self.http.odata("GET", SO, f"A_SalesOrder({sap.text(order_id)})", idempotent=True)
        except NotFound:
            order = None
        if not isinstance(order, dict) or order.get("SoldToParty") != partner:
            raise _field("is not an order of the customer", "/sales_order_id")
        if order.get("OverallSDProcessStatus") == "C":
            raise _field("is invoiced already", "/sales_order_id")
        changes = {"AccountingDocExternalReference": key, "RequestedDeliveryDate": sap.sap_date(invoice.date),
                   "HeaderBillingBlockReason": ""}  # fmt: skip
        await self.http.odata("PATCH", SO, f"A_SalesOrder({sap.text(order_id)})", json=changes, idempotent=False,
                              headers={"If-Match": order["__metadata"]["etag"]})  # fmt: skip

    async def get_invoice(self, invoice_id: str) -> Invoice:
        """One invoice (billing document of type ``F2``)."""
        record = await self.http.odata("GET", BILL, f"A_BillingDocument({sap.text(invoice_id)})",
                                       params={"$expand": "to_Item"}, idempotent=True)  # fmt: skip
        if record.get("BillingDocumentType") != "F2":
            raise NotFound(f"No invoice {invoice_id}")
        return self._invoice(record, await self._paid(str(record["CompanyCode"]), str(record["SoldToParty"])))

    async def list_invoices(self, *, customer_id: str | None, limit: int, position: Any) -> Page[Invoice]:
        """Invoices in number order, optionally of one customer."""
        skip = _skip(position)
        clauses = ["BillingDocumentType eq 'F2'"]
        if customer_id is not None:
            partner, _, _ = await self._customer_ref(customer_id)
            clauses.append(f"SoldToParty eq {sap.text(partner)}")
        params = {"$filter": " and ".join(clauses), "$expand": "to_Item", "$top": str(limit), "$skip": str(skip),
                  "$inlinecount": "allpages", "$orderby": "BillingDocument"}  # fmt: skip
        body = await self.http.odata("GET", BILL, "A_BillingDocument", params=params, idempotent=True)
        records = sap.results(body)
        total = int(body.get("__count") or 0) if isinstance(body, dict) else 0
        while isinstance(body, dict) and body.get("__next") and len(records) < limit:
            body = await self.http.odata("GET", BILL, str(body["__next"]), idempotent=True)
            records += sap.results(body)
        paid: dict[tuple[str, str], dict[str, Decimal]] = {}
        items = []
        for record in records[:limit]:
            pair = (str(record["CompanyCode"]), str(record["SoldToParty"]))
            if pair not in paid:
                paid[pair] = await self._paid(*pair)
            items.append(self._invoice(record, paid[pair]))
        return Page(items=items, next_position=skip + len(items) if skip + len(items) < total else None)

    # -- credit memos ------------------------------------------------------------------------------
    async def create_credit_memo(self, memo: CreditMemoCreate) -> tuple[CreditMemo, bool]:
        """A credit memo request (deep insert), billed by the billing run as a ``G2`` credit memo."""
        partner, company, _ = await self._customer_ref(memo.customer_id)
        key = sap.key(memo.external_id, 35)
        check = [f"PurchaseOrderByCustomer eq {sap.text(key)}", f"SoldToParty eq {sap.text(partner)}",
                 "BillingDocumentType eq 'G2'"]  # fmt: skip
        if memo.invoice_id is not None:
            invoice = await self.get_invoice(memo.invoice_id)
            if invoice.customer_id != partner:
                raise _field("is not an invoice of the customer", "/invoice_id")
        sent: list[bool] = []

        async def procedure() -> tuple[CreditMemo, bool]:
            found = await self._billing(check)
            if found is None:
                body: dict[str, Any] = {
                    "CreditMemoRequestType": "CR", "SalesOrganization": self._sales_org(company),
                    "DistributionChannel": self.channel, "OrganizationDivision": self.division,
                    "SoldToParty": partner, "PurchaseOrderByCustomer": key, "SDDocumentReason": "002",
                    "CreditMemoRequestDate": sap.sap_date(memo.date), "TransactionCurrency": memo.currency,
                    "ReferenceSDDocument": memo.invoice_id or "",
                    "to_Item": self._items(memo.lines, memo.currency, "CreditMemoRequestItemText"),
                }  # fmt: skip
                sent.append(True)
                await self.http.odata("POST", CMR, "A_CreditMemoRequest", json=body, idempotent=False)
                found = await self._billing(check)
                if found is None:
                    raise UpstreamContractViolation("SAP S/4HANA Cloud's billing run made no credit memo")
            return self._credit_memo(found, memo.invoice_id), bool(sent)

        result: tuple[CreditMemo, bool] = await self.http.retried(procedure, writes=1)
        return result

    def _credit_memo(self, record: dict[str, Any], invoice_id: str | None) -> CreditMemo:
        currency = str(record.get("TransactionCurrency") or "")
        items = sap.results(record.get("to_Item"))
        return CreditMemo(
            id=str(record["BillingDocument"]), external_id=sap.external_id_of(record.get("PurchaseOrderByCustomer")),
            number=str(record["BillingDocument"]), customer_id=str(record.get("SoldToParty") or ""),
            invoice_id=invoice_id, date=sap.date(record.get("BillingDocumentDate")), currency=currency,
            lines=sap.lines(items, currency, "BillingQuantity", "BillingDocumentItemText"),
            total=sap.money(record.get("TotalGrossAmount") or "0", currency),
        )  # fmt: skip

    async def get_credit_memo(self, memo_id: str) -> CreditMemo:
        """One credit memo (billing document ``G2``) with the invoice its request referred to."""
        record = await self.http.odata("GET", BILL, f"A_BillingDocument({sap.text(memo_id)})",
                                       params={"$expand": "to_Item"}, idempotent=True)  # fmt: skip
        if record.get("BillingDocumentType") != "G2":
            raise NotFound(f"No credit memo {memo_id}")
        request = next((str(i["ReferenceSDDocument"]) for i in sap.results(record.get("to_Item"))), "")
        invoice = None
        if request:
            found = await self.http.odata("GET", CMR, f"A_CreditMemoRequest({sap.text(request)})", idempotent=True)
            invoice = str(found.get("ReferenceSDDocument") or "") or None
        return self._credit_memo(record, invoice)

    # -- accounting documents (SOAP posting, G/L line item reads) --------------------------------------
    async def _lines_of(self, company: str, year: str, document: str) -> list[dict[str, Any]]:
        params = {"$filter": f"CompanyCode eq {sap.text(company)} and FiscalYear eq {sap.text(year)} and "
                             f"AccountingDocument eq {sap.text(document)} and Ledger eq '0L'"}  # fmt: skip
        found = sap.results(await self.http.odata("GET", GL, "GLAccountLineItem", params=params, idempotent=True))
        return sorted(found, key=lambda r: str(r.get("LedgerGLLineItem")))

    async def _by_assignment(self, company: str, key: str, doc_type: str) -> list[dict[str, Any]]:
        params = {"$filter": f"CompanyCode eq {sap.text(company)} and AssignmentReference eq {sap.text(key)} and "
                             f"AccountingDocumentType eq {sap.text(doc_type)} and Ledger eq '0L'"}  # fmt: skip
        return sap.results(await self.http.odata("GET", GL, "GLAccountLineItem", params=params, idempotent=True))

    async def _post(self, company: str, key: str, doc_type: str, envelope: bytes) -> tuple[list[dict[str, Any]], bool]:
        sent: list[bool] = []

        async def procedure() -> tuple[list[dict[str, Any]], bool]:
            found = await self._by_assignment(company, key, doc_type)
            if not found:
                sent.append(True)
                document, code, year = read_confirmation(await self.http.soap(PATH, envelope))
                return await self._lines_of(code or company, year, document), True
            return await self._lines_of(
                company, str(found[0]["FiscalYear"]), str(found[0]["AccountingDocument"])
            ), bool(sent)

        result: tuple[list[dict[str, Any]], bool] = await self.http.retried(procedure, writes=1)
        return result

    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """Journal Entry - Post (SOAP, document type ``SA``), keyed by the items' assignment."""
        currency = await self._currency(entry.legal_entity_id)
        if entry.currency.upper() != currency:
            raise _field(f"must be {currency} (the company code's currency)", "/currency")
        key = sap.key(entry.external_id, 18)
        items = []
        for index, line in enumerate(entry.lines):
            amount = Decimal(line.debit) if line.debit is not None else -Decimal(line.credit or "0")
            if not line.account.isdigit() or len(line.account) > 10:
                raise _field("is not a G/L account number", f"/lines/{index}/account")
            items.append({"amount": amount, "account": line.account.zfill(10), "assignment": key,
                          "text": line.memo or entry.memo or ""})  # fmt: skip
        envelope = journal_envelope(company=entry.legal_entity_id, day=entry.date, doc_type="SA", reference=key,
                                    header_text=entry.memo or "", items=items, currency=currency)  # fmt: skip
        lines, created = await self._post(entry.legal_entity_id, key, "SA", envelope)
        return self._journal_entry(lines), created

    def _journal_entry(self, lines: list[dict[str, Any]]) -> JournalEntry:
        if not lines:
            raise NotFound("No journal entry")
        first = lines[0]
        texts = {str(line.get("DocumentItemText") or "") for line in lines}
        memo = texts.pop() if len(texts) == 1 else None
        out = []
        for line in lines:
            amount = sap.decimal(line.get("AmountInTransactionCurrency") or "0").quantize(Decimal("0.01"))
            own = str(line.get("DocumentItemText") or "")
            out.append(JournalLine(account=sap.account(line.get("GLAccount")),
                                   debit=format(amount, "f") if amount >= 0 else None,
                                   credit=format(-amount, "f") if amount < 0 else None,
                                   memo=own if own and own != memo else None))  # fmt: skip
        return JournalEntry(
            id=f"{first['CompanyCode']}-{first['FiscalYear']}-{first['AccountingDocument']}",
            external_id=sap.external_id_of(first.get("AssignmentReference")), number=str(first["AccountingDocument"]),
            legal_entity_id=str(first["CompanyCode"]), date=sap.date(first.get("PostingDate")),
            currency=str(first.get("TransactionCurrency") or ""), memo=memo or None, lines=out,
        )  # fmt: skip

    async def _document_lines(self, document_id: str) -> list[dict[str, Any]]:
        parts = document_id.split("-")
        if len(parts) != 3 or not all(p.isalnum() for p in parts):
            parts = ["0000", "0000", "0000000000"]  # asked anyway: SAP answers (empty) or is down
        lines = await self._lines_of(*parts)
        if not lines:
            raise NotFound(f"No accounting document {document_id}")
        return lines

    async def get_journal_entry(self, entry_id: str) -> JournalEntry:
        """One journal entry (its G/L line items)."""
        return self._journal_entry(await self._document_lines(entry_id))

    async def create_customer_payment(self, payment: CustomerPaymentCreate) -> tuple[CustomerPayment, bool]:
        """An incoming payment (SOAP, document type ``DZ``): bank debit, customer credits naming the invoices."""
        partner, company, _ = await self._customer_ref(payment.customer_id)
        currency = await self._currency(company)
        if payment.currency.upper() != currency:
            raise _field(f"must be {currency} (the company code's currency)", "/currency")
        key = sap.key(payment.external_id, 18)
        amount = Decimal(payment.amount)
        items: list[dict[str, Any]] = [{"amount": amount, "account": BANK_ACCOUNT.zfill(10), "assignment": key}]
        applied = Decimal(0)
        for index, application in enumerate(payment.applications):
            try:
                invoice = await self.http.odata("GET", BILL, f"A_BillingDocument({sap.text(application.invoice_id)})",
                                                idempotent=True)  # fmt: skip
            except NotFound:
                invoice = None
            if not isinstance(invoice, dict) or invoice.get("SoldToParty") != partner or not invoice.get(
                    "AccountingDocument"):  # fmt: skip
                raise _field("is not a posted invoice of the customer", f"/applications/{index}/invoice_id")
            share = Decimal(application.amount)
            applied += share
            items.append({
                "amount": -share, "debtor": partner, "assignment": key,
                "invoice": str(invoice["AccountingDocument"]), "invoice_year": str(invoice["FiscalYear"]),
            })  # fmt: skip
        if amount > applied:
            items.append({"amount": -(amount - applied), "debtor": partner, "assignment": key})
        envelope = journal_envelope(company=company, day=payment.date, doc_type="DZ", reference=key, header_text="",
                                    items=items, currency=currency)  # fmt: skip
        lines, created = await self._post(company, key, "DZ", envelope)
        return await self._payment(lines), created

    async def _payment(self, lines: list[dict[str, Any]]) -> CustomerPayment:
        first = lines[0]
        currency = str(first.get("TransactionCurrency") or "")
        bank = next((line for line in lines if not line.get("Customer")), first)
        applications = []
        for line in lines:
            if line.get("Customer") and line.get("InvoiceReference"):
                clauses = (f"AccountingDocument eq {sap.text(str(line['InvoiceReference']))} and "
                           f"CompanyCode eq {sap.text(str(line['CompanyCode']))}")  # fmt: skip
                params = {"$filter": clauses, "$select": "BillingDocument"}
                found = sap.results(await self.http.odata("GET", BILL, "A_BillingDocument", params=params,
                                                          idempotent=True))  # fmt: skip
                amount = -sap.decimal(line.get("AmountInTransactionCurrency") or "0").quantize(Decimal("0.01"))
                if found:
                    invoice_id = str(found[0]["BillingDocument"])
                    applications.append(PaymentApplication(invoice_id=invoice_id, amount=format(amount, "f")))
        customer = next((str(line["Customer"]) for line in lines if line.get("Customer")), "")
        return CustomerPayment(
            id=f"{first['CompanyCode']}-{first['FiscalYear']}-{first['AccountingDocument']}",
            external_id=sap.external_id_of(first.get("AssignmentReference")), customer_id=customer,
            date=sap.date(first.get("PostingDate")),
            amount=sap.money(bank.get("AmountInTransactionCurrency") or "0", currency),
            applications=applications,
        )  # fmt: skip

    async def get_customer_payment(self, payment_id: str) -> CustomerPayment:
        """One incoming payment (its G/L line items)."""
        lines = await self._document_lines(payment_id)
        if lines[0].get("AccountingDocumentType") != "DZ":
            raise NotFound(f"No customer payment {payment_id}")
        return await self._payment(lines)

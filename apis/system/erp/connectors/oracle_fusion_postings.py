"""Oracle Fusion payments (standard receipts and their applications) and journal entries, each exactly once."""

from __future__ import annotations

import contextlib
from collections import Counter
from decimal import Decimal
from typing import Any

from apis.canonical import (
    CustomerPayment,
    CustomerPaymentCreate,
    JournalEntry,
    JournalEntryCreate,
    JournalLine,
    PaymentApplication,
)
from apis.system.erp.connectors import oracle_fusion_mapping as of
from apis.system.erp.connectors.oracle_fusion_documents import Documents
from apis.system.erp.connectors.oracle_fusion_records import field_error
from core.errors import Conflict, NotFound, UpstreamRejected


class Postings(Documents):
    """Every document operation of one pod: :class:`Documents` plus receipts and journal batches."""

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
                raise field_error(f"/applications/{index}/invoice_id", "is not an invoice of this customer")
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

    # -- journal entries -------------------------------------------------------------------------------
    async def create_journal_entry(self, entry: JournalEntryCreate) -> tuple[JournalEntry, bool]:
        """A journal batch in the legal entity's primary ledger, keyed by ``BatchName`` there."""
        try:
            unit = await self.setup.unit_for_entity(entry.legal_entity_id)
        except NotFound:
            raise field_error("/legal_entity_id", "is not a legal entity of this Oracle Fusion pod") from None
        if entry.currency.upper() != unit.currency:
            raise field_error("/currency", f"must be {unit.currency} (the ledger currency of the legal entity)")
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

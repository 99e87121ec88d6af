"""Journal Entry - Post (``JournalEntryCreateRequestConfirmation_In``, synchronous SOAP) in SAP's XML.

GUESSED beyond the message structure SAP documents (``JournalEntryBulkCreateRequest`` /
``JournalEntryCreateRequest`` / ``JournalEntry`` with ``Item`` and ``DebtorItem``): the debtor item's
``InvoiceReference`` / ``InvoiceReferenceFiscalYear`` for a payment applied to an invoice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from core.errors import PeriodClosed, UpstreamContractViolation, UpstreamRejected

PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
NAMESPACE = "http://sap.com/xi/SAPSCORE/SFIN"
CLOSED_PERIOD = "F5/201"


def _element(name: str, value: str) -> str:
    return f"<{name}>{escape(value)}</{name}>" if value else ""


def journal_envelope(*, company: str, day: dt.date, doc_type: str, reference: str, header_text: str,
                     items: list[dict[str, Any]], currency: str) -> bytes:  # fmt: skip
    """The SOAP request posting one journal entry. Each item: ``amount`` (signed Decimal), ``account`` or
    ``debtor``, ``text``, ``assignment``, ``invoice`` / ``invoice_year`` for a debtor item."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    parts = []
    for position, item in enumerate(items, start=1):
        amount: Decimal = item["amount"]
        tag = "DebtorItem" if item.get("debtor") else "Item"
        party = _element("Debtor", item["debtor"]) if item.get("debtor") else _element("GLAccount", item["account"])
        inner = (_element("ReferenceDocumentItem", str(position))
                 + party
                 + f'<AmountInTransactionCurrency currencyCode="{escape(currency)}">{abs(amount):.2f}'
                 "</AmountInTransactionCurrency>"
                 + _element("DebitCreditCode", "S" if amount >= 0 else "H")
                 + _element("DocumentItemText", item.get("text", "")[:50])
                 + _element("AssignmentReference", item.get("assignment", ""))
                 + _element("InvoiceReference", item.get("invoice", ""))
                 + _element("InvoiceReferenceFiscalYear", item.get("invoice_year", "")))  # fmt: skip
        parts.append(f"<{tag}>{inner}</{tag}>")
    entry = (_element("OriginalReferenceDocumentType", "BKPFF") + _element("BusinessTransactionType", "RFBU")
             + _element("AccountingDocumentType", doc_type) + _element("DocumentReferenceID", reference[:16])
             + _element("DocumentHeaderText", header_text[:25]) + _element("CreatedByUser", "STRATA")
             + _element("CompanyCode", company) + _element("DocumentDate", day.isoformat())
             + _element("PostingDate", day.isoformat()) + "".join(parts))  # fmt: skip
    header = f"<MessageHeader><ID>{uuid.uuid4().hex}</ID><CreationDateTime>{now}</CreationDateTime></MessageHeader>"
    return (f'<soapenv:Envelope xmlns:soapenv="{ENVELOPE}" xmlns:sfin="{NAMESPACE}"><soapenv:Header/><soapenv:Body>'
            f"<sfin:JournalEntryBulkCreateRequest>{header}<JournalEntryCreateRequest>{header}"
            f"<JournalEntry>{entry}</JournalEntry></JournalEntryCreateRequest></sfin:JournalEntryBulkCreateRequest>"
            "</soapenv:Body></soapenv:Envelope>").encode()  # fmt: skip


def _find(element: ET.Element, name: str) -> ET.Element | None:
    return next((e for e in element.iter() if e.tag.rsplit("}", 1)[-1] == name), None)


def _text(element: ET.Element, name: str) -> str:
    found = _find(element, name)
    return (found.text or "").strip() if found is not None else ""


def read_confirmation(root: ET.Element) -> tuple[str, str, str]:
    """(accounting document, company code, fiscal year) of the confirmation; the log's error otherwise."""
    log = _find(root, "Log")
    severity = _find(log, "MaximumSeverityCode") if log is not None else None
    if log is not None and severity is not None and (severity.text or "1").strip() >= "3":
        for item in (e for e in log if e.tag.rsplit("}", 1)[-1] == "Item"):
            code, note = _text(item, "TypeID"), _text(item, "Note")
            if code == CLOSED_PERIOD:
                raise PeriodClosed(f"SAP S/4HANA Cloud refused the posting: {note}", vendor_code=code)
            if _text(item, "SeverityCode") >= "3":
                raise UpstreamRejected(f"SAP S/4HANA Cloud rejected the journal entry: {note}", vendor_code=code)
        raise UpstreamRejected("SAP S/4HANA Cloud rejected the journal entry")
    document = _find(root, "AccountingDocument")
    company, year = _find(root, "CompanyCode"), _find(root, "FiscalYear")
    if document is None or not (document.text or "").strip("0"):
        raise UpstreamContractViolation("SAP S/4HANA Cloud confirmed no accounting document")
    return (document.text or "").strip(), ((company.text if company is not None else "") or "").strip(), (
        (year.text if year is not None else "") or "").strip()  # fmt: skip

"""Journal Entry - Post (synchronous SOAP): ``JournalEntryCreateRequestConfirmation_In``.

Served at ``/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi`` (communication scenario
``SAP_COM_0002``). GUESSED in detail (no WSDL in the collection; element names from SAP's API
documentation as far as known): the request body is ``JournalEntryBulkCreateRequest`` with one or
more ``JournalEntryCreateRequest/JournalEntry``, each with ``CompanyCode``, ``AccountingDocumentType``
(``SA`` G/L posting, ``DZ`` customer payment), ``DocumentReferenceID``, ``DocumentHeaderText``,
``PostingDate``, ``DocumentDate`` and items: ``Item`` (``GLAccount``, ``AmountInTransactionCurrency
currencyCode=…``, ``DebitCreditCode`` ``S``/``H``, ``DocumentItemText``, ``AssignmentReference``) and
``DebtorItem`` (``Debtor`` instead of the account, plus ``InvoiceReference`` and
``InvoiceReferenceFiscalYear`` for a payment applied to an invoice's open item). The answer is
``JournalEntryBulkCreateConfirmation`` with one ``JournalEntryCreateConfirmation`` per entry:
``JournalEntryCreateConfirmation/{AccountingDocument, CompanyCode, FiscalYear}`` (``0000000000``
when refused) and ``Log`` (``MaximumSeverityCode`` 1 success … 3 error, ``Item/{TypeID, SeverityCode,
Note}``). A refused entry writes nothing; SOAP faults only for an unreadable envelope.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal, InvalidOperation
from xml.sax.saxutils import escape

from sandboxes.sap_s4hana.odata import SapError
from sandboxes.sap_s4hana.rules import RECONCILIATION_ACCOUNT, post
from sandboxes.sap_s4hana.store import Store

PATH = "/sap/bc/srt/scs_ext/sap/journalentrycreaterequestconfi"
ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/"
NAMESPACE = "http://sap.com/xi/SAPSCORE/SFIN"


def _local(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c) == name), None)


def _text(element: ET.Element, name: str) -> str:
    found = _child(element, name)
    return (found.text or "").strip() if found is not None else ""


def fault(message: str) -> bytes:
    """A SOAP 1.1 fault."""
    return (f'<soap-env:Envelope xmlns:soap-env="{ENVELOPE}"><soap-env:Body><soap-env:Fault>'
            f"<faultcode>soap-env:Client</faultcode><faultstring xml:lang=\"en\">{escape(message)}</faultstring>"
            "</soap-env:Fault></soap-env:Body></soap-env:Envelope>").encode()  # fmt: skip


def handle(store: Store, body: bytes) -> tuple[int, bytes]:
    """(status, SOAP answer) for one ``JournalEntryBulkCreateRequest``."""
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return 500, fault("XML parsing error in the request message")
        # SAP's SOAP runtime answers an unreadable message with a fault (HTTP 500)
    soap_body = _child(root, "Body")
    bulk = _child(soap_body, "JournalEntryBulkCreateRequest") if soap_body is not None else None
    if bulk is None:
        return 500, fault("Operation not found: expected JournalEntryBulkCreateRequest")
    confirmations = []
    for request in (c for c in bulk if _local(c) == "JournalEntryCreateRequest"):
        entry = _child(request, "JournalEntry")
        message_id = _text(_child(request, "MessageHeader") or ET.Element("x"), "ID")
        confirmations.append(_confirm(message_id, *_post(store, entry)))
    answer = (f'<soap-env:Envelope xmlns:soap-env="{ENVELOPE}"><soap-env:Header/><soap-env:Body>'
              f'<n0:JournalEntryBulkCreateConfirmation xmlns:n0="{NAMESPACE}">'
              f"<MessageHeader><CreationDateTime>{escape(_now())}</CreationDateTime></MessageHeader>"
              f"{''.join(confirmations)}</n0:JournalEntryBulkCreateConfirmation>"
              "</soap-env:Body></soap-env:Envelope>")  # fmt: skip
    return 200, answer.encode()


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _post(store: Store, entry: ET.Element | None) -> tuple[str, str, str, list[tuple[str, str, str]]]:
    """(accounting document, company code, fiscal year, log items) of one entry."""
    if entry is None:
        return "0000000000", "", "0000", [("FINS_ACDOC_POST/001", "3", "JournalEntry is missing")]
    company, day = _text(entry, "CompanyCode"), _text(entry, "PostingDate")
    doc_type = _text(entry, "AccountingDocumentType") or "SA"
    lines = []
    try:
        for item in entry:
            kind = _local(item)
            if kind not in ("Item", "DebtorItem"):
                continue
            amount_element = _child(item, "AmountInTransactionCurrency")
            amount = Decimal((amount_element.text or "").strip()) if amount_element is not None else Decimal("NaN")
            if not amount.is_finite():
                raise InvalidOperation
            debit = _text(item, "DebitCreditCode") or ("S" if amount >= 0 else "H")
            signed = abs(amount) if debit == "S" else -abs(amount)
            line = {"Amount": signed, "Text": _text(item, "DocumentItemText"),
                    "Assignment": _text(item, "AssignmentReference")}  # fmt: skip
            if kind == "DebtorItem":
                line.update(GLAccount=RECONCILIATION_ACCOUNT, Customer=_text(item, "Debtor"),
                            InvoiceReference=_text(item, "InvoiceReference"),
                            InvoiceReferenceFiscalYear=_text(item, "InvoiceReferenceFiscalYear"))  # fmt: skip
            else:
                line["GLAccount"] = _text(item, "GLAccount")
            lines.append(line)
    except InvalidOperation:
        return "0000000000", company, "0000", [("FINS_ACDOC_POST/002", "3", "Amount is not a number")]
    if len(day) != 10:
        return "0000000000", company, "0000", [("F5/044", "3", "Enter a posting date")]
    try:
        with store.lock:
            document = post(store, company, day, doc_type, lines, header_text=_text(entry, "DocumentHeaderText"),
                            assignment=_text(entry, "DocumentReferenceID"))  # fmt: skip
            store.count_write("JournalEntry")
            store.save()
    except SapError as error:
        return "0000000000", company, "0000", [(error.code, "3", error.message)]
    return document, company, day[:4], [("RW/609", "1", f"Document posted successfully: BKPFF {document}{company}"
                                         f"{day[:4]}")]  # fmt: skip


def _confirm(message_id: str, document: str, company: str, year: str, log: list[tuple[str, str, str]]) -> str:
    worst = max((int(severity) for _, severity, _ in log), default=1)
    items = "".join(f"<Item><TypeID>{escape(code)}</TypeID><SeverityCode>{severity}</SeverityCode>"
                    f"<Note>{escape(note)}</Note></Item>" for code, severity, note in log)  # fmt: skip
    return (f"<JournalEntryCreateConfirmation><MessageHeader><ReferenceID>{escape(message_id)}</ReferenceID>"
            f"</MessageHeader><JournalEntryCreateConfirmation><AccountingDocument>{document}</AccountingDocument>"
            f"<CompanyCode>{escape(company)}</CompanyCode><FiscalYear>{year}</FiscalYear>"
            f"</JournalEntryCreateConfirmation><Log><MaximumSeverityCode>{worst}</MaximumSeverityCode>{items}</Log>"
            "</JournalEntryCreateConfirmation>")  # fmt: skip

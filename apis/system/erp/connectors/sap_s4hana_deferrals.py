"""SAP S/4HANA Cloud: revenue of an invoice's service periods, recognised by deferral journal entries.

The released APIs the connector uses carry no service period and no revenue schedule
(``A_SalesOrderItem`` and ``A_BillingDocumentItem`` of ``API_SALES_ORDER_SRV`` /
``API_BILLING_DOCUMENT_SRV`` have none; SAP's own event-based revenue recognition and RAR are not
reachable through them), and the billing run books each item's whole net amount to revenue on the
billing date. So the connector defers it itself, through the journal entry SOAP post it already
uses (``JournalEntryCreateRequestConfirmation_In``, document type ``SA``):

* on the invoice date, one **deferral** entry: revenue (``4000``) debited, deferred revenue
  (``2200``) credited with the service-period lines' net amount;
* per month of the service periods, one **release** entry dated in that month (the invoice date
  for months before it): deferred revenue debited, revenue credited with the month's ratable share
  (:func:`apis.canonical.monthly_shares`).

Each entry is exactly-once by its items' assignment (``<invoice key>/DEF``, ``<invoice key>/R<YYYYMM>``,
cut to 18 characters with a digest) and the release items' text names the billing document and the
customer (``REVREC <billing document> <customer>``), which is how :func:`recognized` reads them back
from the G/L line items (``API_GLACCOUNTLINEITEM``). The text convention is ours (GUESSED as a way a
real SAP tenant would accept: the item text is free text of 50 characters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from apis.canonical import InvoiceCreate, Money, RecognizedRevenue, monthly_shares, service_period
from apis.system.erp.connectors import sap_s4hana_mapping as sap
from apis.system.erp.connectors.sap_s4hana_soap import journal_envelope
from core.errors import UpstreamContractViolation

REVENUE_ACCOUNT, DEFERRED_REVENUE_ACCOUNT = "0000004000", "0000002200"
RELEASE_TEXT = "REVREC"
"""First word of a release item's text: ``REVREC <billing document> <customer>``."""

Post = Callable[[str, str, str, bytes], Awaitable[Any]]
"""``SapDocuments._post``: (company, assignment key, document type, envelope) → posted exactly once."""


def release_months(invoice: InvoiceCreate) -> dict[str, Decimal]:
    """Each month's share of the invoice's service-period lines (months in order)."""
    months: dict[str, Decimal] = {}
    for line in invoice.lines:
        period = service_period(line)
        if period is None:
            continue
        amount = (Decimal(line.quantity) * Decimal(line.unit_price)).quantize(Decimal("0.01"))
        for month, share in monthly_shares(amount, *period):
            months[month] = months.get(month, Decimal(0)) + share
    return dict(sorted(months.items()))


async def defer(
    post: Post, invoice: InvoiceCreate, *, company: str, currency: str, billing_document: str, customer: str
) -> None:
    """Post the invoice's deferral entry and its monthly release entries (each once)."""
    months = release_months(invoice)
    if not months:
        return
    total = sum(months.values(), Decimal(0))
    base = invoice.external_id
    deferral_key = sap.key(f"{base}/DEF", 18)
    text = f"Deferral {billing_document}"
    items = [
        {"amount": total, "account": REVENUE_ACCOUNT, "assignment": deferral_key, "text": text},
        {"amount": -total, "account": DEFERRED_REVENUE_ACCOUNT, "assignment": deferral_key, "text": text},
    ]
    await post(company, deferral_key, "SA", _envelope(company, invoice.date, deferral_key, items, currency))
    for month, share in months.items():
        first = dt.date.fromisoformat(f"{month}-01")
        day = max(first, invoice.date)
        key = sap.key(f"{base}/R{month.replace('-', '')}", 18)
        text = f"{RELEASE_TEXT} {billing_document} {customer}"
        items = [
            {"amount": share, "account": DEFERRED_REVENUE_ACCOUNT, "assignment": key, "text": text},
            {"amount": -share, "account": REVENUE_ACCOUNT, "assignment": key, "text": text},
        ]
        await post(company, key, "SA", _envelope(company, day, key, items, currency))


def _envelope(company: str, day: dt.date, key: str, items: list[dict[str, Any]], currency: str) -> bytes:
    return journal_envelope(
        company=company, day=day, doc_type="SA", reference=key, header_text="Revenue deferral",
        items=items, currency=currency,
    )  # fmt: skip


def release_filter(period: str) -> str:
    """``$filter`` of the G/L line items that may be ``period``'s releases (revenue, ``SA``, ledger ``0L``)."""
    fiscal = f"{period[:4]}{int(period[5:7]):03d}"  # calendar fiscal year variant: period = month
    return (
        f"GLAccount eq '{REVENUE_ACCOUNT}' and AccountingDocumentType eq 'SA' and Ledger eq '0L' "
        f"and FiscalYearPeriod eq '{fiscal}'"
    )


def recognized(period: str, lines: list[dict[str, Any]]) -> list[RecognizedRevenue]:
    """The release credits to revenue among G/L line items of ``period``, per billing document."""
    by_document: dict[tuple[str, str, str], Decimal] = {}
    for line in lines:
        words = str(line.get("DocumentItemText") or "").split()
        if len(words) != 3 or words[0] != RELEASE_TEXT or sap.account(line.get("GLAccount")) != "4000":
            continue
        if _posting_month(line) != period:
            continue
        key = (words[1], words[2], str(line.get("TransactionCurrency") or ""))
        by_document[key] = by_document.get(key, Decimal(0)) - sap.decimal(line.get("AmountInTransactionCurrency"))
    return [
        RecognizedRevenue(
            period=period,
            customer_id=customer,
            invoice_id=document,
            amount=Money(amount=format(amount.quantize(Decimal("0.01")), "f"), currency=currency),
        )
        for (document, customer, currency), amount in sorted(by_document.items())
    ]


def _posting_month(line: dict[str, Any]) -> str:
    try:
        day = sap.date(line.get("PostingDate"))
    except UpstreamContractViolation:  # an unreadable date is not this month's
        return ""
    return f"{day.year:04d}-{day.month:02d}"

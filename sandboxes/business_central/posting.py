"""Bound actions: posting invoices, credit memos and journals, cancelling invoices; G/L entries.

Every posting checks its posting date against the accounting periods: a date in a closed period
answers BC's "Posting Date is not within your range of allowed posting dates." (400
``Application_DialogException``). Posting writes balanced G/L entries (receivables 1200 against
revenue 4000, cash 1000 against receivables 1200).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sandboxes.business_central import writes
from sandboxes.business_central.schema import ENTITIES, BcError, dialog
from sandboxes.business_central.store import Record, Store, money, now
from sandboxes.revenue_schedule import daily_rate_schedule

RECEIVABLES, REVENUE, CASH = "1200", "4000", "1000"
DEFERRED_REVENUE = "2200"

DEFERRAL_TEMPLATES: dict[str, dict[str, Any]] = {
    "SUB-12M": {"description": "Subscription, 12 months", "calcMethod": "Days per Period", "startDate": "Posting Date",
                "noOfPeriods": 12, "deferralAccount": DEFERRED_REVENUE},
}  # fmt: skip
"""Deferral templates (page *Deferral Template Card*: Deferral Code, Deferral Account, Calc. Method,
Start Date, No. of Periods). An item's ``Default Deferral Template Code`` (``_defaultDeferralTemplateCode``
in the store: the Item Card field, which API v2.0's ``items`` page does not show) makes every sales
line of the item deferred with its template: posting books the line to the deferral account, then
each period of the deferral schedule moves its part to revenue, dated in that period."""
NOTHING_TO_POST = "There is nothing to post."


def run_action(store: Store, company_id: str, entity_name: str, record: Record, action: str) -> None:
    """``POST .../<entity>(<id>)/Microsoft.NAV.<action>`` → 204 (raises BC's error otherwise)."""
    handlers = {
        ("salesOrders", "shipAndInvoice"): ship_and_invoice,
        ("salesInvoices", "post"): post_invoice,
        ("salesInvoices", "cancel"): cancel_invoice,
        ("salesCreditMemos", "post"): post_credit_memo,
        ("journals", "post"): post_journal,
    }
    handler = handlers.get((entity_name, action)) if action in ENTITIES[entity_name].actions else None
    if handler is None:
        raise BcError(400, "BadRequest_MethodNotFound", f"The bound action 'Microsoft.NAV.{action}' was not found.")
    with store.lock:
        handler(store, company_id, record)
        store.count_write(f"{entity_name}/Microsoft.NAV.{action}")
        store.save()


def post_payment_batch(store: Store, company_id: str, batch: Record) -> None:
    """``journals(<payment batch id>)/Microsoft.NAV.post``: the payment journal's lines posted."""
    with store.lock:
        post_payments(store, company_id, batch)
        store.count_write("journals/Microsoft.NAV.post")
        store.save()


def ship_and_invoice(store: Store, company_id: str, order: Record) -> None:
    """``salesOrders(<id>)/Microsoft.NAV.shipAndInvoice``: ship every line, post the invoice, and
    delete the order, which is then fully invoiced (BC deletes a fully shipped and invoiced order).

    The posted invoice copies the order's customer, ``externalDocumentNumber``, dates, currency and
    lines, and names the order in ``orderId`` and ``orderNumber``. Only service and non-inventory
    items ship here: the sandbox keeps no inventory, so an inventory item is refused as BC refuses
    one that is not on hand (the message is ours).
    """
    lines = order["salesOrderLines"]
    if not lines:
        raise dialog(NOTHING_TO_POST)
    items = store.company(company_id)["items"]
    for line in lines:
        item = items.get(line.get("itemId") or "")
        if item is not None and item.get("type") not in ("Service", "Non-Inventory"):
            raise dialog(f"You have insufficient quantity of Item {item['number']} on inventory.")
    check_period(store, company_id, order["postingDate"])
    body = {
        "customerId": order["customerId"],
        "invoiceDate": order["orderDate"],
        "postingDate": order["postingDate"],
        "currencyCode": order["currencyCode"],
        "salesInvoiceLines": [
            {"itemId": line["itemId"], "quantity": line["quantity"], "unitPrice": line["unitPrice"],
             "description": line.get("description")}
            for line in lines
        ],
    }  # fmt: skip
    if order.get("externalDocumentNumber"):
        body["externalDocumentNumber"] = order["externalDocumentNumber"]
    invoice = writes.create(store, company_id, "salesInvoices", body)
    invoice["orderId"], invoice["orderNumber"] = order["id"], order["number"]
    post_invoice(store, company_id, invoice)
    del store.company(company_id)["salesOrders"][order["id"]]


def check_period(store: Store, company_id: str, day: str) -> None:
    """Refuse a posting dated in a closed accounting period."""
    periods = sorted(store.company(company_id)["accountingPeriods"].values(), key=lambda p: p["startingDate"])
    current = None
    for period in periods:
        if period["startingDate"] <= day:
            current = period
    if current is not None and (current.get("closed") or current.get("dateLocked")):
        raise dialog(
            f"Posting Date {day} is not within your range of allowed posting dates. "
            f"The accounting period {current['name']} {current['startingDate'][:4]} is closed."
        )


def _entry(
    store: Store, company_id: str, document: Record, account: str, debit: Decimal, credit: Decimal, kind: str
) -> None:
    accounts = store.company(company_id)["accounts"]
    target = next(a for a in accounts.values() if a["number"] == account)
    store.entry_number += 1
    entry_id = store.new_id()
    store.company(company_id)["generalLedgerEntries"][entry_id] = {
        "id": entry_id, "entryNumber": store.entry_number, "postingDate": document["postingDate"],
        "documentNumber": document["documentNumber"], "externalDocumentNumber": document.get("externalDocumentNumber"),
        "documentType": kind, "accountId": target["id"], "accountNumber": account,
        "description": document.get("description") or "", "debitAmount": money(debit), "creditAmount": money(credit),
        "lastModifiedDateTime": now(), "_version": 1,
    }  # fmt: skip


def _post_document(store: Store, company_id: str, document: Record, series: str, lines: str) -> Decimal:
    if document["status"] != "Draft":
        raise dialog(f"The document {document['number']} is already posted.")
    if not document[lines]:
        raise dialog(NOTHING_TO_POST)
    check_period(store, company_id, document["postingDate"])
    document["number"] = store.next_number(company_id, series)
    store.touch(document)
    return Decimal(str(document["totalAmountIncludingTax"]))


def post_invoice(store: Store, company_id: str, invoice: Record) -> None:
    """Draft → Open: the invoice keeps its id, gets a posted number, and is booked to receivables."""
    total = _post_document(store, company_id, invoice, "postedInvoices", "salesInvoiceLines")
    invoice["status"], invoice["remainingAmount"] = "Open", money(total)
    booking = {**invoice, "documentNumber": invoice["number"], "description": f"Invoice {invoice['number']}"}
    _entry(store, company_id, booking, RECEIVABLES, total, Decimal(0), "Invoice")
    _entry(store, company_id, booking, REVENUE, Decimal(0), total, "Invoice")
    defer(store, company_id, invoice)
    _balance(store, company_id, invoice["customerId"], total)


def defer(store: Store, company_id: str, invoice: Record) -> None:
    """Each line of an item with a default deferral template: deferred, then released period by period
    (Days per Period from the posting date over the template's No. of Periods; the last period takes
    the rounding)."""
    booking = {**invoice, "documentNumber": invoice["number"], "description": f"Invoice {invoice['number']}"}
    items = store.company(company_id)["items"]
    start = dt.date.fromisoformat(invoice["postingDate"])
    for line in invoice["salesInvoiceLines"]:
        item = items.get(line.get("itemId") or "") or {}
        template = DEFERRAL_TEMPLATES.get(item.get("_defaultDeferralTemplateCode") or "")
        amount = Decimal(str(line.get("amountExcludingTax") or 0))
        if template is None or amount == 0:
            continue
        account = template["deferralAccount"]
        _entry(store, company_id, booking, REVENUE, amount, Decimal(0), "Invoice")
        _entry(store, company_id, booking, account, Decimal(0), amount, "Invoice")
        end = _add_months(start, template["noOfPeriods"]) - dt.timedelta(days=1)
        for first, share in daily_rate_schedule(amount, start, end):
            release = {**booking, "postingDate": first.isoformat(), "description": f"Deferral {invoice['number']}"}
            _entry(store, company_id, release, account, share, Decimal(0), "Invoice")
            _entry(store, company_id, release, REVENUE, Decimal(0), share, "Invoice")


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return day.replace(year=year, month=month, day=min(day.day, last))


def cancel_invoice(store: Store, company_id: str, invoice: Record) -> None:
    """Open and unpaid → Canceled, the booking reversed."""
    if invoice["status"] != "Open" or invoice["remainingAmount"] != invoice["totalAmountIncludingTax"]:
        raise dialog(f"You cannot cancel the posted sales invoice {invoice['number']} because it is fully or "
                     "partially paid or not posted.")  # fmt: skip
    total = Decimal(str(invoice["totalAmountIncludingTax"]))
    booking = {**invoice, "documentNumber": invoice["number"], "description": f"Cancel {invoice['number']}"}
    _entry(store, company_id, booking, RECEIVABLES, Decimal(0), total, "Invoice")
    _entry(store, company_id, booking, REVENUE, total, Decimal(0), "Invoice")
    invoice["status"], invoice["remainingAmount"] = "Canceled", 0.0
    store.touch(invoice)
    _balance(store, company_id, invoice["customerId"], -total)


def post_credit_memo(store: Store, company_id: str, memo: Record) -> None:
    """Draft → Open (or Paid when fully applied to its invoice)."""
    total = _post_document(store, company_id, memo, "postedCreditMemos", "salesCreditMemoLines")
    remaining = total
    invoice = store.company(company_id)["salesInvoices"].get(memo.get("invoiceId") or "")
    if invoice is not None and invoice["status"] == "Open":
        applied = min(remaining, Decimal(str(invoice["remainingAmount"])))
        _reduce(store, invoice, applied)
        remaining -= applied
    memo["status"] = "Paid" if remaining == 0 else "Open"
    memo["remainingAmount"] = money(remaining)
    booking = {**memo, "documentNumber": memo["number"], "description": f"Credit memo {memo['number']}"}
    _entry(store, company_id, booking, REVENUE, total, Decimal(0), "Credit Memo")
    _entry(store, company_id, booking, RECEIVABLES, Decimal(0), total, "Credit Memo")
    _balance(store, company_id, memo["customerId"], -total)


def post_journal(store: Store, company_id: str, journal: Record) -> None:
    """Every line becomes a G/L entry; each document number must balance per posting date."""
    lines = journal["journalLines"]
    if not lines:
        raise dialog(NOTHING_TO_POST)
    sums: dict[tuple[str, str], Decimal] = {}
    for line in lines:
        key = (line.get("documentNumber") or "", line["postingDate"])
        sums[key] = sums.get(key, Decimal(0)) + Decimal(str(line["amount"]))
    for (number, day), total in sums.items():
        if total != 0:
            raise dialog(f"Document No. {number} is out of balance by {money(total)} on {day}. "
                         "Check that the amounts of each document balance.")  # fmt: skip
    for line in lines:
        check_period(store, company_id, line["postingDate"])
    for line in lines:
        amount = Decimal(str(line["amount"]))
        booking = {**line, "description": line.get("description") or ""}
        debit, credit = (amount, Decimal(0)) if amount > 0 else (Decimal(0), -amount)
        _entry(store, company_id, booking, line["accountNumber"], debit, credit, "")
    journal["journalLines"] = []
    store.touch(journal)


def post_payments(store: Store, company_id: str, journal: Record) -> None:
    """Apply every unposted payment line to its invoice and book it (cash against receivables).

    BC removes posted lines from the journal; the sandbox keeps them readable (they are never
    posted twice): the standard API has no page that shows a posted payment otherwise.
    """
    pending = [line for line in journal["customerPayments"] if line["id"] not in store.posted_payments]
    if not pending:
        raise dialog(NOTHING_TO_POST)
    invoices = store.company(company_id)["salesInvoices"]
    for line in pending:
        check_period(store, company_id, line["postingDate"])
        if Decimal(str(line["amount"])) <= 0:
            raise dialog(f"Amount must be positive in the payment line {line['lineNumber']}.")
        invoice = invoices.get(line.get("appliesToInvoiceId") or "")
        if invoice is not None and invoice["status"] not in ("Open", "Paid"):
            raise dialog(f"The invoice {invoice['number']} cannot be applied to.")
    for line in pending:
        amount = Decimal(str(line["amount"]))
        invoice = invoices.get(line.get("appliesToInvoiceId") or "")
        if invoice is not None:
            _reduce(store, invoice, min(amount, Decimal(str(invoice["remainingAmount"]))))
        booking = {**line, "description": line.get("description") or f"Payment {line.get('documentNumber') or ''}"}
        _entry(store, company_id, booking, CASH, amount, Decimal(0), "Payment")
        _entry(store, company_id, booking, RECEIVABLES, Decimal(0), amount, "Payment")
        _balance(store, company_id, line["customerId"], -amount)
        store.posted_payments.add(line["id"])
    store.touch(journal)


def _reduce(store: Store, invoice: Record, amount: Decimal) -> None:
    remaining = Decimal(str(invoice["remainingAmount"])) - amount
    invoice["remainingAmount"] = money(remaining)
    if remaining <= 0:
        invoice["status"] = "Paid"
    store.touch(invoice)


def _balance(store: Store, company_id: str, customer_id: str, change: Decimal) -> None:
    customer = store.company(company_id)["customers"].get(customer_id)
    if customer is not None:
        customer["balanceDue"] = money(Decimal(str(customer.get("balanceDue") or 0)) + change)

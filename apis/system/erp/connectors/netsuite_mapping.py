"""NetSuite records and SuiteQL rows ↔ canonical ERP objects.

Reads are lenient: unknown fields are ignored, empty fields (NetSuite leaves them out) become
``None``, and only what a canonical object cannot do without (an ``id``, a date, a customer)
is checked — its absence is an :class:`~core.errors.UpstreamContractViolation`. Amounts
arrive as JSON numbers and are decoded as exact :class:`~decimal.Decimal` values; money is
written with two decimals, quantities without trailing zeros.

Two NetSuite lists are referenced by internal id but not served as records by every account
(and not at all by the sandbox): currencies and the chart of accounts. The connector holds
them as :class:`NetSuiteLists` — ISO code ↔ currency id, GL account number ↔ account id —
defaulting to the sandbox account's lists. A reference read back carries ``refName``, which
is used when the id is not in the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from apis.canonical import (
    AccountingPeriod,
    Address,
    CreditMemo,
    CreditMemoCreate,
    CustomerPayment,
    CustomerPaymentCreate,
    DocumentLine,
    DocumentLineInput,
    ErpCustomer,
    ErpCustomerUpsert,
    ErpDocumentStatus,
    Invoice,
    InvoiceCreate,
    Item,
    JournalEntry,
    JournalEntryCreate,
    JournalLine,
    LegalEntity,
    Money,
    PaymentApplication,
    PaymentTerms,
    RecognizedRevenue,
    SalesOrder,
    SalesOrderCreate,
    service_period,
)
from core.errors import Conflict, InvalidInput, UpstreamContractViolation

Record = dict[str, Any]
CENT = Decimal("0.01")

TERMS: dict[PaymentTerms, str] = {
    "due_on_receipt": "Due on receipt",
    "net_15": "Net 15",
    "net_30": "Net 30",
    "net_45": "Net 45",
    "net_60": "Net 60",
    "net_90": "Net 90",
}
"""Canonical payment terms ↔ the names of NetSuite's standard term records."""
TERMS_BY_NAME = {name.lower(): key for key, name in TERMS.items()}

STATUSES: dict[str, ErpDocumentStatus] = {
    "pending approval": "pending_approval",
    "pending fulfillment": "open",
    "partially fulfilled": "open",
    "pending billing": "open",
    "pending billing/partially fulfilled": "open",
    "billed": "billed",
    "closed": "closed",
    "open": "open",
    "paid in full": "paid",
    "fully applied": "closed",
    "voided": "void",
    "cancelled": "void",
}
"""NetSuite transaction status names (lower case) → canonical status; unknown ones read as ``open``."""

VENDOR_PATHS = {
    "entity": "/customer_id",
    "customer": "/customer_id",
    "tranDate": "/date",
    "currency": "/currency",
    "subsidiary": "/legal_entity_id",
    "createdFrom": "/sales_order_id",
    "companyName": "/name",
    "vatRegNumber": "/tax_id",
    "email": "/email",
    "url": "/domain",
    "parent": "/parent_id",
    "terms": "/payment_terms",
    "payment": "/amount",
    "dueDate": "/due_date",
    "externalId": "/external_id",
}
"""NetSuite body fields (``o:errorPath``) → JSON Pointers into our request bodies."""
LINE_PATHS = {
    ("item", "item"): "item_id",
    ("item", "quantity"): "quantity",
    ("item", "rate"): "unit_price",
    ("item", "description"): "description",
    ("apply", "doc"): "invoice_id",
    ("apply", "amount"): "amount",
    ("line", "account"): "account",
    ("line", "debit"): "debit",
    ("line", "credit"): "credit",
}
LINE_LISTS = {"item": "lines", "apply": "applications", "line": "lines"}


class NetSuiteLists(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Internal ids of the lists an account references but this connector does not look up."""

    currencies: dict[str, str] = msgspec.field(default_factory=lambda: {"USD": "1", "EUR": "2", "GBP": "3", "CHF": "4"})
    """ISO 4217 code → currency internal id."""
    accounts: dict[str, str] = msgspec.field(
        default_factory=lambda: {"1000": "1", "1200": "2", "2200": "3", "4000": "4", "4100": "5", "6000": "6"}
    )
    """GL account number → account internal id."""
    terms: dict[str, str] = msgspec.field(
        default_factory=lambda: {
            "Due on receipt": "1",
            "Net 15": "2",
            "Net 30": "3",
            "Net 45": "4",
            "Net 60": "5",
            "Net 90": "6",
        }
    )
    """Term name → term internal id."""
    base_currency: str = "USD"
    """Currency of item base prices (the parent subsidiary's)."""

    def currency_id(self, code: str, pointer: str = "/currency") -> str:
        """The internal id of a currency; InvalidInput naming ``pointer`` when the account lacks it."""
        found = self.currencies.get(code)
        if found is None:
            raise InvalidInput(
                f"currency {code} is not enabled in the ERP",
                field_errors=[
                    {"in": "body", "pointer": pointer, "detail": f"currency {code} is not enabled in the ERP"}
                ],
            )
        return found

    def currency_code(self, ref: Any) -> str | None:
        """The ISO code of a currency reference (``{"id"}`` or a bare id)."""
        ref_id = _ref_id(ref)
        for code, internal in self.currencies.items():
            if internal == ref_id:
                return code
        name = ref.get("refName") if isinstance(ref, dict) else None
        return str(name) if isinstance(name, str) and len(name) == 3 else None

    def account_id(self, number: str, pointer: str) -> str:
        """The internal id of a GL account; InvalidInput naming ``pointer`` when unknown."""
        found = self.accounts.get(number)
        if found is None:
            detail = f"account {number} is not in the ERP's chart of accounts"
            raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": pointer, "detail": detail}])
        return found

    def account_number(self, ref: Any) -> str:
        """The GL account number of an account reference."""
        ref_id = _ref_id(ref)
        for number, internal in self.accounts.items():
            if internal == ref_id:
                return number
        name = ref.get("refName") if isinstance(ref, dict) else None
        if isinstance(name, str) and name.split():
            return name.split()[0]
        return ref_id or ""


DEFAULT_LISTS = NetSuiteLists()


# -- reading helpers -----------------------------------------------------------------------------
def _ref_id(ref: Any) -> str | None:
    if isinstance(ref, dict):
        value = ref.get("id")
        return str(value) if value not in (None, "") else None
    return str(ref) if ref not in (None, "") else None


def _text(record: Record, name: str) -> str | None:
    value = record.get(name)
    return str(value) if value not in (None, "") else None


def _require(record: Record, name: str, kind: str) -> Any:
    value = record.get(name)
    if value in (None, ""):
        raise UpstreamContractViolation(f"NetSuite {kind} lacks '{name}'")
    return value


def parse_date(value: Any, field: str = "date") -> dt.date:
    """``YYYY-MM-DD`` (REST records) or ``M/D/YYYY`` (SuiteQL rows)."""
    if isinstance(value, str):
        text = value.strip()[:10] if "T" in value else value.strip()
        for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                continue
    raise UpstreamContractViolation(f"NetSuite {field} {value!r} is not a date")


def _optional_date(value: Any, field: str) -> dt.date | None:
    return None if value in (None, "") else parse_date(value, field)


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            stamp = dt.datetime.strptime(value.split()[0], "%m/%d/%Y")
        except ValueError:
            return None
    return stamp.replace(tzinfo=dt.UTC) if stamp.tzinfo is None else stamp.astimezone(dt.UTC)


def _decimal(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise UpstreamContractViolation(f"NetSuite {field} {value!r} is not a number") from None


def _money(value: Any, currency: str, field: str) -> Money:
    amount = _decimal(value if value not in (None, "") else 0, field).quantize(CENT)
    return Money.of(amount, currency)


def _rate(value: Any, currency: str) -> Money:
    """A unit price: two decimals at least, more when the rate has them (up to six)."""
    number = _decimal(value if value not in (None, "") else 0, "rate").quantize(Decimal("0.000001"))
    money = number.quantize(CENT) if number == number.quantize(CENT) else number.normalize()
    return Money.of(money, currency)


def _quantity(value: Any) -> str:
    number = _decimal(value if value not in (None, "") else 1, "quantity").normalize()
    return format(number, "f")


def _status(record: Record) -> ErpDocumentStatus:
    raw = record.get("status")
    name = raw.get("refName") if isinstance(raw, dict) else raw
    return STATUSES.get(str(name or "").lower(), "open")


def _sublist(record: Record, name: str) -> list[Record]:
    value = record.get(name)
    items = value.get("items") if isinstance(value, dict) else value
    return [line for line in items or [] if isinstance(line, dict)]


def _currency(record: Record, lists: NetSuiteLists) -> str:
    code = lists.currency_code(record.get("currency"))
    if code is None:
        raise UpstreamContractViolation("NetSuite transaction lacks a known 'currency'")
    return code


def _lines(record: Record, currency: str) -> list[DocumentLine]:
    lines = []
    for line in _sublist(record, "item"):
        item = line.get("item")
        item_id = _ref_id(item)
        if item_id is None:
            raise UpstreamContractViolation("NetSuite item line lacks 'item'")
        quantity = _quantity(line.get("quantity"))
        rate = _rate(line.get("rate"), currency)
        amount = line.get("amount")
        if amount in (None, ""):
            amount = Decimal(quantity) * rate.decimal()
        code = item.get("refName") if isinstance(item, dict) else None
        lines.append(
            DocumentLine(
                item_id=item_id,
                item_code=str(code) if code else None,
                description=_text(line, "description"),
                quantity=quantity,
                unit_price=rate,
                amount=_money(amount, currency, "amount"),
            )
        )
    return lines


# -- master data ---------------------------------------------------------------------------------
def to_legal_entity(row: Record, lists: NetSuiteLists) -> LegalEntity:
    """A ``subsidiary`` SuiteQL row (or record) → LegalEntity."""
    return LegalEntity(
        id=str(_require(row, "id", "subsidiary")),
        name=str(_require(row, "name", "subsidiary")),
        currency=lists.currency_code(row.get("currency")) or lists.base_currency,
        country=_text(row, "country"),
        parent_id=_ref_id(row.get("parent")),
    )


def to_period(row: Record) -> AccountingPeriod:
    """An ``accountingperiod`` SuiteQL row → AccountingPeriod."""
    return AccountingPeriod(
        id=str(_require(row, "id", "accounting period")),
        name=str(row.get("periodname") or row.get("periodName") or ""),
        start_date=parse_date(row.get("startdate") or row.get("startDate"), "startDate"),
        end_date=parse_date(row.get("enddate") or row.get("endDate"), "endDate"),
        closed=str(row.get("closed", "F")).upper() in ("T", "TRUE"),
    )


def to_recognized_revenue(schedule: Record, period: AccountingPeriod, currency: str) -> list[RecognizedRevenue]:
    """A ``revRecSchedule`` record (sublists expanded) → what it recognises in ``period``.

    The schedule's ``recurrence`` lines each name a posting period and an amount; the source
    transaction and its customer are the schedule's ``sourceTran`` and ``entity`` (GUESSED names,
    see the sandbox's ``revRecSchedule``).
    """
    lines = (schedule.get("recurrence") or {}).get("items") or []
    amount = sum(
        (
            _decimal(line.get("amount") or 0, "amount")
            for line in lines
            if _ref_id(line.get("postingPeriod")) == period.id
        ),
        Decimal(0),
    )
    if not any(_ref_id(line.get("postingPeriod")) == period.id for line in lines):
        return []
    return [
        RecognizedRevenue(
            period=f"{period.start_date.year:04d}-{period.start_date.month:02d}",
            customer_id=str(_ref_id(_require(schedule, "entity", "revRecSchedule"))),
            invoice_id=source_transaction(schedule),
            amount=_money(amount, currency, "amount"),
        )
    ]


def source_transaction(schedule: Record) -> str:
    """The internal id of the transaction a revenue recognition schedule comes from."""
    return str(_ref_id(_require(schedule, "sourceTran", "revRecSchedule")))


def currency_of(record: Record, lists: NetSuiteLists) -> str:
    """The ISO code of a transaction's currency."""
    return _currency(record, lists)


def to_item(row: Record, lists: NetSuiteLists) -> Item:
    """An ``item`` SuiteQL row or a ``serviceSaleItem`` record → Item."""
    code = row.get("itemid") or row.get("itemId")
    price = row.get("baseprice") if "baseprice" in row else row.get("basePrice")
    return Item(
        id=str(_require(row, "id", "item")),
        code=str(code or ""),
        name=str(row.get("displayname") or row.get("displayName") or code or ""),
        description=_text(row, "description"),
        unit_price=None if price in (None, "") else _money(price, lists.base_currency, "basePrice"),
    )


CUSTOMER_COLUMNS = {
    "id": "id",
    "externalid": "externalId",
    "entityid": "entityId",
    "companyname": "companyName",
    "subsidiary": "subsidiary",
    "currency": "currency",
    "email": "email",
    "url": "url",
    "vatregnumber": "vatRegNumber",
    "city": "city",
    "country": "country",
    "parent": "parent",
    "terms": "terms",
    "lastmodifieddate": "lastModifiedDate",
}
"""SuiteQL ``customer`` columns → REST field names (a reference column holds the target's id)."""


def customer_row_to_record(row: Record) -> Record:
    """A SuiteQL customer row in the shape of a REST customer record."""
    return {field: row[column] for column, field in CUSTOMER_COLUMNS.items() if row.get(column) not in (None, "")}


def to_customer(record: Record, lists: NetSuiteLists) -> ErpCustomer:
    """A ``customer`` record → ErpCustomer."""
    city, country = _text(record, "city"), _text(record, "country")
    terms = record.get("terms")
    term_name = terms.get("refName") if isinstance(terms, dict) else None
    if term_name is None:
        term_id = _ref_id(terms)
        term_name = next((name for name, internal in lists.terms.items() if internal == term_id), None)
    return ErpCustomer(
        id=str(_require(record, "id", "customer")),
        external_id=_text(record, "externalId"),
        number=_text(record, "entityId"),
        name=str(record.get("companyName") or record.get("entityId") or ""),
        legal_entity_id=_ref_id(record.get("subsidiary")),
        currency=lists.currency_code(record.get("currency")),
        tax_id=_text(record, "vatRegNumber"),
        email=_text(record, "email"),
        domain=_domain(_text(record, "url")),
        billing_address=Address(city=city, country=country) if city or country else None,
        parent_id=_ref_id(record.get("parent")),
        payment_terms=TERMS_BY_NAME.get(str(term_name).lower()) if term_name else None,
        updated_at=_timestamp(record.get("lastModifiedDate")),
    )


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = url.split("://", 1)[-1].split("/", 1)[0]
    return host.removeprefix("www.") or None


def from_customer_upsert(upsert: ErpCustomerUpsert, lists: NetSuiteLists, subsidiary_id: str | None) -> Record:
    """The body of ``PUT /customer/eid:<externalId>``; fields left ``None`` are not sent (not cleared)."""
    body: Record = {"companyName": upsert.name}
    if subsidiary_id is not None:
        body["subsidiary"] = {"id": subsidiary_id}
    if upsert.currency is not None:
        body["currency"] = {"id": lists.currency_id(upsert.currency)}
    optional = {"vatRegNumber": upsert.tax_id, "email": upsert.email}
    body.update({key: value for key, value in optional.items() if value is not None})
    if upsert.domain is not None:
        body["url"] = f"https://{upsert.domain}"
    if upsert.billing_address is not None:
        if upsert.billing_address.city is not None:
            body["city"] = upsert.billing_address.city
        if upsert.billing_address.country is not None:
            body["country"] = upsert.billing_address.country
    if upsert.parent_id is not None:
        body["parent"] = {"id": upsert.parent_id}
    if upsert.payment_terms is not None:
        name = TERMS[upsert.payment_terms]
        term_id = lists.terms.get(name)
        if term_id is None:
            detail = f"payment terms {upsert.payment_terms} are not set up in the ERP"
            raise InvalidInput(detail, field_errors=[{"in": "body", "pointer": "/payment_terms", "detail": detail}])
        body["terms"] = {"id": term_id}
    return body


# -- documents -----------------------------------------------------------------------------------
def _item_lines(lines: Sequence[DocumentLineInput]) -> Record:
    items = []
    for line in lines:
        entry: Record = {"item": {"id": line.item_id}, "quantity": float(line.quantity), "rate": float(line.unit_price)}
        if line.description is not None:
            entry["description"] = line.description
        period = service_period(line)
        if period is not None:  # the item's rev rec template runs over these dates instead of its own term
            entry["revRecStartDate"], entry["revRecEndDate"] = period[0].isoformat(), period[1].isoformat()
        items.append(entry)
    return {"items": items}


def _sale(
    external_id: str, customer_id: str, date: dt.date, currency: str, memo: str | None, lists: NetSuiteLists
) -> Record:
    body: Record = {
        "externalId": external_id,
        "entity": {"id": customer_id},
        "tranDate": date.isoformat(),
        "currency": {"id": lists.currency_id(currency)},
    }
    if memo is not None:
        body["memo"] = memo
    return body


def from_sales_order(order: SalesOrderCreate, lists: NetSuiteLists) -> Record:
    """The body of ``POST /salesOrder``."""
    body = _sale(order.external_id, order.customer_id, order.date, order.currency, order.memo, lists)
    body["item"] = _item_lines(order.lines)
    return body


def from_invoice(invoice: InvoiceCreate, lists: NetSuiteLists) -> Record:
    """The body of ``POST /invoice`` or of ``!transform/invoice`` from the sales order."""
    body = _sale(invoice.external_id, invoice.customer_id, invoice.date, invoice.currency, invoice.memo, lists)
    body["item"] = _item_lines(invoice.lines)
    if invoice.due_date is not None:
        body["dueDate"] = invoice.due_date.isoformat()
    return body


def from_credit_memo(memo: CreditMemoCreate, lists: NetSuiteLists) -> Record:
    """The body of ``POST /creditMemo`` or of ``!transform/creditMemo`` from the invoice."""
    body = _sale(memo.external_id, memo.customer_id, memo.date, memo.currency, memo.memo, lists)
    body["item"] = _item_lines(memo.lines)
    return body


def from_payment(payment: CustomerPaymentCreate, lists: NetSuiteLists) -> Record:
    """The body of ``POST /customerPayment`` with its ``apply`` lines."""
    return {
        "externalId": payment.external_id,
        "customer": {"id": payment.customer_id},
        "tranDate": payment.date.isoformat(),
        "currency": {"id": lists.currency_id(payment.currency)},
        "payment": float(payment.amount),
        "apply": {
            "items": [
                {"doc": {"id": a.invoice_id}, "amount": float(a.amount), "apply": True} for a in payment.applications
            ]
        },
    }


def from_journal_entry(entry: JournalEntryCreate, lists: NetSuiteLists) -> Record:
    """The body of ``POST /journalEntry`` with its ``line`` sublist."""
    lines = []
    for index, line in enumerate(entry.lines):
        out: Record = {"account": {"id": lists.account_id(line.account, f"/lines/{index}/account")}}
        if line.debit is not None:
            out["debit"] = float(line.debit)
        if line.credit is not None:
            out["credit"] = float(line.credit)
        if line.memo is not None:
            out["memo"] = line.memo
        lines.append(out)
    body: Record = {
        "externalId": entry.external_id,
        "subsidiary": {"id": entry.legal_entity_id},
        "tranDate": entry.date.isoformat(),
        "currency": {"id": lists.currency_id(entry.currency)},
        "line": {"items": lines},
    }
    if entry.memo is not None:
        body["memo"] = entry.memo
    return body


def to_sales_order(record: Record, lists: NetSuiteLists) -> SalesOrder:
    """A ``salesOrder`` record (sublists expanded) → SalesOrder."""
    currency = _currency(record, lists)
    return SalesOrder(
        id=str(_require(record, "id", "sales order")),
        external_id=_text(record, "externalId"),
        number=_text(record, "tranId"),
        customer_id=str(_ref_id(_require(record, "entity", "sales order"))),
        legal_entity_id=_ref_id(record.get("subsidiary")),
        date=parse_date(_require(record, "tranDate", "sales order"), "tranDate"),
        currency=currency,
        status=_status(record),
        lines=_lines(record, currency),
        total=_money(record.get("total"), currency, "total"),
    )


CANCELLABLE: frozenset[ErpDocumentStatus] = frozenset({"open", "pending_approval"})
"""Canonical statuses of an order whose lines may still be closed (billed, paid: too late)."""


def close_lines(record: Record) -> Record | None:
    """The PATCH body closing every open item line of a ``salesOrder`` (by the keyed sublist's
    ``line``), or None when the order is closed already. A billed order is refused (409)."""
    status = _status(record)
    lines = _sublist(record, "item")
    still_open = [line for line in lines if not line.get("isClosed")]
    if status == "closed" or (lines and not still_open):
        return None
    if status not in CANCELLABLE:
        raise Conflict(
            f"Sales order {record.get('tranId') or record.get('id')} is {status}; NetSuite closes the lines of an "
            "order not yet billed. Credit the invoice instead.",
            vendor_code="order_billed",
        )
    if any(not isinstance(line.get("line"), int) for line in still_open):
        raise UpstreamContractViolation("NetSuite sales order item line lacks its 'line' key")
    return {"item": {"items": [{"line": line["line"], "isClosed": True} for line in still_open]}}


def to_invoice(record: Record, lists: NetSuiteLists) -> Invoice:
    """An ``invoice`` record (sublists expanded) → Invoice."""
    currency = _currency(record, lists)
    total = _money(record.get("total"), currency, "total")
    remaining = record.get("amountRemaining")
    due = total if remaining in (None, "") else _money(remaining, currency, "amountRemaining")
    status = _status(record)
    if status == "open" and Decimal(0) < due.decimal() < total.decimal():
        status = "partially_paid"
    return Invoice(
        id=str(_require(record, "id", "invoice")),
        external_id=_text(record, "externalId"),
        number=_text(record, "tranId"),
        customer_id=str(_ref_id(_require(record, "entity", "invoice"))),
        legal_entity_id=_ref_id(record.get("subsidiary")),
        sales_order_id=_ref_id(record.get("createdFrom")),
        date=parse_date(_require(record, "tranDate", "invoice"), "tranDate"),
        due_date=_optional_date(record.get("dueDate"), "dueDate"),
        currency=currency,
        status=status,
        lines=_lines(record, currency),
        total=total,
        amount_due=due,
    )


def to_payment(record: Record, lists: NetSuiteLists) -> CustomerPayment:
    """A ``customerPayment`` record (sublists expanded) → CustomerPayment."""
    currency = _currency(record, lists)
    applications = [
        PaymentApplication(
            invoice_id=str(_ref_id(line.get("doc"))), amount=_money(line.get("amount"), currency, "amount").amount
        )
        for line in _sublist(record, "apply")
        if line.get("apply", True) is not False and _ref_id(line.get("doc")) is not None
    ]
    return CustomerPayment(
        id=str(_require(record, "id", "customer payment")),
        external_id=_text(record, "externalId"),
        customer_id=str(_ref_id(_require(record, "customer", "customer payment"))),
        date=parse_date(_require(record, "tranDate", "customer payment"), "tranDate"),
        amount=_money(record.get("payment"), currency, "payment"),
        applications=applications,
    )


def to_credit_memo(record: Record, lists: NetSuiteLists) -> CreditMemo:
    """A ``creditMemo`` record (sublists expanded) → CreditMemo."""
    currency = _currency(record, lists)
    return CreditMemo(
        id=str(_require(record, "id", "credit memo")),
        external_id=_text(record, "externalId"),
        number=_text(record, "tranId"),
        customer_id=str(_ref_id(_require(record, "entity", "credit memo"))),
        invoice_id=_ref_id(record.get("createdFrom")),
        date=parse_date(_require(record, "tranDate", "credit memo"), "tranDate"),
        currency=currency,
        lines=_lines(record, currency),
        total=_money(record.get("total"), currency, "total"),
    )


def to_journal_entry(record: Record, lists: NetSuiteLists) -> JournalEntry:
    """A ``journalEntry`` record (sublists expanded) → JournalEntry."""
    currency = _currency(record, lists)
    lines = []
    for line in _sublist(record, "line"):
        debit, credit = line.get("debit"), line.get("credit")
        lines.append(
            JournalLine(
                account=lists.account_number(line.get("account")),
                debit=None if debit in (None, "") else _money(debit, currency, "debit").amount,
                credit=None if credit in (None, "") else _money(credit, currency, "credit").amount,
                memo=_text(line, "memo"),
            )
        )
    return JournalEntry(
        id=str(_require(record, "id", "journal entry")),
        external_id=_text(record, "externalId"),
        number=_text(record, "tranId"),
        legal_entity_id=_ref_id(record.get("subsidiary")),
        date=parse_date(_require(record, "tranDate", "journal entry"), "tranDate"),
        currency=currency,
        memo=_text(record, "memo"),
        lines=lines,
    )


# -- errors --------------------------------------------------------------------------------------
def field_pointer(error_path: str) -> str:
    """Our JSON Pointer for NetSuite's ``o:errorPath`` (``item.items[0].item`` → ``/lines/0/item_id``)."""
    head, _, rest = error_path.partition(".items[")
    if rest:
        index, _, tail = rest.partition("]")
        field = tail.lstrip(".").split(".")[0]
        name = LINE_PATHS.get((head, field), field)
        return f"/{LINE_LISTS.get(head, head)}/{index}" + (f"/{name}" if name else "")
    return VENDOR_PATHS.get(head, f"/{head}")

"""Business Central entities ↔ canonical ERP objects: the only place BC's property names meet ours.

Ids: BC keeps every entity inside a company, so a canonical id is the company GUID's 32 hex
digits followed by the entity GUID's (64 characters, letters and digits only: what the ERP
contract's id pattern allows); a payment's entity is its payment journal batch, a journal entry's
its document number (after the company's 32 digits). A sales order's is its number in base32
(:func:`order_token`): BC deletes an order once ``shipAndInvoice`` has fully invoiced it, and
its posted invoice is then found by ``orderNumber``, so the number must outlive the order.

Keys: BC has no external-id field and no idempotency header, so business keys travel in
``externalDocumentNumber`` (Code[35]) on documents and in the customer ``number`` (Code[20]).
BC stores Code fields upper-case, so ``abc`` and ``ABC`` would be one key there and ``abc`` would
come back as ``ABC``. Every key is therefore upper-case when written, and different external ids
never share one: an ASCII external id is written case-encoded (:func:`case_encoded`; an
upper-case one stays as it is), which reads back exactly; one that does not fit (or is not
ASCII) is a code derived from it (``X`` + base32 of its SHA-256), which cannot be read back
(``external_id`` is then None on reads). Codes read back are compared case-insensitively
(:func:`same_code`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from apis.canonical import (
    AccountingPeriod,
    Address,
    CreditMemo,
    CustomerPayment,
    DocumentLine,
    ErpCustomer,
    ErpCustomerUpsert,
    ErpDocumentStatus,
    Invoice,
    Item,
    JournalEntry,
    JournalLine,
    LegalEntity,
    Money,
    PaymentApplication,
    PaymentTerms,
    SalesOrder,
)
from core.errors import NotFound, UpstreamContractViolation

CENT = Decimal("0.01")
CUSTOMER_NUMBER_LENGTH = 20
DOCUMENT_KEY_LENGTH = 35
TERMS_DAYS: dict[PaymentTerms, str] = {
    "due_on_receipt": "0D",
    "net_15": "15D",
    "net_30": "30D",
    "net_45": "45D",
    "net_60": "60D",
    "net_90": "90D",
}
"""Canonical terms by BC's ``dueDateCalculation`` (terms codes differ per tenant; the formula does not)."""
TERMS_BY_FORMULA = {formula: terms for terms, formula in TERMS_DAYS.items()}


# -- ids and keys --------------------------------------------------------------------------------
def compose(company_id: str, entity_id: str) -> str:
    """A canonical id: the company GUID's 32 hex digits, then the entity GUID's (or a document number)."""
    return company_id.replace("-", "").lower() + (
        entity_id.replace("-", "").lower() if _is_guid(entity_id) else entity_id
    )


def split(value: str, *, guid: bool = True) -> tuple[str, str]:
    """(company GUID, entity GUID or document number) of a canonical id; NotFound when it cannot be ours."""
    company, entity = value[:32].lower(), value[32:]
    if len(company) != 32 or not _is_hex(company) or not entity:
        raise NotFound(f"No object with id {value}")
    if guid:
        if len(entity) != 32 or not _is_hex(entity):
            raise NotFound(f"No object with id {value}")
        return _dashed(company), _dashed(entity.lower())
    if not entity.isalnum() or not entity.isascii():
        raise NotFound(f"No object with id {value}")
    return _dashed(company), entity


def order_token(number: str) -> str:
    """The entity part of a sales order's canonical id: its number (Code[20]) in unpadded base32."""
    return base64.b32encode(number.upper().encode()).decode().rstrip("=")


def order_number(token: str) -> str:
    """The order number a token carries; NotFound when it carries none."""
    try:
        number = base64.b32decode(token.upper() + "=" * (-len(token) % 8)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise NotFound(f"No sales order {token}") from None
    if not number or len(number) > CUSTOMER_NUMBER_LENGTH or not number.isprintable():
        raise NotFound(f"No sales order {token}")
    return number


def order_id(company_id: str, number: str) -> str:
    """The canonical id of the sales order numbered ``number``."""
    return compose(company_id, order_token(number))


def _is_hex(value: str) -> bool:
    return all(c in "0123456789abcdef" for c in value.lower())


def _dashed(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:]}"


def _is_guid(value: str) -> bool:
    parts = value.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and _is_hex("".join(parts))


def _digest(value: str, length: int) -> str:
    return base64.b32encode(hashlib.sha256(value.encode()).digest()).decode()[:length]


CASED, ESCAPE = "~", "^"
"""The mark of a key written lower-case by default, and the escape of a letter of the other case."""


def case_encoded(external_id: str) -> str:
    """``external_id`` as an upper-case code that reads back exactly (ASCII only).

    Two forms, the shorter wins: upper-case by default (each lower-case letter, ``^`` and ``~``
    preceded by ``^``: ``001Qy`` → ``001Q^Y``), or ``~`` then lower-case by default (each
    upper-case letter and ``^`` preceded by ``^``: ``inv-Ab`` → ``~INV-^AB``).
    """
    upper = "".join(ESCAPE + c.upper() if c.islower() or c in (ESCAPE, CASED) else c for c in external_id)
    lower = CASED + "".join(ESCAPE + c if c.isupper() or c == ESCAPE else c.upper() for c in external_id)
    return upper if len(upper) <= len(lower) else lower


def _as_code(external_id: str, length: int) -> str:
    """The upper-case Code value of at most ``length`` characters that carries ``external_id``."""
    if external_id.isascii():
        encoded = case_encoded(external_id)
        if len(encoded) <= length and not _looks_derived(encoded, length):
            return encoded
    return "X" + _digest(external_id, length - 1)


def _from_code(code: str | None, length: int) -> str | None:
    """The external id a Code value carries (read case-insensitively); None for a derived code."""
    if not code or _looks_derived(code.upper(), length):
        return None
    lower_default = code.startswith(CASED)
    out, escaped = [], False
    for char in code[1:] if lower_default else code:
        if escaped:
            out.append(char.upper() if lower_default else char.lower())
            escaped = False
        elif char == ESCAPE:
            escaped = True
        else:
            out.append(char.lower() if lower_default else char.upper())
    return "".join(out)


def _looks_derived(code: str, length: int) -> bool:
    return len(code) == length and code.startswith("X")


def same_code(left: str | None, right: str | None) -> bool:
    """Whether two Code values are the same in BC (which compares them case-insensitively)."""
    return left is not None and right is not None and left.upper() == right.upper()


def customer_number(external_id: str) -> str:
    """The BC customer number (Code[20]) carrying ``external_id``."""
    return _as_code(external_id, CUSTOMER_NUMBER_LENGTH)


def external_id_of_number(number: str | None) -> str | None:
    """The external id a customer number carries, when it is not a derived code."""
    return _from_code(number, CUSTOMER_NUMBER_LENGTH)


def external_id_of_key(key: str | None) -> str | None:
    """The external id an ``externalDocumentNumber`` carries, when it is not a derived code."""
    return _from_code(key, DOCUMENT_KEY_LENGTH)


def document_key(external_id: str) -> str:
    """``externalDocumentNumber`` (Code[35]) carrying ``external_id``."""
    return _as_code(external_id, DOCUMENT_KEY_LENGTH)


def batch_code(prefix: str, external_id: str) -> str:
    """A journal batch code (Code[10]) derived from a business key: one batch per posting."""
    return prefix + _digest(external_id, 9)


def odata_text(value: str) -> str:
    """A text literal for ``$filter`` (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


# -- values --------------------------------------------------------------------------------------
def required(record: dict[str, Any], name: str) -> Any:
    """A property the canonical object needs; UpstreamContractViolation when absent."""
    value = record.get(name)
    if value is None or value == "":
        raise UpstreamContractViolation(f"Business Central entity lacks {name}")
    return value


def date(record: dict[str, Any], name: str) -> dt.date:
    """A date property."""
    raw = required(record, name)
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise UpstreamContractViolation(f"Business Central {name} is not a date: {raw!r}") from None


def optional_date(record: dict[str, Any], name: str) -> dt.date | None:
    """A date property that may be absent (BC writes ``0001-01-01`` for an empty date)."""
    raw = record.get(name)
    if not raw or str(raw).startswith("0001-01-01"):
        return None
    return date(record, name)


def money(value: Any, currency: str) -> Money:
    """A BC decimal as Money (rounded to cents)."""
    if value is None or isinstance(value, bool):
        raise UpstreamContractViolation("Business Central amount missing")
    return Money.of(Decimal(str(value)).quantize(CENT), currency)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _decimal_text(value: Any) -> str:
    number = Decimal(str(value if value is not None else 0))
    return format(number.normalize() if number == number.to_integral_value() else number, "f")


def currency_of(record: dict[str, Any], fallback: str) -> str:
    """A document's currency (BC leaves ``currencyCode`` empty for the local currency)."""
    return str(record.get("currencyCode") or fallback).upper()


# -- master data -----------------------------------------------------------------------------------
def legal_entity(company: dict[str, Any], information: dict[str, Any]) -> LegalEntity:
    """A BC company and its company information."""
    return LegalEntity(
        id=str(required(company, "id")),
        name=str(company.get("displayName") or required(company, "name")),
        currency=str(required(information, "currencyCode")).upper(),
        country=_text(information.get("country")),
        parent_id=None,
    )


def accounting_periods(company_id: str, records: list[dict[str, Any]], last_day: dt.date) -> list[AccountingPeriod]:
    """BC periods (only starting dates) → monthly periods with end dates, in date order."""
    ordered = sorted(records, key=lambda r: str(required(r, "startingDate")))
    periods = []
    for index, record in enumerate(ordered):
        start = date(record, "startingDate")
        end = date(ordered[index + 1], "startingDate") - dt.timedelta(days=1) if index + 1 < len(ordered) else last_day
        periods.append(
            AccountingPeriod(
                id=compose(company_id, str(required(record, "id"))),
                name=start.strftime("%b %Y"),
                start_date=start,
                end_date=end,
                closed=bool(record.get("closed") or record.get("dateLocked")),
            )
        )
    return periods


def item(company_id: str, record: dict[str, Any], currency: str) -> Item:
    """A BC item."""
    price = record.get("unitPrice")
    return Item(
        id=compose(company_id, str(required(record, "id"))),
        code=str(required(record, "number")),
        name=str(required(record, "displayName")),
        description=_text(record.get("displayName2")),
        unit_price=money(price, currency) if price is not None else None,
    )


def customer(company_id: str, record: dict[str, Any], terms: dict[str, str], external_id: str | None) -> ErpCustomer:
    """A BC customer; ``terms`` maps payment-terms ids to ``dueDateCalculation``."""
    address = Address(
        line1=_text(record.get("addressLine1")),
        line2=_text(record.get("addressLine2")),
        city=_text(record.get("city")),
        region=_text(record.get("state")),
        postal_code=_text(record.get("postalCode")),
        country=_text(record.get("country")),
    )
    stamp = record.get("lastModifiedDateTime")
    try:
        updated = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(dt.UTC) if stamp else None
    except ValueError:
        raise UpstreamContractViolation(f"Business Central lastModifiedDateTime is not a datetime: {stamp!r}") from None
    number = _text(record.get("number"))
    website = _text(record.get("website"))
    return ErpCustomer(
        id=compose(company_id, str(required(record, "id"))),
        external_id=external_id if external_id is not None else external_id_of_number(number),
        number=number,
        name=str(required(record, "displayName")),
        legal_entity_id=company_id,
        currency=_text(record.get("currencyCode")),
        tax_id=_text(record.get("taxRegistrationNumber")),
        email=_text(record.get("email")),
        domain=_domain(website),
        billing_address=address if any(_address_values(address)) else None,
        parent_id=None,
        payment_terms=TERMS_BY_FORMULA.get(terms.get(str(record.get("paymentTermsId") or ""), "")),
        updated_at=updated,
    )


def _domain(website: str | None) -> str | None:
    """The host of a website (``https://www.acme.test/about`` → ``acme.test``), if it looks like one."""
    if not website:
        return None
    host = website.split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].removeprefix("www.").lower()
    return host if host and all(c.isalnum() or c in ".-" for c in host) and host.isascii() else None


def _address_values(address: Address) -> list[str | None]:
    """The address's values (an address of nothing but empty fields is no address)."""
    return [address.line1, address.line2, address.city, address.region, address.postal_code, address.country]


def customer_body(upsert: ErpCustomerUpsert, terms_id: str | None) -> dict[str, Any]:
    """Properties of a customer insert or update (the number is added by the caller on insert)."""
    body: dict[str, Any] = {"displayName": upsert.name}
    optional = {
        "currencyCode": upsert.currency,
        "taxRegistrationNumber": upsert.tax_id,
        "email": upsert.email,
        "website": upsert.domain,
        "paymentTermsId": terms_id,
    }
    if upsert.billing_address is not None:
        address = upsert.billing_address
        optional.update(
            addressLine1=address.line1,
            addressLine2=address.line2,
            city=address.city,
            state=address.region,
            postalCode=address.postal_code,
            country=address.country,
        )
    body.update({key: value for key, value in optional.items() if value is not None})
    return body


# -- documents -----------------------------------------------------------------------------------
def lines(company_id: str, records: list[dict[str, Any]], currency: str) -> list[DocumentLine]:
    """Document lines in sequence order."""
    ordered = sorted(records, key=lambda r: int(r.get("sequence") or 0))
    return [
        DocumentLine(
            item_id=compose(company_id, str(required(line, "itemId"))),
            item_code=_text(line.get("lineObjectNumber")),
            description=_text(line.get("description")),
            quantity=_decimal_text(required(line, "quantity")),
            unit_price=money(required(line, "unitPrice"), currency),
            amount=money(line.get("amountExcludingTax") or line.get("netAmount") or 0, currency),
        )
        for line in ordered
    ]


def _external(record: dict[str, Any], given: str | None) -> str | None:
    return given if given is not None else external_id_of_key(_text(record.get("externalDocumentNumber")))


def order_status(record: dict[str, Any], invoiced: bool) -> ErpDocumentStatus:
    """BC order statuses (Draft, In Review, Open, Released) and whether it was invoiced."""
    if invoiced or record.get("fullyShipped"):
        return "billed"
    return "pending_approval" if record.get("status") == "In Review" else "open"


def sales_order(
    company_id: str, record: dict[str, Any], fallback_currency: str, *, invoiced: bool, external_id: str | None = None
) -> SalesOrder:
    """A BC sales order with its ``salesOrderLines``."""
    currency = currency_of(record, fallback_currency)
    return SalesOrder(
        id=order_id(company_id, str(required(record, "number"))),
        external_id=_external(record, external_id),
        number=_text(record.get("number")),
        customer_id=compose(company_id, str(required(record, "customerId"))),
        legal_entity_id=company_id,
        date=date(record, "orderDate"),
        currency=currency,
        status=order_status(record, invoiced),
        lines=lines(company_id, record.get("salesOrderLines") or [], currency),
        total=money(record.get("totalAmountExcludingTax") or 0, currency),
    )


def invoice_status(record: dict[str, Any]) -> ErpDocumentStatus:
    """Draft → pending approval; Open (partly paid or not), Paid; Canceled/Corrective → void."""
    status = record.get("status")
    if status == "Draft" or status == "In Review":
        return "pending_approval"
    if status == "Paid":
        return "paid"
    if status in ("Canceled", "Corrective"):
        return "void"
    total = Decimal(str(record.get("totalAmountIncludingTax") or 0))
    remaining = Decimal(str(record.get("remainingAmount") or 0))
    return "partially_paid" if 0 < remaining < total else "open"


def invoice(company_id: str, record: dict[str, Any], fallback_currency: str, external_id: str | None = None) -> Invoice:
    """A BC sales invoice with its ``salesInvoiceLines``."""
    currency = currency_of(record, fallback_currency)
    order = _text(record.get("orderNumber"))
    return Invoice(
        id=compose(company_id, str(required(record, "id"))),
        external_id=_external(record, external_id),
        number=_text(record.get("number")),
        customer_id=compose(company_id, str(required(record, "customerId"))),
        legal_entity_id=company_id,
        sales_order_id=order_id(company_id, order) if order else None,
        date=date(record, "invoiceDate"),
        due_date=optional_date(record, "dueDate"),
        currency=currency,
        status=invoice_status(record),
        lines=lines(company_id, record.get("salesInvoiceLines") or [], currency),
        total=money(record.get("totalAmountIncludingTax") or 0, currency),
        amount_due=money(record.get("remainingAmount") or 0, currency),
    )


def credit_memo(
    company_id: str, record: dict[str, Any], fallback_currency: str, external_id: str | None = None
) -> CreditMemo:
    """A BC sales credit memo with its ``salesCreditMemoLines``."""
    currency = currency_of(record, fallback_currency)
    invoice_id = _text(record.get("invoiceId"))
    return CreditMemo(
        id=compose(company_id, str(required(record, "id"))),
        external_id=_external(record, external_id),
        number=_text(record.get("number")),
        customer_id=compose(company_id, str(required(record, "customerId"))),
        invoice_id=compose(company_id, invoice_id) if invoice_id and not invoice_id.startswith("00000000") else None,
        date=date(record, "creditMemoDate"),
        currency=currency,
        lines=lines(company_id, record.get("salesCreditMemoLines") or [], currency),
        total=money(record.get("totalAmountIncludingTax") or 0, currency),
    )


def customer_payment(
    company_id: str, journal: dict[str, Any], currency: str, external_id: str | None = None, *, posted: bool = True
) -> CustomerPayment:
    """A payment journal batch holding one payment's lines (one line per invoice applied)."""
    records = journal.get("customerPayments") or []
    if not records:
        raise UpstreamContractViolation("Business Central payment journal without payment lines")
    first = records[0]
    total = sum((Decimal(str(required(r, "amount"))) for r in records), Decimal(0))
    applications = [
        PaymentApplication(
            invoice_id=compose(company_id, str(r["appliesToInvoiceId"])),
            amount=format(Decimal(str(r["amount"])).quantize(CENT), "f"),
        )
        for r in records
        if r.get("appliesToInvoiceId") and not str(r["appliesToInvoiceId"]).startswith("00000000")
    ]
    return CustomerPayment(
        id=compose(company_id, str(required(journal, "id"))),
        external_id=_external(first, external_id),
        customer_id=compose(company_id, str(required(first, "customerId"))),
        date=date(first, "postingDate"),
        amount=money(total, currency),
        applications=applications,
        posted=posted,
    )


def journal_entry(
    company_id: str,
    number: str,
    entries: list[dict[str, Any]],
    currency: str,
    memo: str | None,
    external_id: str | None,
) -> JournalEntry:
    """The G/L entries of one document number as a journal entry."""
    if not entries:
        raise NotFound(f"No journal entry {number}")
    ordered = sorted(entries, key=lambda e: int(e.get("entryNumber") or 0))
    journal_lines = []
    for entry in ordered:
        debit = Decimal(str(entry.get("debitAmount") or 0))
        credit = Decimal(str(entry.get("creditAmount") or 0))
        journal_lines.append(
            JournalLine(
                account=str(required(entry, "accountNumber")),
                debit=format(debit.quantize(CENT), "f") if debit else None,
                credit=format(credit.quantize(CENT), "f") if credit else None,
                memo=_text(entry.get("description")),
            )
        )
    return JournalEntry(
        id=compose(company_id, number),
        external_id=_external(ordered[0], external_id),
        number=number,
        legal_entity_id=company_id,
        date=date(ordered[0], "postingDate"),
        currency=currency,
        memo=memo,
        lines=journal_lines,
    )

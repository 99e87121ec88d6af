"""Oracle Fusion records ↔ canonical ERP objects, ids, business keys and paging positions.

Ids are Oracle's own numeric surrogate keys as decimal strings: ``LegalEntityId``, ``ItemId``,
``PartyId`` (customers), ``HeaderId`` (order-hub orders), ``CustomerTransactionId`` (invoices,
credit memos and draft-receivable orders), ``StandardReceiptId`` (payments), ``JeBatchId``
(journal entries); a period's id is ``<LedgerId>-<PeriodNameId>`` (the LOV's key, less the application).

Business keys (each create's de-duplication key) are derived from the external id: the external
id itself when it fits the attribute and its characters, else ``X`` and a digest of it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import msgspec

from apis.canonical import (
    AccountingPeriod,
    Address,
    DocumentLine,
    ErpCustomer,
    ErpCustomerUpsert,
    Item,
    Money,
    PaymentTerms,
)
from core.cursors import InvalidCursor, as_position
from core.errors import NotFound, UpstreamContractViolation

TRANSACTION_NUMBER_LENGTH = 20
"""``TransactionNumber`` (RA_CUSTOMER_TRX.TRX_NUMBER is 20 characters)."""
RECEIPT_NUMBER_LENGTH = 30
PARTY_NUMBER_LENGTH = 30
BATCH_NAME_LENGTH = 50
SOURCE_NUMBER_LENGTH = 50
TERMS: dict[PaymentTerms, str] = {
    "due_on_receipt": "IMMEDIATE",
    "net_15": "15 NET",
    "net_30": "30 NET",
    "net_45": "45 NET",
    "net_60": "60 NET",
    "net_90": "90 NET",
}
"""Canonical terms by Oracle's seeded payment terms names."""
TERMS_BY_NAME = {name: terms for terms, name in TERMS.items()}
_KEY_CHARACTERS = re.compile(r"^[A-Za-z0-9_.:\-]+$")
CENT = Decimal("0.01")


def key(external_id: str, length: int) -> str:
    """The business key carrying ``external_id`` in an attribute of ``length`` characters."""
    if len(external_id) <= length and _KEY_CHARACTERS.match(external_id) and not external_id.startswith("X~"):
        return external_id
    return "X~" + hashlib.sha256(external_id.encode()).hexdigest()[: length - 2]


def external_of(value: Any) -> str | None:
    """The external id a business key carries (None for a digest)."""
    return str(value) if isinstance(value, str) and value and not value.startswith("X~") else None


def q_text(value: str) -> str:
    """A string literal of a ``q`` row-match expression."""
    return "'" + value.replace("'", "''") + "'"


def number_id(value: str) -> int:
    """One of our ids as Oracle's number; NotFound when it cannot be one."""
    if not value.isdigit() or len(value) > 18:
        raise NotFound(f"No object with id {value}")
    return int(value)


def required(record: Any, name: str) -> Any:
    """``record[name]``, or a contract violation."""
    if not isinstance(record, dict) or record.get(name) is None:
        raise UpstreamContractViolation(f"Oracle Fusion record lacks {name}")
    return record[name]


def decimal(value: Any) -> Decimal:
    """A JSON number or decimal string as a Decimal."""
    try:
        return Decimal(str(value)) if value is not None else Decimal(0)
    except InvalidOperation:
        raise UpstreamContractViolation(f"Oracle Fusion sent a non-number amount {value!r}") from None


def money(value: Any, currency: str) -> Money:
    """An amount rounded to cents."""
    return Money.of(decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), currency)


def amount_text(value: Any) -> str:
    """An amount as a decimal string with cents."""
    return format(decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "f")


def quantity_text(value: Any) -> str:
    """A quantity without trailing zeros (``2``, ``1.5``)."""
    number = abs(decimal(value))
    return str(int(number)) if number == number.to_integral_value() else format(number.normalize(), "f")


def day(record: dict[str, Any], name: str) -> dt.date:
    """A ``"YYYY-MM-DD"`` attribute."""
    try:
        return dt.date.fromisoformat(str(required(record, name))[:10])
    except ValueError:
        raise UpstreamContractViolation(f"Oracle Fusion {name} is not a date") from None


def optional_day(record: dict[str, Any], name: str) -> dt.date | None:
    """A date attribute that may be null."""
    return day(record, name) if record.get(name) else None


def stamp(value: Any) -> dt.datetime | None:
    """An ISO timestamp, if readable."""
    try:
        return dt.datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


# -- master data ----------------------------------------------------------------------------------
def accounting_period(record: dict[str, Any]) -> AccountingPeriod:
    """One ``accountingPeriodStatusLOV`` row; closed unless open (``O``) or future-enterable (``F``)."""
    return AccountingPeriod(
        id=f"{required(record, 'LedgerId')}-{required(record, 'PeriodNameId')}",
        name=str(record["PeriodNameId"]),
        start_date=day(record, "StartDate"),
        end_date=day(record, "EndDate"),
        closed=record.get("ClosingStatus") not in ("O", "F"),
    )


def item(record: dict[str, Any], currency: str) -> Item:
    """One ``itemsV2`` item, priced at its list price in the default ledger's currency."""
    price = record.get("ListPrice")
    return Item(
        id=str(required(record, "ItemId")),
        code=str(required(record, "ItemNumber")),
        name=str(record.get("ItemDescription") or record["ItemNumber"]),
        description=record.get("LongDescription"),
        unit_price=money(price, currency) if price is not None else None,
    )


def customer(record: dict[str, Any], legal_entity_id: str | None, source_system: str) -> ErpCustomer:
    """One ``accounts`` item (its external id is the source-system reference Strata wrote)."""
    has_address = any(record.get(name) for name in ("Address1", "City", "Country", "PostalCode"))
    url = str(record.get("URL") or "")
    domain = re.sub(r"^https?://(www\.)?", "", url).strip("/") or None
    reference = record.get("SourceSystemReferenceValue")
    return ErpCustomer(
        id=str(required(record, "PartyId")),
        external_id=str(reference) if reference and record.get("SourceSystem") == source_system else None,
        number=record.get("PartyNumber"),
        name=str(record.get("OrganizationName") or ""),
        legal_entity_id=legal_entity_id,
        currency=record.get("CurrencyCode"),
        tax_id=record.get("TaxpayerIdentificationNumber"),
        email=record.get("EmailAddress"),
        domain=domain,
        billing_address=Address(
            line1=record.get("Address1"),
            line2=record.get("Address2"),
            city=record.get("City"),
            region=record.get("State"),
            postal_code=record.get("PostalCode"),
            country=record.get("Country"),
        )
        if has_address
        else None,
        parent_id=None,
        payment_terms=TERMS_BY_NAME.get(str(record.get("PaymentTerms") or "").upper()),
        updated_at=stamp(record.get("LastUpdateDate")),
    )


def customer_body(
    external_id: str, upsert: ErpCustomerUpsert, currency: str | None, source_system: str
) -> dict[str, Any]:
    """The ``accounts`` upsert body (``PartyNumber`` is the upsert key)."""
    body: dict[str, Any] = {
        "PartyNumber": key(external_id, PARTY_NUMBER_LENGTH),
        "OrganizationName": upsert.name,
        "SourceSystem": source_system,
        "SourceSystemReferenceValue": external_id,
    }
    optional = {
        "CurrencyCode": currency,
        "TaxpayerIdentificationNumber": upsert.tax_id,
        "EmailAddress": upsert.email,
        "URL": upsert.domain,
        "PaymentTerms": TERMS[upsert.payment_terms] if upsert.payment_terms else None,
    }
    if upsert.billing_address is not None:
        address = upsert.billing_address
        optional.update(
            {
                "Address1": address.line1,
                "Address2": address.line2,
                "City": address.city,
                "State": address.region,
                "PostalCode": address.postal_code,
                "Country": address.country,
            }
        )
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def document_line(
    line: dict[str, Any],
    item_ids: dict[str, str],
    currency: str,
    quantity_field: str = "Quantity",
    price_field: str = "UnitSellingPrice",
    amount_field: str = "LineAmount",
    item_field: str = "ItemNumber",
) -> DocumentLine:
    """A document line (credit memo lines are negative in Oracle: read as positive)."""
    code = line.get(item_field)
    return DocumentLine(
        item_id=item_ids.get(str(code), "") if code else "",
        item_code=str(code) if code else None,
        description=line.get("Description"),
        quantity=quantity_text(line.get(quantity_field)),
        unit_price=money(abs(decimal(line.get(price_field))), currency),
        amount=money(abs(decimal(line.get(amount_field))), currency),
    )


# -- positions --------------------------------------------------------------------------------------
class OraclePosition(msgspec.Struct, frozen=True, array_like=True):
    """Where a list continues: the list's tag and the last id of the page before (keyset paging)."""

    k: str
    after: int


def tag(kind: str, q: str) -> str:
    """The tag of a list (its kind and filter)."""
    return hashlib.sha256(f"{kind}:{q}".encode()).hexdigest()[:24]


def open_position(position: Any, expected_tag: str) -> int | None:
    """The id a list continues after (None: the start); InvalidCursor for another list's position."""
    if position is None:
        return None
    opened = as_position(position, OraclePosition)
    if opened.k != expected_tag or opened.after < 0:
        raise InvalidCursor()
    return opened.after

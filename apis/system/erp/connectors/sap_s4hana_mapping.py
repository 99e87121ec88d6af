"""S/4HANA Cloud records (OData V2 JSON) ↔ canonical ERP objects, and the keys Strata writes.

Ids: a customer is its business partner number, an item its product number, a sales order its
number, an invoice or credit memo its billing document number, a payment or journal entry
``<company code>-<fiscal year>-<accounting document>``, a legal entity its company code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from decimal import Decimal
from typing import Any

from apis.canonical import Address, DocumentLine, ErpCustomer, Item, LegalEntity, Money, PaymentTerms
from core.errors import UpstreamContractViolation

_DATE = re.compile(r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
TERMS: dict[PaymentTerms, str] = {"due_on_receipt": "0001", "net_15": "NT15", "net_30": "NT30", "net_45": "NT45",
                                  "net_60": "NT60", "net_90": "NT90"}  # fmt: skip
"""Canonical payment terms → the tenant's payment terms keys (customizing; these are the sandbox's)."""
TERMS_BACK = {v: k for k, v in TERMS.items()}
TERM_DAYS = {"0001": 0, "NT15": 15, "NT30": 30, "NT45": 45, "NT60": 60, "NT90": 90}
"""Days net of the payment terms keys above (what each key's customizing says in the sandbox's tenant)."""


def key(external_id: str, length: int) -> str:
    """``external_id`` as a field of ``length`` characters: itself when it fits, else a stable digest."""
    if len(external_id) <= length:
        return external_id
    digest = hashlib.sha256(external_id.encode()).hexdigest()
    return f"{external_id[: length - 11]}~{digest[:10]}"


_CUT = re.compile(r"~[0-9a-f]{10}$")


def external_id_of(stored: Any) -> str | None:
    """The external id a key field carries; None for one :func:`key` cut (its digest cannot be read back)."""
    value = str(stored or "")
    return None if not value or _CUT.search(value) else value


def text(value: str) -> str:
    """A string literal of ``$filter`` (quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def date(value: Any) -> dt.date:
    """``/Date(ms)/`` as a date."""
    match = _DATE.match(str(value or ""))
    if match is None:
        raise UpstreamContractViolation(f"SAP S/4HANA Cloud sent {value!r} where a date was expected")
    return (_EPOCH + dt.timedelta(milliseconds=int(match.group(1)))).date()


def sap_date(day: dt.date) -> str:
    """A date as ``/Date(ms)/``."""
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return f"/Date({int((moment - _EPOCH).total_seconds() * 1000)})/"


def decimal(value: Any) -> Decimal:
    """An ``Edm.Decimal`` (a string on the wire)."""
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise UpstreamContractViolation(f"SAP S/4HANA Cloud sent {value!r} where a decimal was expected") from None


def money(value: Any, currency: str) -> Money:
    """An amount in ``currency``, rounded to cents."""
    return Money.of(decimal(value).quantize(Decimal("0.01")), currency)


def results(body: Any) -> list[dict[str, Any]]:
    """The records of a collection (``d.results``) or of an expanded navigation."""
    if isinstance(body, dict) and isinstance(body.get("results"), list):
        return [r for r in body["results"] if isinstance(r, dict)]
    return []


def account(gl_account: Any) -> str:
    """A G/L account without SAP's leading zeros."""
    return str(gl_account or "").lstrip("0") or "0"


def legal_entity(record: dict[str, Any]) -> LegalEntity:
    """A company code."""
    return LegalEntity(id=str(record["CompanyCode"]), name=str(record.get("CompanyCodeName") or ""),
                       currency=str(record.get("Currency") or ""), country=record.get("Country") or None,
                       parent_id=None)  # fmt: skip


def item(record: dict[str, Any], valuation_area: str) -> Item:
    """A product with its description and its standard price in ``valuation_area``."""
    descriptions = results(record.get("to_Description"))
    name = next((d.get("ProductDescription") for d in descriptions if d.get("Language") == "EN"), None)
    valuation = next((v for v in results(record.get("to_Valuation")) if v.get("ValuationArea") == valuation_area), None)
    price = None
    if valuation is not None and valuation.get("Currency"):
        per = decimal(valuation.get("PriceUnitQty") or "1") or Decimal(1)
        price = money(decimal(valuation.get("StandardPrice")) / per, str(valuation["Currency"]))
    code = str(record["Product"])
    return Item(id=code, code=code, name=str(name or code), description=None, unit_price=price)


def customer(record: dict[str, Any], external_id: str | None = None) -> ErpCustomer:
    """A business partner with the customer role (``to_Customer`` and the address and tax numbers expanded)."""
    expanded = record.get("to_Customer")
    sap_customer: dict[str, Any] = expanded if isinstance(expanded, dict) else {}
    companies = results(sap_customer.get("to_CustomerCompany"))
    areas = results(sap_customer.get("to_CustomerSalesArea"))
    addresses = results(record.get("to_BusinessPartnerAddress"))
    taxes = results(record.get("to_BusinessPartnerTax"))
    address = None
    if addresses:
        first = addresses[0]
        address = Address(line1=first.get("StreetName") or None, city=first.get("CityName") or None,
                          region=first.get("Region") or None, postal_code=first.get("PostalCode") or None,
                          country=first.get("Country") or None)  # fmt: skip
    terms_key = (companies[0].get("PaymentTerms") if companies else None) or (
        areas[0].get("CustomerPaymentTerms") if areas else None)  # fmt: skip
    name = " ".join(str(record.get(f"OrganizationBPName{n}") or "") for n in (1, 2)).strip()
    stored = external_id_of(record.get("BusinessPartnerIDByExtSystem"))
    return ErpCustomer(
        id=str(record["BusinessPartner"]),
        external_id=external_id or stored,
        number=str(record["BusinessPartner"]),
        name=name or str(record.get("BusinessPartnerFullName") or ""),
        legal_entity_id=str(companies[0]["CompanyCode"]) if companies else None,
        currency=str(areas[0].get("Currency") or "") or None if areas else None,
        tax_id=str(taxes[0].get("BPTaxNumber") or "") or None if taxes else None,
        email=None,
        domain=None,
        billing_address=address,
        parent_id=None,
        payment_terms=TERMS_BACK.get(str(terms_key or "")),
        updated_at=None,
    )


def lines(items: list[dict[str, Any]], currency: str, quantity_field: str, text_field: str) -> list[DocumentLine]:
    """Document lines from order or billing items (unit price = net amount / quantity)."""
    out = []
    for entry in items:
        quantity = decimal(entry.get(quantity_field) or "0")
        net = decimal(entry.get("NetAmount") or "0")
        unit = (net / quantity).quantize(Decimal("0.01")) if quantity else Decimal(0)
        out.append(DocumentLine(
            item_id=str(entry.get("Material") or ""), item_code=str(entry.get("Material") or "") or None,
            description=str(entry.get(text_field) or "") or None, quantity=format(quantity.normalize(), "f"),
            unit_price=Money.of(unit, currency), amount=money(net, currency),
        ))  # fmt: skip
    return out

"""AvaTax models ↔ canonical tax objects."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest

from apis.canonical import TaxQuoteRequest
from apis.system.tax import mapping as m
from core.errors import UpstreamContractViolation
from tests.support.avalara import quote_body

TRANSACTION: dict[str, Any] = {
    "id": 1, "code": "INV-1", "companyId": 7, "date": "2026-03-01T00:00:00", "status": "Committed",
    "type": "ReturnInvoice", "customerCode": "C-1", "currencyCode": "EUR", "totalAmount": Decimal("-100.0"),
    "totalTax": 0, "totalTaxable": Decimal("-100"), "version": 3, "adjustmentReason": "ProductReturned",
    "businessIdentificationNo": "FR123", "unknownVendorField": {"ignored": True},
    "lines": [{"lineNumber": "1", "quantity": Decimal("1.50"), "lineAmount": Decimal("-100"), "tax": 0,
               "taxableAmount": Decimal("-100"), "itemCode": "", "details": [
                   {"country": "FR", "jurisType": "CNT", "jurisName": "FRANCE", "rate": 0, "tax": 0,
                    "taxableAmount": Decimal("-100"), "taxName": "FR VAT REVERSE CHARGE"}]}],
    "summary": [{"country": "FR", "jurisdictionType": "Country", "rate": 0, "tax": 0, "taxable": Decimal("-100"),
                 "rateType": "ReverseCharge"}],
}  # fmt: skip


def test_a_transaction_maps_leniently_with_exact_money() -> None:
    transaction = m.to_transaction(TRANSACTION, "STRATA-DE")
    assert (transaction.company, transaction.kind, transaction.status, transaction.version) == (
        "STRATA-DE", "return", "committed", 3
    )  # fmt: skip
    assert transaction.total_amount.amount == "-100.00" and transaction.total_amount.currency == "EUR"
    assert transaction.adjustment_reason == "product_returned" and transaction.reverse_charge is True
    line = transaction.lines[0]
    assert (line.quantity, line.product_code, line.details[0].jurisdiction_type) == ("1.5", None, "country")
    assert transaction.summary[0].reverse_charge is True and transaction.summary[0].rate == "0"


@pytest.mark.parametrize(
    "broken",
    [
        {"status": "Exploded"},
        {"type": "Estimate"},
        {"date": "soon"},
        {"currencyCode": None},
        {"lines": [{"lineNumber": "1"}]},
        {"summary": [{"rate": 1}]},
        {"totalTaxable": "lots"},
    ],
)
def test_what_cannot_be_read_is_a_contract_violation(broken: dict[str, Any]) -> None:
    with pytest.raises(UpstreamContractViolation):
        m.to_transaction({**TRANSACTION, **broken}, "STRATA-DE")


def test_a_request_becomes_an_order_or_an_invoice_model() -> None:
    request = msgspec.convert(quote_body(buyer_tax_id="US-1", kind="return"), TaxQuoteRequest)
    order = m.to_model(request, code=None, recorded=False)
    assert order["type"] == "ReturnOrder" and order["commit"] is False and "code" not in order
    assert order["addresses"] == {
        "shipTo": {
            "line1": "1 Market St",
            "city": "San Francisco",
            "region": "CA",
            "postalCode": "94105",
            "country": "US",
        }
    }
    assert order["lines"] == [
        {"number": "1", "quantity": Decimal(2), "amount": Decimal("1000.00"), "itemCode": "STRATA-CORE"}
    ]
    invoice = m.to_model(request, code="INV-9", recorded=True)
    assert (invoice["type"], invoice["commit"], invoice["code"], invoice["businessIdentificationNo"]) == (
        "ReturnInvoice", True, "INV-9", "US-1"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("refers_to", "pointer"),
    [
        ("addresses.shipTo.postalCode", "/ship_to/postal_code"),
        ("addresses.singleLocation.country", "/ship_to/country"),
        ("addresses.shipFrom.line1", "/ship_from/line1"),
        ("lines[2].amount", "/lines/2/amount"),
        ("lines[0].itemCode", "/lines/0/product_code"),
        ("lines[1]", "/lines/1"),
        ("businessIdentificationNo", "/buyer_tax_id"),
        ("companyCode", "/company"),
        ("lines[0].somethingElse", None),
        ("HttpRequestHeaders", None),
        (None, None),
    ],
)
def test_avalara_field_names_become_pointers_into_our_body(refers_to: str | None, pointer: str | None) -> None:
    assert m.pointer_for(refers_to) == pointer

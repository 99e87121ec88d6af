"""NetSuite shapes → canonical objects: lenient on what NetSuite adds, strict on what we need."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apis.system.erp.connectors import netsuite_mapping as m
from core.errors import InvalidInput, UpstreamContractViolation

INVOICE = {
    "links": [{"rel": "self", "href": "https://x/services/rest/record/v1/invoice/9"}],
    "id": "9",
    "externalId": "inv-9",
    "tranId": "INV9",
    "entity": {"id": "112", "refName": "Dufour SA"},
    "currency": {"id": "2", "refName": "EUR"},
    "tranDate": "2026-03-10",
    "status": {"id": "A", "refName": "Open"},
    "total": Decimal("3.0"),
    "amountRemaining": Decimal("1.5"),
    "someFieldWeDoNotKnow": {"nested": True},
    "item": {"items": [{"item": {"id": "111", "refName": "STRATA-USAGE-1M"}, "quantity": Decimal("2000.0"),
                        "rate": Decimal("0.0015"), "amount": Decimal("3.0")}]},
}  # fmt: skip


def test_an_invoice_reads_with_exact_amounts_and_partial_payment() -> None:
    invoice = m.to_invoice(INVOICE, m.DEFAULT_LISTS)
    assert invoice.currency == "EUR" and invoice.status == "partially_paid"
    assert invoice.total.amount == "3.00" and invoice.amount_due.amount == "1.50"
    line = invoice.lines[0]
    assert (line.item_code, line.quantity, line.unit_price.amount, line.amount.amount) == (
        "STRATA-USAGE-1M",
        "2000",
        "0.0015",
        "3.00",
    )
    assert invoice.date == dt.date(2026, 3, 10) and invoice.due_date is None


def test_what_a_canonical_object_cannot_do_without_is_a_contract_violation() -> None:
    with pytest.raises(UpstreamContractViolation, match="entity"):
        m.to_invoice({k: v for k, v in INVOICE.items() if k != "entity"}, m.DEFAULT_LISTS)
    with pytest.raises(UpstreamContractViolation, match="currency"):
        m.to_invoice({**INVOICE, "currency": {"id": "77"}}, m.DEFAULT_LISTS)
    with pytest.raises(UpstreamContractViolation, match="date"):
        m.to_invoice({**INVOICE, "tranDate": "tomorrow"}, m.DEFAULT_LISTS)


def test_suiteql_dates_and_flags() -> None:
    period = m.to_period({"id": "5", "periodname": "Jan 2024", "startdate": "1/1/2024", "enddate": "1/31/2024",
                          "closed": "T"})  # fmt: skip
    assert (period.start_date, period.end_date, period.closed) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31), True)


@pytest.mark.parametrize(
    ("vendor_path", "pointer"),
    [
        ("entity", "/customer_id"),
        ("item.items[2].item", "/lines/2/item_id"),
        ("apply.items[0].doc", "/applications/0/invoice_id"),
        ("line.items[1].account", "/lines/1/account"),
        ("somethingNew", "/somethingNew"),
    ],
)
def test_error_paths_become_our_pointers(vendor_path: str, pointer: str) -> None:
    assert m.field_pointer(vendor_path) == pointer


def test_a_currency_or_account_the_account_lacks_is_a_field_error() -> None:
    with pytest.raises(InvalidInput) as currency:
        m.DEFAULT_LISTS.currency_id("JPY")
    assert currency.value.field_errors[0]["pointer"] == "/currency"
    with pytest.raises(InvalidInput) as account:
        m.DEFAULT_LISTS.account_id("9999", "/lines/3/account")
    assert account.value.field_errors[0]["pointer"] == "/lines/3/account"

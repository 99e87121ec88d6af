"""Money at the Stripe edge: minor units per currency, both ways; required fields checked."""

from __future__ import annotations

import pytest

from apis.canonical import Money
from apis.system.billing.mapping import to_invoice, to_minor, to_money, to_price
from core.errors import InvalidInput, UpstreamContractViolation


@pytest.mark.parametrize(
    ("minor", "currency", "money"),
    [
        (123_456, "eur", "1234.56"),
        (500, "jpy", "500"),
        (1_234, "kwd", "1.234"),
        (-250, "usd", "-2.50"),
        (0, "gbp", "0.00"),
    ],
)
def test_minor_units_round_trip(minor: int, currency: str, money: str) -> None:
    value = to_money(minor, currency)
    assert value == Money(amount=money, currency=currency.upper())
    assert to_minor(value, "/amount") == (minor, currency)


def test_an_amount_finer_than_the_currency_is_a_422_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        to_minor(Money(amount="10.5", currency="JPY"), "/amount")
    assert refused.value.field_errors[0]["pointer"] == "/amount/amount"


def test_stripe_objects_missing_what_we_need_are_a_contract_violation() -> None:
    with pytest.raises(UpstreamContractViolation, match="currency"):
        to_price({"id": "price_1", "object": "price", "product": "prod_1", "unit_amount": 100})
    with pytest.raises(UpstreamContractViolation, match="customer"):
        to_invoice({"id": "in_1", "object": "invoice", "currency": "usd", "created": 1, "status": "draft"})
    with pytest.raises(UpstreamContractViolation):
        to_money(12.5, "usd")


def test_unknown_stripe_fields_are_ignored_and_the_parent_names_the_subscription() -> None:
    invoice = to_invoice({
        "id": "in_1", "object": "invoice", "customer": {"id": "cus_1", "object": "customer"}, "currency": "eur",
        "created": 1_800_000_000, "status": "open", "total": 1000, "amount_due": 1000, "amount_paid": 0,
        "amount_remaining": 1000, "lines": {"object": "list", "data": []}, "brand_new_field": {"x": 1},
        "parent": {"type": "subscription_details", "subscription_details": {"subscription": "sub_1"}},
    })  # fmt: skip
    assert invoice.customer_id == "cus_1" and invoice.subscription_id == "sub_1"
    assert invoice.amount_remaining == Money(amount="10.00", currency="EUR")

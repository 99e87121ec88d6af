"""The revenue comparison on its own: billed service periods' monthly shares against ERP revenue rows.

Pure (no gateway): the snapshot sides are built in memory, as the fetch steps would return them.
"""

from __future__ import annotations

import datetime as dt

from apis.canonical import (
    BillingCustomer,
    BillingInvoice,
    BillingInvoiceLine,
    Customer,
    ErpCustomer,
    Money,
    RecognizedRevenue,
)
from apis.process.reconciliation.documents import Documents
from apis.process.reconciliation.model import Links
from apis.process.reconciliation.revenue import compare_revenue
from apis.process.reconciliation.snapshot import BillingSide, ErpSide

T0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def _usd(amount: str) -> Money:
    return Money(amount=amount, currency="USD")


def _invoice(
    invoice_id: str, status: str, lines: list[tuple[str, dt.datetime | None, dt.datetime | None]]
) -> BillingInvoice:
    return BillingInvoice(
        id=invoice_id, number=invoice_id.upper(), customer_id="cus_billing", subscription_id=None,
        status=status, collection_method="charge_automatically",  # type: ignore[arg-type]
        total=_usd("0"), amount_due=_usd("0"), amount_paid=_usd("0"), amount_remaining=_usd("0"),
        due_date=None, hosted_url=None, created_at=T0, finalized_at=T0, paid_at=None, voided_at=None,
        lines=[
            BillingInvoiceLine(id=f"il_{n}", description=None, quantity=1, amount=_usd(amount), price_id=None,
                               proration=False, period_start=start, period_end=end)
            for n, (amount, start, end) in enumerate(lines)
        ],
    )  # fmt: skip


def _sides(invoices: list[BillingInvoice], revenue: list[RecognizedRevenue]) -> tuple[Documents, ErpSide]:
    account = Customer(
        id="001ACME", external_id=None, name="Acme", account_type="Customer", domain=None, parent_id=None,
        billing_address=None, tax_id=None, currency="USD", industry=None, billing_status=None,
        created_at=T0, updated_at=T0,
    )  # fmt: skip
    billing_customer = BillingCustomer(
        id="cus_billing", external_id=None, crm_account_id="001ACME", name="Acme", email=None,
        billing_address=None, currency="usd", created_at=T0,
    )  # fmt: skip
    erp_customer = ErpCustomer(
        id="erp-7", external_id="001ACME", number=None, name="Acme", legal_entity_id=None, currency="USD",
        tax_id=None, email=None, domain=None, billing_address=None, parent_id=None, payment_terms=None,
        updated_at=None,
    )  # fmt: skip
    erp = ErpSide(
        system="netsuite", customers=[erp_customer], invoices=[], items=[], payments=[], missing_payment_ids=[],
        revenue=revenue,
    )  # fmt: skip
    billing = BillingSide(customers=[billing_customer], invoices=invoices, products=[], prices=[], payments=[])
    links = Links([], [account], crm="salesforce", billing="stripe")
    return Documents(erp, billing, links), erp


def _row(amount: str, customer: str = "erp-7") -> RecognizedRevenue:
    return RecognizedRevenue(period="2025-01", customer_id=customer, invoice_id="901", amount=_usd(amount))


YEAR = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_recognised_as_billed_is_no_mismatch_and_one_cent_off_is() -> None:
    # 3650.00 over 2025 (365 days): January's share is 310.00.
    invoices = [_invoice("in_1", "open", [("3650.00", *YEAR)])]
    documents, erp = _sides(invoices, [_row("310.00")])
    assert list(compare_revenue(documents, erp, "2025-01")) == []

    documents, erp = _sides(invoices, [_row("309.99")])
    (found,) = compare_revenue(documents, erp, "2025-01")
    assert found.kind == "revenue_mismatch" and found.customer_id == "001ACME"
    assert found.billing_ids == ["in_1"] and found.erp_ids == ["901"]
    assert found.amounts == {"billing": _usd("310.00"), "erp": _usd("309.99")}


def test_void_invoices_one_off_lines_and_other_months_bill_nothing() -> None:
    one_off = (T0, T0)  # a one-off item: period start == end
    invoices = [
        _invoice("in_void", "void", [("3650.00", *YEAR)]),
        _invoice("in_once", "paid", [("500.00", *one_off), ("10.00", None, None)]),
        _invoice("in_later", "open", [("280.00", dt.datetime(2025, 2, 1, tzinfo=dt.UTC), YEAR[0].replace(month=3))]),
    ]  # fmt: skip
    documents, erp = _sides(invoices, [])
    assert list(compare_revenue(documents, erp, "2025-01")) == []
    (february,) = compare_revenue(documents, erp, "2025-02")
    assert february.amounts == {"billing": _usd("280.00"), "erp": _usd("0.00")} and february.billing_ids == ["in_later"]


def test_revenue_of_an_erp_customer_linked_to_no_account_is_reported_without_one() -> None:
    documents, erp = _sides([], [_row("12.00", customer="erp-unknown")])
    (found,) = compare_revenue(documents, erp, "2025-01")
    assert found.customer_id is None and found.erp_ids == ["901"]
    assert found.amounts == {"billing": _usd("0.00"), "erp": _usd("12.00")}

"""The Oracle Fusion connector against its sandbox, beyond the shared ERP suite: the order modes
without Order Management, OAuth 2.0 tokens, and a payment's applications exactly once under faults."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from apis.canonical import (
    CustomerPaymentCreate,
    DocumentLineInput,
    ErpCustomerUpsert,
    InvoiceCreate,
    PaymentApplication,
    SalesOrderCreate,
)
from core.errors import BusinessRuleViolation, InvalidInput, PeriodClosed
from sandboxes.faults import FaultRule
from sandboxes.oracle_fusion import OracleFusionSandbox
from tests.support.oracle_fusion import make_connector

OPEN_DAY = dt.date(2026, 3, 10)


async def _customer_and_item(connector: Any, external_id: str) -> tuple[str, str]:
    customer, _ = await connector.upsert_customer(
        external_id, ErpCustomerUpsert(name="Connector Test GmbH", currency="EUR")
    )
    item = (await connector.list_items(code="STRATA-CORE", limit=1, position=None)).items[0]
    return customer.id, item.id


def _lines(item_id: str) -> list[DocumentLineInput]:
    return [DocumentLineInput(item_id=item_id, quantity="2", unit_price="1200.00")]


async def test_draft_receivable_orders_are_completed_by_their_invoice(sandbox: OracleFusionSandbox) -> None:
    connector = make_connector(sandbox, order_hub="draft-receivable")
    try:
        customer, item = await _customer_and_item(connector, "cus_draft")
        order, created = await connector.create_sales_order(
            SalesOrderCreate(external_id="opp-draft-1", customer_id=customer, date=OPEN_DAY, currency="EUR",
                             lines=_lines(item))
        )  # fmt: skip
        assert created and order.status == "open" and order.total.amount == "2400.00"
        assert order.external_id == "opp-draft-1"
        listed = await connector.list_invoices(customer_id=customer, limit=10, position=None)
        assert listed.items == []  # a draft order is no invoice
        request = InvoiceCreate(external_id="inv-draft-1", customer_id=customer, date=OPEN_DAY, currency="EUR",
                                lines=_lines(item), sales_order_id=order.id)  # fmt: skip
        invoice, created = await connector.create_invoice(request)
        assert created and invoice.id == order.id and invoice.sales_order_id == order.id
        assert invoice.status == "open" and invoice.external_id == "inv-draft-1"
        again, created = await connector.create_invoice(request)
        assert not created and again.id == invoice.id
        assert (await connector.get_sales_order(order.id)).status == "billed"
        assert [i.id for i in (await connector.list_invoices(customer_id=customer, limit=10, position=None)).items] == [
            invoice.id
        ]
        assert sandbox.store.writes == {"accounts": 1, "receivablesInvoices": 2}  # the draft, then its completion
    finally:
        await connector.aclose()


async def test_completing_a_draft_in_a_closed_period_is_refused_and_leaves_it_a_draft(
    sandbox: OracleFusionSandbox,
) -> None:
    connector = make_connector(sandbox, order_hub="draft-receivable")
    try:
        customer, item = await _customer_and_item(connector, "cus_draft_closed")
        order, _ = await connector.create_sales_order(
            SalesOrderCreate(external_id="opp-draft-2", customer_id=customer, date=OPEN_DAY, currency="EUR",
                             lines=_lines(item))
        )  # fmt: skip
        with pytest.raises(PeriodClosed):
            await connector.create_invoice(
                InvoiceCreate(external_id="inv-draft-2", customer_id=customer, date=dt.date(2024, 6, 1),
                              currency="EUR", lines=_lines(item), sales_order_id=order.id)
            )  # fmt: skip
        assert (await connector.get_sales_order(order.id)).status == "open"
    finally:
        await connector.aclose()


async def test_with_orders_skipped_the_order_step_is_refused_by_name(sandbox: OracleFusionSandbox) -> None:
    connector = make_connector(sandbox, order_hub="skip")
    try:
        customer, item = await _customer_and_item(connector, "cus_skip")
        order = SalesOrderCreate(external_id="opp-skip", customer_id=customer, date=OPEN_DAY, currency="EUR",
                                 lines=_lines(item))  # fmt: skip
        with pytest.raises(BusinessRuleViolation, match="oracle_fusion_order_hub=skip"):
            await connector.create_sales_order(order)
        with pytest.raises(InvalidInput) as refused:
            await connector.create_invoice(
                InvoiceCreate(external_id="inv-skip", customer_id=customer, date=OPEN_DAY, currency="EUR",
                              lines=_lines(item), sales_order_id="300100170000001")
            )  # fmt: skip
        assert refused.value.field_errors[0]["pointer"] == "/sales_order_id"
        invoice, created = await connector.create_invoice(
            InvoiceCreate(external_id="inv-skip", customer_id=customer, date=OPEN_DAY, currency="EUR",
                          lines=_lines(item))
        )  # fmt: skip
        assert created and invoice.sales_order_id is None
    finally:
        await connector.aclose()


async def test_oauth2_tokens_are_fetched_once_and_renewed_after_a_401(
    sandbox: OracleFusionSandbox, plain: httpx.AsyncClient
) -> None:
    connector = make_connector(sandbox, auth="oauth2")
    try:
        assert {e.currency for e in await connector.list_legal_entities()} == {"USD", "EUR", "GBP"}
        assert len(await connector.list_accounting_periods(year=2026)) == 12
        assert sandbox.tokens_issued == 1
        assert (await plain.post("/_control/expire-tokens")).status_code == 204
        assert await connector.get_item((await connector.list_items(code=None, limit=1, position=None)).items[0].id)
        assert sandbox.tokens_issued == 2
    finally:
        await connector.aclose()


async def test_a_payment_whose_answers_are_lost_is_recorded_and_applied_once(sandbox: OracleFusionSandbox) -> None:
    connector = make_connector(sandbox)
    try:
        customer, item = await _customer_and_item(connector, "cus_lost")
        invoice, _ = await connector.create_invoice(
            InvoiceCreate(external_id="inv-lost", customer_id=customer, date=OPEN_DAY, currency="EUR",
                          lines=_lines(item))
        )  # fmt: skip
        # The receipt's POST and then its applyReceipt are applied, and each answer is lost.
        receipts = "/fscmRestApi/resources/11.13.18.05/standardReceipts"
        sandbox.faults.add(FaultRule(kind="lost_response", status=503, method="POST", path_prefix=receipts, count=2))
        payment, created = await connector.create_customer_payment(
            CustomerPaymentCreate(external_id="pay-lost", customer_id=customer, date=OPEN_DAY, currency="EUR",
                                  amount="1000.00",
                                  applications=[PaymentApplication(invoice_id=invoice.id, amount="1000.00")])
        )  # fmt: skip
        assert created and payment.applications == [PaymentApplication(invoice_id=invoice.id, amount="1000.00")]
        assert sandbox.faults.injected["lost_response"] == 2
        assert (
            sandbox.store.writes["standardReceipts"] == 1 and sandbox.store.writes["standardReceipts/applyReceipt"] == 1
        )
        assert (await connector.get_invoice(invoice.id)).amount_due.amount == "1400.00"
        assert await connector.get_customer_payment(payment.id) == payment
    finally:
        await connector.aclose()

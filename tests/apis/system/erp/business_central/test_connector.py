"""Every ErpConnector method of the Business Central connector, against the sandbox: happy and unhappy paths."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

import msgspec
import pytest

from apis.canonical import Address as PostalAddress
from apis.canonical import (
    CreditMemoCreate,
    CustomerPaymentCreate,
    DocumentLineInput,
    ErpCustomerUpsert,
    InvoiceCreate,
    Item,
    JournalEntryCreate,
    JournalLine,
    PaymentApplication,
    SalesOrderCreate,
)
from apis.system.erp.connector import ErpConnector
from apis.system.erp.connectors.business_central import BusinessCentralConnector
from core.errors import InvalidInput, NotFound, PeriodClosed
from sandboxes.business_central import BusinessCentralSandbox
from tests.support.business_central import company_id

S = TypeVar("S", bound=msgspec.Struct)
DAY = dt.date(2026, 3, 2)
UNKNOWN = "6513270e269e4d37b2a74de452e6b438" + "0" * 31 + "1"  # a well-formed id of no company


def _as_protocol(connector: BusinessCentralConnector) -> ErpConnector:
    return connector


async def _core(connector: BusinessCentralConnector) -> Item:
    return (await connector.list_items(code="STRATA-CORE", limit=5, position=None)).items[0]


async def _customer_id(connector: BusinessCentralConnector, external_id: str = "cus_01JBCTEST00000000000000001") -> str:
    customer, _ = await connector.upsert_customer(external_id, ErpCustomerUpsert(name="Borealis Test", currency="USD"))
    return customer.id


def _lines(item_id: str, quantity: str = "2", price: str = "150.25") -> list[DocumentLineInput]:
    return [DocumentLineInput(item_id=item_id, quantity=quantity, unit_price=price, description="Platform")]


async def test_legal_entities_and_periods(connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox) -> None:
    entities = await _as_protocol(connector).list_legal_entities()
    assert {(e.name, e.currency, e.country) for e in entities} == {
        ("Strata Inc.", "USD", "US"),
        ("Strata GmbH", "EUR", "DE"),
        ("Strata Ltd", "GBP", "GB"),
    }
    assert [e.id for e in entities] == sorted(e.id for e in entities)
    assert [e.name for e in entities] == ["Strata Inc.", "Strata GmbH", "Strata Ltd"]  # the NetSuite seed's order
    periods = await connector.list_accounting_periods(year=2024)
    assert [p.name for p in periods][:2] == ["Jan 2024", "Feb 2024"] and len(periods) == 12
    assert all(p.closed for p in periods) and periods[1].end_date == dt.date(2024, 2, 29)
    every = await connector.list_accounting_periods()
    assert len(every) == 48 and every == sorted(every, key=lambda p: p.start_date) and every[-1].end_date.day == 31
    current = await connector.period_for(DAY)
    assert current is not None and current.name == "Mar 2026" and not current.closed
    assert await connector.period_for(dt.date(1999, 1, 1)) is None


async def test_items_paging_code_filter_and_get(connector: BusinessCentralConnector) -> None:
    first = await connector.list_items(code=None, limit=4, position=None)
    assert len(first.items) == 4 and first.next_position is not None
    second = await connector.list_items(code=None, limit=4, position=first.next_position)
    assert len(second.items) == 3 and second.next_position is None
    ids = [i.id for i in first.items + second.items]
    assert ids == sorted(ids) and len(set(ids)) == 7
    core = await _core(connector)
    assert core.code == "STRATA-CORE" and core.unit_price is not None and core.unit_price.amount == "12000.00"
    assert await connector.get_item(core.id) == core
    assert (await connector.list_items(code="NOPE", limit=5, position=None)).items == []
    for bad in (UNKNOWN, "junk", "a:b"):
        with pytest.raises(NotFound):
            await connector.get_item(bad)
    with pytest.raises(InvalidInput):
        await connector.list_items(code=None, limit=4, position="forged")
    with pytest.raises(InvalidInput):  # a cursor of another list
        await connector.list_items(code="STRATA-CORE", limit=4, position=first.next_position)


async def test_upsert_customer_creates_then_updates_by_external_id(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    address = PostalAddress(line1="1 Main St", city="Austin", region="TX", postal_code="73301", country="US")
    upsert = ErpCustomerUpsert(
        name="Borealis",
        currency="USD",
        tax_id="US-123",
        email="ap@borealis.test",
        domain="borealis.test",
        billing_address=address,
        payment_terms="net_45",
    )
    created, was_created = await connector.upsert_customer("cus_01JBCUPSERT0000000000000001", upsert)
    assert (
        was_created and created.external_id == "cus_01JBCUPSERT0000000000000001" and created.payment_terms == "net_45"
    )
    assert created.billing_address == address and created.legal_entity_id == company_id(sandbox)
    updated, was_created = await connector.upsert_customer(
        "cus_01JBCUPSERT0000000000000001", ErpCustomerUpsert(name="Borealis AG", payment_terms="net_15")
    )
    assert not was_created and updated.id == created.id and updated.name == "Borealis AG"
    assert updated.payment_terms == "net_15" and updated.tax_id == "US-123"
    fetched = await connector.get_customer(created.id)
    assert fetched.name == "Borealis AG" and fetched.number == created.number
    short, _ = await connector.upsert_customer("SF-001ABC", ErpCustomerUpsert(name="Short Key"))
    assert (await connector.get_customer(short.id)).external_id == "SF-001ABC"
    gmbh = company_id(sandbox, "Strata GmbH")
    german, _ = await connector.upsert_customer("DE-7", ErpCustomerUpsert(name="Kunde", legal_entity_id=gmbh))
    assert german.legal_entity_id == gmbh and german.currency == "EUR"
    with pytest.raises(NotFound):
        await connector.upsert_customer(
            "X", ErpCustomerUpsert(name="Nowhere", legal_entity_id="00000000-0000-0000-0000-000000000001")
        )
    with pytest.raises(NotFound):
        await connector.get_customer(UNKNOWN)


async def test_code_keys_are_upper_case_and_never_collide_by_case(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    """BC keeps Code fields upper-case: ``abc`` and ``ABC`` are two customers and two orders, and no
    external id comes back in another case."""
    lower, lower_created = await connector.upsert_customer("sf-abc", ErpCustomerUpsert(name="Lower", currency="USD"))
    upper, upper_created = await connector.upsert_customer("SF-ABC", ErpCustomerUpsert(name="Upper", currency="USD"))
    assert lower_created and upper_created and lower.id != upper.id
    assert (await connector.get_customer(upper.id)).external_id == "SF-ABC"
    assert (await connector.get_customer(lower.id)).external_id in (None, "sf-abc")  # a derived code reads as None
    stored = {c["displayName"]: c["number"] for c in sandbox.store.company(company_id(sandbox))["customers"].values()}
    assert stored["Upper"] == "SF-ABC" and stored["Lower"] == stored["Lower"].upper() != "SF-ABC"
    item = await _core(connector)
    orders = [
        await connector.create_sales_order(
            SalesOrderCreate(external_id=key, customer_id=upper.id, date=DAY, currency="USD", lines=_lines(item.id))
        )
        for key in ("so-case", "SO-CASE", "so-case")
    ]
    assert [created for _, created in orders] == [True, True, False]
    assert orders[0][0].id != orders[1][0].id and orders[2][0].id == orders[0][0].id
    assert orders[1][0].external_id == "SO-CASE"
    assert (await connector.get_sales_order(orders[0][0].id)).external_id in (None, "so-case")


async def test_search_customers_filters_and_pages_over_every_company(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    seen, cursor = [], None
    while True:
        page = await connector.search_customers(
            name_prefix=None, tax_id=None, external_id=None, limit=10, position=cursor
        )
        assert len(page.items) == 10 or page.next_position is None
        seen.extend(page.items)
        cursor = page.next_position
        if cursor is None:
            break
    total = sum(len(sandbox.store.all(c, "customers")) for c in sandbox.store.companies)
    assert len(seen) == total == len({c.id for c in seen}) and [c.id for c in seen] == sorted(c.id for c in seen)
    sample = seen[5]
    assert sample.tax_id is not None and sample.external_id is not None
    by_tax = await connector.search_customers(
        name_prefix=None, tax_id=sample.tax_id, external_id=None, limit=5, position=None
    )
    assert sample.id in [c.id for c in by_tax.items]
    both = await connector.search_customers(
        name_prefix=sample.name[:4], tax_id=None, external_id=sample.external_id, limit=5, position=None
    )
    assert [c.id for c in both.items] == [sample.id] and both.next_position is None
    none = await connector.search_customers(
        name_prefix="zzz-none", tax_id=None, external_id=None, limit=5, position=None
    )
    assert none.items == [] and none.next_position is None
    with pytest.raises(InvalidInput):
        await connector.search_customers(
            name_prefix=None, tax_id=None, external_id=None, limit=5, position="eyJrIjoxfQ"
        )


async def test_sales_order_exactly_once_by_external_id(connector: BusinessCentralConnector) -> None:
    customer, core = await _customer_id(connector), await _core(connector)
    request = SalesOrderCreate(
        external_id="opp-bc-1", customer_id=customer, date=DAY, currency="USD", lines=_lines(core.id)
    )
    order, created = await connector.create_sales_order(request)
    assert created and order.external_id == "opp-bc-1" and order.status == "open" and order.total.amount == "300.50"
    assert order.lines[0].item_code == "STRATA-CORE" and order.lines[0].quantity == "2"
    again, created = await connector.create_sales_order(request)
    assert not created and again.id == order.id
    assert await connector.get_sales_order(order.id) == again
    with pytest.raises(NotFound):
        await connector.get_sales_order(UNKNOWN)
    with pytest.raises(NotFound):
        await connector.create_sales_order(
            SalesOrderCreate(
                external_id="opp-bc-2", customer_id=UNKNOWN, date=DAY, currency="USD", lines=_lines(core.id)
            )
        )


async def test_invoice_posts_links_the_order_and_refuses_closed_periods(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    customer, core = await _customer_id(connector), await _core(connector)
    order, _ = await connector.create_sales_order(
        SalesOrderCreate(external_id="opp-bc-3", customer_id=customer, date=DAY, currency="USD", lines=_lines(core.id))
    )
    request = InvoiceCreate(
        external_id="inv-bc-1",
        customer_id=customer,
        date=DAY,
        currency="USD",
        lines=_lines(core.id),
        sales_order_id=order.id,
        due_date=dt.date(2026, 4, 1),
    )
    assert [o["id"] for o in sandbox.store.all(company_id(sandbox), "salesOrders") if o["number"] == order.number]
    invoice, created = await connector.create_invoice(request)
    assert created and invoice.status == "open" and invoice.number and invoice.number.startswith("PS-INV")
    assert (
        invoice.sales_order_id == order.id and invoice.amount_due == invoice.total and invoice.total.amount == "300.50"
    )
    assert invoice.due_date == DAY  # BC dates an order's invoice by the customer's terms (due on receipt)
    assert (await connector.create_invoice(request)) == (invoice, False)
    assert await connector.get_invoice(invoice.id) == invoice
    # shipAndInvoice posted the order's invoice and BC deleted the fully invoiced order; it reads
    # back from the posted invoice, found by orderNumber.
    assert not [o for o in sandbox.store.all(company_id(sandbox), "salesOrders") if o["number"] == order.number]
    billed = await connector.get_sales_order(order.id)
    assert (billed.status, billed.number, billed.total, billed.lines) == (
        "billed",
        order.number,
        order.total,
        order.lines,
    )
    assert sandbox.store.writes["salesOrders/Microsoft.NAV.shipAndInvoice"] == 1
    listed = await connector.list_invoices(customer_id=customer, limit=10, position=None)
    assert [i.id for i in listed.items] == [invoice.id] and listed.next_position is None
    drafts_before = len(sandbox.store.all(company_id(sandbox), "salesInvoices"))
    with pytest.raises(PeriodClosed):
        await connector.create_invoice(
            InvoiceCreate(
                external_id="inv-bc-closed",
                customer_id=customer,
                date=dt.date(2024, 5, 5),
                currency="USD",
                lines=_lines(core.id),
            )
        )
    assert len(sandbox.store.all(company_id(sandbox), "salesInvoices")) == drafts_before
    with pytest.raises(NotFound):
        await connector.get_invoice(UNKNOWN)


async def test_list_invoices_pages_over_every_company(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    seen, cursor = [], None
    while True:
        page = await connector.list_invoices(customer_id=None, limit=4, position=cursor)
        seen.extend(page.items)
        if page.next_position is None:
            break
        cursor = page.next_position
    expected = sum(len(sandbox.store.all(c, "salesInvoices")) for c in sandbox.store.companies)
    assert len(seen) == expected == len({i.id for i in seen}) > 4
    assert {i.status for i in seen} <= {"open", "paid", "partially_paid"}
    with pytest.raises(NotFound):
        await connector.list_invoices(customer_id=UNKNOWN, limit=4, position=None)


async def test_payment_applies_to_invoices_exactly_once(connector: BusinessCentralConnector) -> None:
    customer, core = await _customer_id(connector), await _core(connector)
    invoice, _ = await connector.create_invoice(
        InvoiceCreate(external_id="inv-bc-pay", customer_id=customer, date=DAY, currency="USD", lines=_lines(core.id))
    )
    request = CustomerPaymentCreate(
        external_id="pi_bc_1",
        customer_id=customer,
        date=DAY,
        currency="USD",
        amount="400",
        applications=[PaymentApplication(invoice_id=invoice.id, amount="100.50")],
    )
    payment, created = await connector.create_customer_payment(request)
    assert created and payment.amount.amount == "400.00" and payment.external_id == "pi_bc_1"
    assert payment.applications == [PaymentApplication(invoice_id=invoice.id, amount="100.50")]
    again, created = await connector.create_customer_payment(request)
    assert not created and again.id == payment.id
    assert await connector.get_customer_payment(payment.id) == again
    paid = await connector.get_invoice(invoice.id)
    assert paid.status == "partially_paid" and paid.amount_due.amount == "200.00"
    with pytest.raises(InvalidInput):
        await connector.create_customer_payment(msgspec_replace(request, external_id="pi_bc_2", amount="10"))
    with pytest.raises(PeriodClosed):
        await connector.create_customer_payment(
            msgspec_replace(request, external_id="pi_bc_3", date=dt.date(2024, 3, 3))
        )
    with pytest.raises(InvalidInput) as currency:
        await connector.create_customer_payment(msgspec_replace(request, external_id="pi_bc_4", currency="EUR"))
    assert currency.value.field_errors[0]["pointer"] == "/currency"
    with pytest.raises(NotFound):
        await connector.get_customer_payment(UNKNOWN)


async def test_a_payment_is_journal_lines_posted_through_journals_and_waits_when_bc_refuses(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    """Lines of ``customerPaymentJournals(<id>)/customerPayments``, posted by ``journals(<id>)/
    Microsoft.NAV.post``; a BC that refuses that leaves the payment recorded, awaiting posting,
    and the same call later posts it."""
    customer, core = await _customer_id(connector), await _core(connector)
    invoice, _ = await connector.create_invoice(
        InvoiceCreate(external_id="inv-bc-wait", customer_id=customer, date=DAY, currency="USD", lines=_lines(core.id))
    )
    request = CustomerPaymentCreate(
        external_id="pi_bc_wait",
        customer_id=customer,
        date=DAY,
        currency="USD",
        amount="300.50",
        applications=[PaymentApplication(invoice_id=invoice.id, amount="300.50")],
    )
    sandbox.post_payment_batches = False
    waiting, created = await connector.create_customer_payment(request)
    assert created and not waiting.posted and waiting.amount.amount == "300.50"
    assert (await connector.get_customer_payment(waiting.id)).posted is False
    assert (await connector.get_invoice(invoice.id)).amount_due.amount == "300.50"  # nothing applied yet
    sandbox.post_payment_batches = True
    posted, created = await connector.create_customer_payment(request)
    assert (posted.id, posted.posted, created) == (waiting.id, True, False)
    assert await connector.get_customer_payment(posted.id) == posted
    assert (await connector.get_invoice(invoice.id)).status == "paid"
    writes = sandbox.store.writes
    assert writes["customerPayments"] == 1 and writes["journals/Microsoft.NAV.post"] == 1
    assert "customerPaymentJournals/Microsoft.NAV.post" not in writes


async def test_credit_memo_credits_its_invoice(connector: BusinessCentralConnector) -> None:
    customer, core = await _customer_id(connector), await _core(connector)
    invoice, _ = await connector.create_invoice(
        InvoiceCreate(external_id="inv-bc-cm", customer_id=customer, date=DAY, currency="USD", lines=_lines(core.id))
    )
    request = CreditMemoCreate(
        external_id="cn-bc-1",
        customer_id=customer,
        date=DAY,
        currency="USD",
        lines=_lines(core.id, "1", "50"),
        invoice_id=invoice.id,
    )
    memo, created = await connector.create_credit_memo(request)
    assert created and memo.invoice_id == invoice.id and memo.total.amount == "50.00"
    assert (await connector.create_credit_memo(request)) == (memo, False)
    assert await connector.get_credit_memo(memo.id) == memo
    assert (await connector.get_invoice(invoice.id)).amount_due.amount == "250.50"
    with pytest.raises(NotFound):
        await connector.get_credit_memo(UNKNOWN)


async def test_journal_entry_posts_balanced_lines(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    company = company_id(sandbox)
    request = JournalEntryCreate(
        external_id="je-bc-1",
        legal_entity_id=company,
        date=DAY,
        currency="USD",
        memo="Deferred revenue release",
        lines=[
            JournalLine(account="2200", debit="500"),
            JournalLine(account="4000", credit="500", memo="Subscription"),
        ],
    )
    entry, created = await connector.create_journal_entry(request)
    # API v2.0's G/L entries carry no externalDocumentNumber: the batch name keeps the external id,
    # and the entry's memo reads back as the description every line shares (here one line has its own).
    assert created and entry.external_id == "je-bc-1" and entry.memo is None and entry.legal_entity_id == company
    assert [line.memo for line in entry.lines] == ["Deferred revenue release", "Subscription"]
    assert [(line.account, line.debit, line.credit) for line in entry.lines] == [
        ("2200", "500.00", None),
        ("4000", None, "500.00"),
    ]
    again, created = await connector.create_journal_entry(request)
    assert not created and again.id == entry.id and again.lines == entry.lines
    fetched = await connector.get_journal_entry(entry.id)
    assert fetched == entry
    plain = JournalEntryCreate(
        external_id="je-bc-Plain",
        legal_entity_id=company,
        date=DAY,
        currency="USD",
        memo="Accrual",
        lines=[JournalLine(account="2200", debit="5"), JournalLine(account="4000", credit="5")],
    )
    accrual, _ = await connector.create_journal_entry(plain)
    assert await connector.get_journal_entry(accrual.id) == accrual
    assert (accrual.memo, accrual.external_id) == ("Accrual", "je-bc-Plain")
    with pytest.raises(PeriodClosed):
        await connector.create_journal_entry(msgspec_replace(request, external_id="je-bc-2", date=dt.date(2024, 7, 1)))
    with pytest.raises(InvalidInput):
        await connector.create_journal_entry(msgspec_replace(request, external_id="je-bc-3", currency="EUR"))
    with pytest.raises(NotFound):
        await connector.get_journal_entry(company.replace("-", "") + "NOSUCHDOC")
    with pytest.raises(NotFound):
        await connector.create_journal_entry(
            msgspec_replace(request, legal_entity_id="00000000-0000-0000-0000-000000000001")
        )


def msgspec_replace(value: S, **changes: object) -> S:
    return msgspec.structs.replace(value, **changes)

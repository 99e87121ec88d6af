"""What a step records — state, lineage, outbox, xref links, ``about`` — on SQLite and PostgreSQL:
all of it or none of it, and the same rows once however often the step runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.events import CloudEvent
from apis.process.transactions import COMPLETED, About, TransactionStore, VendorRecord, transaction_event
from apis.process.xref import XrefLink, XrefStore, new_canonical_id
from core.db import create_engine, outbox_events
from core.errors import Conflict
from core.migrations import create_schema


@pytest.fixture
async def stores(database_url: str) -> AsyncIterator[tuple[TransactionStore, XrefStore, AsyncEngine]]:
    engine = create_engine(database_url)
    await create_schema(engine)
    try:
        yield TransactionStore(engine), XrefStore(engine), engine
    finally:
        await engine.dispose()


def _event(transaction_id: str, step: str) -> CloudEvent:
    return transaction_event(
        "strata.contract.activated", transaction_id, step, source="/test", subject=None, data={"n": 1}
    )


async def test_a_step_records_state_lineage_outbox_link_and_about_once_however_often_it_runs(
    stores: tuple[TransactionStore, XrefStore, AsyncEngine],
) -> None:
    transactions, xref, _ = stores
    transaction, _ = await transactions.open("quote-to-cash", f"opp-{new_canonical_id('order')}", input={})
    customer = new_canonical_id("customer")
    about = About(customer="Fabrikam", deal="Fabrikam - platform", amount="15600.00", currency="USD")
    for _ in range(2):  # a step re-run after a crash records the same rows again
        await transactions.advance(
            transaction.id,
            "customer_synced",
            step="sync_billing_customer",
            records=[
                VendorRecord(system="stripe", object="customer", id="cus_S1"),
                VendorRecord(system="stripe", object="subscription", id="sub_S1"),
            ],
            events=[_event(transaction.id, "sync_billing_customer")],
            links=[XrefLink(kind="customer", canonical_id=customer, system="stripe", vendor_id="cus_S1")],
            customer_id="001ACCOUNT",
            about=about,
        )
    found = await transactions.get(transaction.id)
    assert found is not None
    assert (found.state, found.customer_id, found.about) == ("customer_synced", "001ACCOUNT", about)
    assert [(e.step, e.system, e.object, e.vendor_id) for e in await transactions.lineage(transaction.id)] == [
        ("sync_billing_customer", "stripe", "customer", "cus_S1"),
        ("sync_billing_customer", "stripe", "subscription", "sub_S1"),
    ]
    assert [e.type for e in await transactions.events(transaction.id)] == ["strata.contract.activated"]
    assert await xref.vendor_id("customer", customer, "stripe") == "cus_S1"
    for _ in range(2):  # one row of each and no link: one statement on PostgreSQL, no BEGIN
        await transactions.advance(
            transaction.id,
            "ordered",
            step="create_sales_order",
            records=[VendorRecord(system="netsuite", object="sales_order", id="77")],
            events=[_event(transaction.id, "create_sales_order")],
        )
    lineage = await transactions.lineage(transaction.id)
    assert [e.vendor_id for e in lineage] == ["cus_S1", "sub_S1", "77"]
    assert len(await transactions.events(transaction.id)) == 2
    ordered = await transactions.get(transaction.id)
    assert ordered is not None and ordered.state == "ordered"
    await transactions.advance(transaction.id, COMPLETED, step="update_crm")
    done = await transactions.get(transaction.id)
    assert done is not None and done.state == COMPLETED and done.completed_at is not None
    assert done.about == about  # left as it was by a step that says nothing about it


async def test_a_contradicting_link_records_nothing_of_the_step(
    stores: tuple[TransactionStore, XrefStore, AsyncEngine],
) -> None:
    transactions, xref, engine = stores
    transaction, _ = await transactions.open("quote-to-cash", f"opp-{new_canonical_id('order')}", input={})
    customer = new_canonical_id("customer")
    await xref.link("customer", customer, "netsuite", "1001")
    with pytest.raises(Conflict):
        await transactions.advance(
            transaction.id,
            "validated",
            step="sync_erp_customer",
            records=[VendorRecord(system="netsuite", object="customer", id="2002")],
            events=[_event(transaction.id, "sync_erp_customer")],
            links=[XrefLink(kind="customer", canonical_id=customer, system="netsuite", vendor_id="2002")],
        )
    # Another customer claiming the vendor id of the first is refused the same way.
    other = new_canonical_id("customer")
    with pytest.raises(Conflict):
        await transactions.advance(
            transaction.id,
            "validated",
            step="sync_erp_customer",
            links=[XrefLink(kind="customer", canonical_id=other, system="netsuite", vendor_id="1001")],
        )
    found = await transactions.get(transaction.id)
    assert found is not None and found.state == "accepted"
    assert await transactions.lineage(transaction.id) == []
    async with engine.connect() as connection:
        count = select(func.count()).select_from(outbox_events).where(outbox_events.c.correlation_id == transaction.id)
        assert (await connection.execute(count)).scalar_one() == 0
    assert await xref.links("customer", customer) == {"netsuite": "1001"}
    assert await xref.links("customer", other) == {}

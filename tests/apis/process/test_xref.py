"""The xref store on SQLite and PostgreSQL: the rules hold in the database, across callers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from apis.process.xref import XrefStore, new_canonical_id
from core.db import create_engine
from core.errors import Conflict
from core.migrations import create_schema


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[XrefStore]:
    engine = create_engine(database_url)
    await create_schema(engine)
    try:
        yield XrefStore(engine)
    finally:
        await engine.dispose()


async def test_links_are_found_both_ways_and_linking_again_is_a_no_op(store: XrefStore) -> None:
    customer = new_canonical_id("customer")
    assert customer.startswith("cus_") and len(customer) == 30
    await store.link("customer", customer, "salesforce", "001000000000001AAA")
    await store.link("customer", customer, "netsuite", "1234")
    await store.link("customer", customer, "netsuite", "1234")
    assert await store.links("customer", customer) == {"salesforce": "001000000000001AAA", "netsuite": "1234"}
    assert await store.vendor_id("customer", customer, "netsuite") == "1234"
    assert await store.canonical_id("customer", "salesforce", "001000000000001AAA") == customer
    assert await store.vendor_id("customer", customer, "stripe") is None
    # The same vendor id under another kind is another object.
    assert await store.canonical_id("invoice", "netsuite", "1234") is None


async def test_a_contradicting_link_is_a_conflict_naming_the_existing_one(store: XrefStore) -> None:
    first, second = new_canonical_id("customer"), new_canonical_id("customer")
    await store.link("customer", first, "stripe", "cus_A")
    with pytest.raises(Conflict, match="already 'cus_A' in stripe"):
        await store.link("customer", first, "stripe", "cus_B")
    with pytest.raises(Conflict, match=f"already belongs to {first}"):
        await store.link("customer", second, "stripe", "cus_A")
    assert await store.links("customer", second) == {}


async def test_concurrent_callers_get_one_canonical_id_for_a_vendor_object(store: XrefStore) -> None:
    results = await asyncio.gather(*(store.canonical_id_for("customer", "salesforce", "001RACE") for _ in range(8)))
    ids = {canonical for canonical, _ in results}
    assert len(ids) == 1
    assert [minted for _, minted in results].count(True) == 1
    assert await store.canonical_id_for("customer", "salesforce", "001RACE") == (ids.pop(), False)


async def test_unknown_kinds_and_foreign_ids_are_refused(store: XrefStore) -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        new_canonical_id("spaceship")
    with pytest.raises(ValueError, match="not a canonical customer id"):
        await store.link("customer", "inv_01ABC", "netsuite", "1")

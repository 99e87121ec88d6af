"""Catalog-sync in process: the catalog against billing prices and ERP items, reported as findings."""

from __future__ import annotations

from typing import Any

import pytest

from apis.canonical import BillingPrice, Item, Money, Sku
from apis.process.catalog_sync.workflow import compare, price_lookup_key
from sandboxes.product_platform.catalog import PRICE_DRIFT
from tests.apis.process.sync.conftest import Sync, events, findings
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")
RUNS = "/process/catalog-sync/v1/runs"


async def active_skus(sync: Sync) -> list[Any]:
    page = await sync.state.product.list_skus(product_id=None, code=None, limit=100, position=None)
    assert page.next_position is None
    return [s for s in page.items if s.active]


async def test_the_seeded_catalog_reports_price_drift_and_what_billing_and_the_erp_lack(sync: Sync) -> None:
    done = await sync.run(RUNS, {})
    skus = await active_skus(sync)
    missing_billing, missing_erp = [], []
    for sku in skus:  # what billing and the ERP hold, asked independently of the workflow
        prices = (await sync.state.billing.list_prices(lookup_key=price_lookup_key(sku), limit=10)).items
        if not [p for p in prices if p.active]:
            missing_billing.append(sku.code)
        if not (await sync.state.erp.list_items(code=sku.code, limit=1)).items:
            missing_erp.append(sku.code)
    assert missing_billing or missing_erp, "the seeded catalog has a SKU no other system sells"

    assert done["state"] == "needs_attention", done
    assert done["exception"]["reason_code"] == "catalog_incomplete"
    assert done["exception"]["owner_system"] == ("stripe" if missing_billing else "netsuite")
    assert all(code in done["exception"]["reason"] for code in missing_billing + missing_erp)
    reported_billing = await findings(sync, done["id"], "missing_in_billing")
    reported_erp = await findings(sync, done["id"], "missing_in_erp")
    assert sorted(f.split(":")[0] for f in reported_billing) == sorted(missing_billing)
    assert sorted(f.split(":")[0] for f in reported_erp) == sorted(missing_erp)

    drift = await findings(sync, done["id"], "price_drift")
    for code, amount in PRICE_DRIFT.items():  # the platform's deliberate list price
        about = [d for d in drift if d.startswith(f"{code} ")]
        assert {d.split()[1] for d in about} == {"stripe", "netsuite"}
        assert all(f"catalog {amount} USD" in d for d in about)

    # The operations view shows every finding, as the lineage holds it.
    shown = {(f["code"], f["detail"]) for f in done["findings"]}
    assert {("price_drift", d) for d in drift} | {("missing_in_billing", d) for d in reported_billing} <= shown

    synced = [e for e in await events(sync, done["id"]) if e["type"] == "strata.catalog.synced"]
    assert synced == [
        {
            "type": "strata.catalog.synced",
            "transaction_id": done["id"],
            "skus": len(skus),
            "missing_in_billing": len(missing_billing),
            "missing_in_erp": len(missing_erp),
            "price_differences": len(drift),
            "created": 0,
        }
    ]


async def test_a_rerun_reports_the_same_and_creates_nothing(sync: Sync) -> None:
    prices_before = len((await sync.state.billing.list_prices(limit=100)).items)
    first = await sync.run(RUNS, {})
    second = await sync.run(RUNS, {})
    assert first["id"] != second["id"]
    for code in ("missing_in_billing", "missing_in_erp", "price_drift"):
        assert await findings(sync, first["id"], code) == await findings(sync, second["id"], code)
    assert len((await sync.state.billing.list_prices(limit=100)).items) == prices_before


def _sku(code: str, amount: str) -> Sku:
    return Sku(
        id=f"sku_{code.lower()}",
        code=code,
        product_id="prod_1",
        name=code,
        charge_model="flat",
        billing_interval="year",
        unit=None,
        unit_price=Money(amount=amount, currency="USD"),
        active=True,
    )


def _price(code: str, amount: str, *, active: bool = True) -> BillingPrice:
    return BillingPrice(
        id=f"price_{code.lower()}",
        product_id="prod_1",
        lookup_key=f"{code}-usd",
        unit_amount=Money(amount=amount, currency="USD"),
        kind="recurring",
        interval="year",
        interval_count=1,
        meter_id=None,
        active=active,
    )


async def test_a_complete_catalog_with_equal_prices_has_no_findings() -> None:
    item = Item(id="9", code="A", name="A", description=None, unit_price=Money(amount="100", currency="USD"))
    report, found = compare([_sku("A", "100.00")], [_price("A", "100.00")], [item], "netsuite", "stripe")
    assert found == []
    assert (report.skus, report.missing_in_billing, report.missing_in_erp, report.price_differences) == (1, [], [], 0)


async def test_an_archived_price_is_missing_and_another_amount_is_drift() -> None:
    skus = [_sku("A", "100.00"), _sku("B", "50.00")]
    prices = [_price("A", "90.00"), _price("B", "50.00", active=False)]
    report, found = compare(skus, prices, [], "netsuite", "stripe")
    assert report.missing_in_billing == ["B"] and report.missing_in_erp == ["A", "B"]
    assert [(f.code, f.subject) for f in found if f.code == "price_drift"] == [("price_drift", "A stripe price_a")]


async def test_a_run_takes_an_empty_object_and_the_write_scope(sync: Sync) -> None:
    response = await sync.gw.client.post(RUNS, json={"full": True}, headers=sync.writer)
    assert response.status_code == 422
    assert problem(response)["errors"][0]["pointer"] in ("", "/full")
    response = await sync.gw.client.post(RUNS, json={}, headers=sync.reader)
    assert response.status_code == 403

"""Crash, storm and scale-out: quote-to-cash through real gateway processes and vendors of their own.

One harness (:mod:`tests.support.cluster`) and one vendors process for the module; every test
makes its own deals on new accounts, then checks at the vendors, in their own dialects, that
each opportunity produced exactly one billing customer and one subscription (the ERP's
external ids make its customers and sales orders unique by construction; the lineage must name
one sales order per transaction, each a different one).
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import SETTLED, Cluster
from tests.support.procs import GatewayProcess, SandboxesProcess


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxesProcess]:
    vendors = SandboxesProcess(tmp_path_factory.mktemp("vendors")).start()
    try:
        yield vendors
    finally:
        vendors.stop()


async def assert_once_each(
    cluster: Cluster, client: httpx.AsyncClient, deals: list[dict[str, str]], txns: dict[str, str]
) -> None:
    """Every completed opportunity: one billing customer, one subscription, its own sales order."""
    orders: Counter[str] = Counter()
    for deal in deals:
        transaction = await cluster.transaction(client, txns[deal["opportunity_id"]])
        if transaction["state"] != "completed":
            continue
        records = [r for s in transaction["steps"] for r in s["records"]]
        assert sum(r["object"] == "sales_order" for r in records) == 1, transaction
        orders.update(r["id"] for r in records if r["object"] == "sales_order")
        assert await cluster.vendor_records(client, deal["account_id"]) == (1, 1), deal
    assert all(count == 1 for count in orders.values())


async def test_two_crashes_mid_batch_and_every_order_completes_exactly_once(
    sandboxes: SandboxesProcess, tmp_path: Path
) -> None:
    cluster = Cluster(tmp_path, sandboxes).start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            deals = await cluster.deals(client, 100, "Crash")
            txns = await cluster.submit_all(client, deals)
            ids = set(txns.values())
            assert len(ids) == 100
            at_kills = []
            for threshold in (20, 55):
                views = await cluster.wait_until(client, ids, settled=threshold, within=90)
                cluster.crash()
                at_kills.append(sum(v["state"] == "completed" for v in views.values()))
                cluster.restart()
            views = await cluster.wait_until(client, ids, settled=100, within=120)
            assert Counter(v["state"] for v in views.values()) == {"completed": 100}
            assert all(count < 100 for count in at_kills), f"not killed mid-batch: {at_kills}"
            await assert_once_each(cluster, client, deals, txns)
    finally:
        cluster.stop()


STORM = [
    {"kind": "status", "status": 503, "probability": 0.2},
    # Tried after the 503 rule: 0.8 × 0.125 = 10% of all calls.
    {"kind": "status", "status": 429, "probability": 0.125},
]
STORM_ORDERS = 100
EXCEPTION_REASONS = {"vendor_unavailable", "upstream_rejected", "not_found", "upstream_contract_violation"}


async def test_a_storm_of_5xx_and_429_ends_every_order_completed_or_in_exceptions_and_none_twice(
    sandboxes: SandboxesProcess, tmp_path: Path
) -> None:
    cluster = Cluster(tmp_path, sandboxes).start()
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            # 100 orders (~10 vendor calls each, 30% of them refused) reach every retry path; 200 took
            # twice the time for no path more (the suite's budget is 15 minutes).
            deals = await cluster.deals(client, STORM_ORDERS, "Storm")
            await cluster.faults(client, STORM)
            try:
                txns = await cluster.submit_all(client, deals)
                ids = set(txns.values())
                assert len(ids) == STORM_ORDERS  # none lost: every submission is a transaction of its own
                views = await cluster.wait_until(client, ids, settled=STORM_ORDERS, within=180)  # none stuck
            finally:
                await cluster.faults(client, None)
            states = Counter(v["state"] for v in views.values())
            reasons = Counter((v["exception"] or {}).get("reason_code") for v in views.values())
            print(f"storm: {dict(states)} {dict(reasons)}")
            assert set(states) <= {"completed", "failed", "needs_attention"}, states
            # How many complete depends on whether a vendor's circuit opened (5 outages in a row open
            # it for 30 s): not asserted. What must hold is below — and that the storm reached the
            # durable retries: a completed order with a retried step, or one that exhausted them.
            retried = 0
            for transaction_id in [t for t, v in views.items() if v["state"] == "completed"][:60]:
                detail = await cluster.transaction(client, transaction_id)
                retried += any(step["attempts"] > 1 for step in detail["steps"])
            assert retried or states["failed"], states
            for view in views.values():
                if view["state"] != "completed":
                    exception = view["exception"]
                    assert exception["reason_code"] in EXCEPTION_REASONS, view
                    assert exception["owner_system"] in {
                        "salesforce",
                        "netsuite",
                        "stripe",
                        "avalara",
                        "product-platform",
                    }
                    assert exception["failed_step"] and exception["reason"], view
            await assert_once_each(cluster, client, deals, txns)
            for deal in deals:  # a stopped order holds at most one of each, never two
                customers, subscriptions = await cluster.vendor_records(client, deal["account_id"])
                assert customers <= 1 and subscriptions <= 1, deal
    finally:
        cluster.stop()


UPGRADE_ORDERS = 20
HELD_ORDERS = 6


async def wait_until_held_by(
    cluster: Cluster, client: httpx.AsyncClient, transaction_ids: set[str], executor_id: str
) -> None:
    """Poll until one of the transactions is in flight on ``executor_id``'s process."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for transaction_id in transaction_ids:
            detail = await cluster.transaction(client, transaction_id)
            if detail["executor_id"] == executor_id and detail["state"] not in SETTLED:
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"none of {len(transaction_ids)} transactions in flight on {executor_id}")


async def test_a_rolling_upgrade_finishes_the_older_release_s_workflows_once_after_a_stop_and_after_a_kill(
    sandboxes: SandboxesProcess, tmp_path: Path
) -> None:
    """This release takes the orders; it is stopped gracefully and 1.1.0 starts on its slot, which is
    then killed and 1.2.0 starts on it: the newer releases finish every workflow the older ones left."""
    cluster = Cluster(tmp_path, sandboxes).start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            deals = await cluster.deals(client, UPGRADE_ORDERS, "Upgrade")
            # Every vendor answers 0.1 s late, so each order is still in flight at the stop and the kill.
            await cluster.faults(client, [{"kind": "latency", "latency_seconds": 0.1}])
            txns = await cluster.submit_all(client, deals)
            ids = set(txns.values())
            at_stops = []
            for release, crash in (("1.1.0", False), ("1.2.0", True)):
                views = await cluster.wait_until(client, ids, settled=3 + len(at_stops) * 5, within=60)
                cluster.gateways[0].stop(crash=crash)
                at_stops.append(sum(v["state"] == "completed" for v in views.values()))
                cluster.restart(0, release_version=release)
            await cluster.faults(client, None)
            views = await cluster.wait_until(client, ids, settled=UPGRADE_ORDERS, within=60)
            assert Counter(v["state"] for v in views.values()) == {"completed": UPGRADE_ORDERS}
            assert all(count < UPGRADE_ORDERS for count in at_stops), f"not stopped mid-batch: {at_stops}"
            await assert_once_each(cluster, client, deals, txns)
    finally:
        cluster.stop()


BACKUP_ORDERS = 3


async def erp_counts(cluster: Cluster, client: httpx.AsyncClient) -> dict[str, int]:
    """Records of each type at the ERP sandbox (NetSuite's), from its control API."""
    url = f"{cluster.vendor_url('netsuite')}/_control/counts"
    response = await client.get(url, headers=cluster.sandboxes.admin_headers("netsuite"))
    assert response.status_code == 200, response.text
    return dict(response.json()["records"])


def strata_db(gateway: GatewayProcess, *args: str) -> str:
    """``strata db …`` on a gateway's state, with that gateway's settings (as an operator runs it)."""
    done = subprocess.run(
        [*gateway.argv, "db", *args], env=gateway.env, cwd=gateway.cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def test_a_restored_backup_and_the_later_orders_resubmitted_make_no_second_record_anywhere(
    sandboxes: SandboxesProcess, tmp_path: Path
) -> None:
    """Orders complete; an online backup; more orders; the gateway stopped and the backup restored
    (the later orders are gone from its state); the later orders submitted again → still exactly one
    customer, subscription and sales order for each at the vendors."""
    cluster = Cluster(tmp_path, sandboxes).start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            erp_before = await erp_counts(cluster, client)
            before = await cluster.deals(client, BACKUP_ORDERS, "Backed")
            first = await cluster.submit_all(client, before)
            await cluster.wait_until(client, set(first.values()), settled=BACKUP_ORDERS, within=60)
            archive = tmp_path / "state.tar.gz"
            strata_db(cluster.gateways[0], "backup", str(archive))  # while the gateway runs

            after = await cluster.deals(client, BACKUP_ORDERS, "Later")
            lost = await cluster.submit_all(client, after)
            await cluster.wait_until(client, set(lost.values()), settled=BACKUP_ORDERS, within=60)
            cluster.gateways[0].stop()
            strata_db(cluster.gateways[0], "restore", str(archive), "--force")
            cluster.restart(0)

            assert set(await cluster.states(client, set(lost.values()))) == set()  # gone with the restore
            again = await cluster.submit_all(client, after)
            views = await cluster.wait_until(client, set(again.values()), settled=BACKUP_ORDERS, within=60)
            assert Counter(v["state"] for v in views.values()) == {"completed": BACKUP_ORDERS}
            await assert_once_each(cluster, client, before + after, {**first, **again})
            erp_after = await erp_counts(cluster, client)  # one ERP customer and sales order per new account
            made = {kind: erp_after.get(kind, 0) - erp_before.get(kind, 0) for kind in ("customer", "salesOrder")}
            assert made == {"customer": 2 * BACKUP_ORDERS, "salesOrder": 2 * BACKUP_ORDERS}, made
    finally:
        cluster.stop()

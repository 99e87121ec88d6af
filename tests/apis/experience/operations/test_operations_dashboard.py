"""``GET /experience/operations/v1/dashboard`` over transactions seeded at known times, engine off.

Transactions are written through the process layer's own :class:`TransactionStore` (open, stop,
advance, set_state) with the clock moved by ``time-machine`` to when each step happened, so
ages and end-to-end durations are known exactly; what the dashboard should say is worked out
here from those timestamps. The gateway does not run the workflow engine: the dashboard must
answer in every process. The same checks run once on PostgreSQL (its bucketing SQL differs).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import time_machine

from apis.process.transactions import COMPLETED, DISMISSED, FAILED, HELD, NEEDS_ATTENTION, TransactionStore
from tests.support.harness import Gateway, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")
DASHBOARD = "/experience/operations/v1/dashboard"
READ = "experience:operations:read"
HOUR = 3600
SLA = {"default_sla_seconds": 300, "workflow_sla_seconds": '{"quote-to-cash": 100, "customer-sync": 3600}'}
WORKFLOWS = [
    "quote-to-cash",
    "invoice-to-ledger",
    "payment-to-cash",
    "customer-sync",
    "catalog-sync",
    "usage-to-billing",
    "subscription-changes",
]


@dataclass
class Seeded:
    """What was written: creation and completion instants per workflow."""

    now: float
    created: list[tuple[str, float]] = field(default_factory=list)
    completed: list[tuple[str, float]] = field(default_factory=list)


class Seeder:
    """Writes transactions through the store, the clock set to each step's instant."""

    def __init__(self, gw: Gateway, seeded: Seeded) -> None:
        self.store = TransactionStore(gw.app.state.components.engine)
        self.seeded = seeded

    async def open(self, workflow: str, at: float) -> str:
        with time_machine.travel(at, tick=False):
            transaction, created = await self.store.open(workflow, f"ops-test-{uuid.uuid4().hex}", input={})
        assert created
        self.seeded.created.append((workflow, at))
        return transaction.id

    async def complete(self, workflow: str, created: float, completed: float) -> None:
        transaction_id = await self.open(workflow, created)
        with time_machine.travel(completed, tick=False):
            await self.store.advance(transaction_id, COMPLETED, step="done")
        self.seeded.completed.append((workflow, completed))

    async def park(self, workflow: str, state: str, parked: float) -> str:
        transaction_id = await self.open(workflow, parked - 60)
        with time_machine.travel(parked, tick=False):
            await self.store.stop(
                transaction_id, state, reason_code="seeded", reason="seeded", owner_system="crm", failed_step="x"
            )
        return transaction_id


async def seed(gw: Gateway) -> Seeded:
    """Quote-to-cash: 20 completed 2 h ago taking 10, 20, ... 200 s, one completed 30 h ago, one in
    flight, exceptions parked 30 min, 2 h, 10 h and 30 h ago, one dismissed. Customer sync: 3
    completed 30 min ago taking 60, 120, 180 s. Invoice to ledger: one failed 5 min ago."""
    now = time.time()
    seeded = Seeded(now=now)
    seeder = Seeder(gw, seeded)
    for i in range(1, 21):
        await seeder.complete("quote-to-cash", now - 2 * HOUR - 10 * i, now - 2 * HOUR)
    await seeder.complete("quote-to-cash", now - 30 * HOUR - 50, now - 30 * HOUR)
    await seeder.open("quote-to-cash", now - 600)
    await seeder.park("quote-to-cash", NEEDS_ATTENTION, now - 1800)
    await seeder.park("quote-to-cash", FAILED, now - 2 * HOUR)
    await seeder.park("quote-to-cash", HELD, now - 10 * HOUR)
    await seeder.park("quote-to-cash", NEEDS_ATTENTION, now - 30 * HOUR)
    dismissed = await seeder.park("quote-to-cash", NEEDS_ATTENTION, now - 5 * HOUR)
    assert await seeder.store.set_state(dismissed, DISMISSED)
    for seconds in (60, 120, 180):
        await seeder.complete("customer-sync", now - 1800 - seconds, now - 1800)
    await seeder.park("invoice-to-ledger", FAILED, now - 300)
    return seeded


@dataclass
class Ops:
    gw: Gateway
    seeded: Seeded
    reader: dict[str, str]

    async def dashboard(self, **params: Any) -> dict[str, Any]:
        response = await self.gw.client.get(DASHBOARD, params=params, headers=self.reader)
        assert response.status_code == 200, response.text
        return dict(response.json())


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ops(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ops]:
    """One gateway (engine off) with the seeded transactions."""
    async with running_gateway(tmp_path_factory.mktemp("ops-dashboard"), **SLA) as gw:
        reader = await gw.bearer(READ)
        yield Ops(gw, await seed(gw), reader)


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def check_states(body: dict[str, Any]) -> None:
    states = {entry["workflow"]: entry for entry in body["states"]}
    assert [entry["workflow"] for entry in body["states"]] == WORKFLOWS  # every workflow, registry order
    assert states["quote-to-cash"]["counts"] == {
        "accepted": 1,
        "needs_attention": 2,
        "failed": 1,
        "held": 1,
        "completed": 21,
        "compensated": 0,
        "dismissed": 1,
    }
    assert states["quote-to-cash"]["total"] == 27
    assert states["customer-sync"]["counts"]["completed"] == states["customer-sync"]["total"] == 3
    assert states["invoice-to-ledger"]["counts"]["failed"] == states["invoice-to-ledger"]["total"] == 1
    assert states["usage-to-billing"]["total"] == 0
    assert set(states["usage-to-billing"]["counts"].values()) == {0}


def check_aging(body: dict[str, Any]) -> None:
    aging = body["exception_aging"]
    per_workflow = {entry["workflow"]: entry for entry in aging["workflows"]}
    assert per_workflow["quote-to-cash"]["buckets"] == {
        "under_1h": 1,
        "from_1h_to_4h": 1,
        "from_4h_to_24h": 1,
        "over_24h": 1,
    }
    assert per_workflow["quote-to-cash"]["total"] == 4  # the dismissed one is no longer open
    assert per_workflow["invoice-to-ledger"]["buckets"]["under_1h"] == per_workflow["invoice-to-ledger"]["total"] == 1
    assert aging["buckets"] == {"under_1h": 2, "from_1h_to_4h": 1, "from_4h_to_24h": 1, "over_24h": 1}
    assert aging["total"] == 5


def check_throughput(body: dict[str, Any], seeded: Seeded) -> None:
    window = body["window"]
    buckets = body["throughput"]
    size = window["bucket_seconds"]
    assert _epoch(buckets[0]["start"]) <= _epoch(window["start"]) < _epoch(buckets[0]["end"])
    assert _epoch(buckets[-1]["start"]) <= _epoch(window["end"]) < _epoch(buckets[-1]["end"])
    for bucket in buckets:
        start, end = _epoch(bucket["start"]), _epoch(bucket["end"])
        assert end - start == size
        assert set(bucket["by_workflow"]) == set(WORKFLOWS)
        for workflow in WORKFLOWS:
            expected = {
                "started": sum(1 for w, at in seeded.created if w == workflow and start <= at < end),
                "completed": sum(1 for w, at in seeded.completed if w == workflow and start <= at < end),
            }
            assert bucket["by_workflow"][workflow] == expected, (workflow, bucket)
        assert bucket["started"] == sum(c["started"] for c in bucket["by_workflow"].values())
        assert bucket["completed"] == sum(c["completed"] for c in bucket["by_workflow"].values())
    # The window holds what happened in it: 20 + 3 completions, not the one 30 h ago.
    assert sum(bucket["completed"] for bucket in buckets) == 23


def check_sla(body: dict[str, Any]) -> None:
    sla = {entry["workflow"]: entry for entry in body["sla"]}
    assert [entry["workflow"] for entry in body["sla"]] == WORKFLOWS
    # 20 durations 10, 20, ... 200 s: 19 of them (95 %) are at most 190 s, the nearest-rank p95.
    assert sla["quote-to-cash"] == {
        "workflow": "quote-to-cash",
        "target_seconds": 100,
        "completed": 20,
        "p95_seconds": 190.0,
        "met": False,
    }
    assert sla["customer-sync"] == {
        "workflow": "customer-sync",
        "target_seconds": 3600,
        "completed": 3,
        "p95_seconds": 180.0,
        "met": True,
    }
    assert sla["catalog-sync"] == {
        "workflow": "catalog-sync",
        "target_seconds": 300,  # default_sla_seconds
        "completed": 0,
        "p95_seconds": None,
        "met": None,
    }


async def test_states_count_every_workflow_and_state(ops: Ops) -> None:
    check_states(await ops.dashboard())


async def test_exception_aging_buckets(ops: Ops) -> None:
    check_aging(await ops.dashboard())


async def test_throughput_buckets_of_a_day_are_hourly(ops: Ops) -> None:
    body = await ops.dashboard(hours=24)
    assert body["window"]["hours"] == 24 and body["window"]["bucket_seconds"] == 3600
    assert len(body["throughput"]) in (24, 25)  # aligned to whole hours: the first may start before the window
    check_throughput(body, ops.seeded)


async def test_bucket_width_follows_the_window(ops: Ops) -> None:
    short = await ops.dashboard(hours=3)
    assert short["window"]["bucket_seconds"] == 900
    assert sum(b["completed"] for b in short["throughput"]) == 23
    week = await ops.dashboard(hours=168)
    assert week["window"]["bucket_seconds"] == 21600
    assert sum(b["completed"] for b in week["throughput"]) == 24  # the one of 30 h ago too
    check_throughput(short, ops.seeded)


async def test_p95_against_the_configured_targets(ops: Ops) -> None:
    check_sla(await ops.dashboard(hours=24))


async def test_sla_counts_only_the_window(ops: Ops) -> None:
    sla = {entry["workflow"]: entry for entry in (await ops.dashboard(hours=1))["sla"]}
    assert sla["quote-to-cash"]["completed"] == 0 and sla["quote-to-cash"]["met"] is None  # completed 2 h ago
    assert sla["customer-sync"]["completed"] == 3


async def test_vendors_show_this_process_circuits(ops: Ops) -> None:
    from core.errors import UpstreamUnavailable

    breaker = ops.gw.app.state.components.circuit_breakers["avalara"]  # no test here calls the tax vendor
    before = time.time()
    for _ in range(breaker.config.failure_threshold):
        breaker.before_call()
        breaker.record(UpstreamUnavailable("the tax sandbox is down"))
    vendors = {entry["vendor"]: entry for entry in (await ops.dashboard())["vendors"]}
    assert {"salesforce", "stripe", "avalara", "product-platform", "data-platform"} <= set(vendors)
    assert vendors["avalara"]["circuit"] == "open" and vendors["avalara"]["health"] == "down"
    assert vendors["avalara"]["consecutive_failures"] == breaker.config.failure_threshold
    assert 0 < vendors["avalara"]["retry_in_seconds"] <= breaker.config.open_seconds
    assert _epoch(vendors["avalara"]["since"]) >= before - 0.01
    assert vendors["salesforce"]["circuit"] == "closed" and vendors["salesforce"]["health"] == "healthy"


async def test_no_reconciliation_yet_is_null(ops: Ops) -> None:
    assert (await ops.dashboard())["reconciliation"] is None


@pytest.mark.postgres
async def test_the_same_dashboard_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    async with running_gateway(tmp_path, database_url=postgres_url, **SLA) as gw:
        seeded = await seed(gw)
        response = await gw.client.get(DASHBOARD, params={"hours": 24}, headers=await gw.bearer(READ))
        assert response.status_code == 200, response.text
        body = response.json()
        check_states(body)
        check_aging(body)
        check_throughput(body, seeded)
        check_sla(body)

"""Per-partner limits hold across processes: two gateway processes on one PostgreSQL deliver.

Two partners' deliveries wait in the shared state before the gateways start, as deliveries
queued before this release did (no attempt workflow yet): each process's start-up sweep hands
them to attempt workflows on the engine's queue, and both processes run attempts from it. Each
partner's receiver holds every request a while and counts how many it holds at once: never
more than the per-partner limit, although two processes could each run that many.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import update

from apis.experience.partner_portal.webhooks.deliveries import DeliveryQueue
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.db import create_engine, partner_webhook_deliveries
from core.master_key import resolve_master_key
from gateway.settings import load_settings
from gateway.state import prepare_state
from tests.apis.experience.partner_webhooks.portal import FAST_WEBHOOK_SETTINGS, customer_synced
from tests.apis.experience.partner_webhooks.receiver import Receiver
from tests.support.cluster import Cluster
from tests.support.procs import SandboxesProcess

pytestmark = pytest.mark.postgres
PER_PARTNER = 2
EACH = 12
"""Deliveries per partner."""


@pytest.fixture
def sandboxes(tmp_path: Path) -> Iterator[SandboxesProcess]:
    process = SandboxesProcess(tmp_path / "vendors").start()
    try:
        yield process
    finally:
        process.stop()


def _queue_before_start(cluster: Cluster, receivers: dict[str, Receiver]) -> dict[str, set[str]]:
    """Prepare the shared state and queue ``EACH`` deliveries per partner, due a while ago and
    without an attempt workflow; the event ids per partner."""
    settings = load_settings(cluster._settings(0), environ={})

    async def setup() -> dict[str, set[str]]:
        await prepare_state(settings, echo=lambda _: None)
        engine = create_engine(settings.effective_database_url)
        try:
            subscriptions = SubscriptionStore(engine, SecretBox(resolve_master_key(settings)))
            deliveries = DeliveryQueue(engine)
            events: dict[str, set[str]] = {}
            for partner, receiver in receivers.items():
                subscription, _ = await subscriptions.create(partner, receiver.url, ["strata.customer.synced"], None)
                for _ in range(EACH):
                    event = customer_synced(f"001{partner}")
                    assert await deliveries.enqueue(subscription.id, partner, event)
                    events.setdefault(partner, set()).add(event.id)
            async with engine.begin() as connection:
                await connection.execute(
                    update(partner_webhook_deliveries).values(next_attempt_at=time.time() - 120, claimed_by=None)
                )
            return events
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # its own event loop, off the test's
        return pool.submit(asyncio.run, setup()).result()


async def _attempt_executors(database_url: str) -> set[str]:
    """The executors (processes) that ran attempt workflows, from the engine's own table."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text("SELECT DISTINCT executor_id FROM dbos.workflow_status WHERE name = 'partner-webhook-attempt'")
            )
            return {str(row[0]) for row in rows}
    finally:
        await engine.dispose()


async def test_two_processes_keep_each_partners_limit_and_deliver_everything_once(
    tmp_path: Path, sandboxes: SandboxesProcess, postgres_url: str
) -> None:
    # The receivers hold everything until both gateways are up: the process that starts first can
    # take only the per-partner limit before the other is there to compete for the rest.
    gate = threading.Event()
    receivers = {partner: Receiver(delay_seconds=0.4, gate=gate).start() for partner in ("partner-x", "partner-y")}
    settings = {**FAST_WEBHOOK_SETTINGS, "partner_webhook_concurrency_per_partner": PER_PARTNER}
    cluster = Cluster(tmp_path, sandboxes, database_url=postgres_url, settings=settings)
    try:
        events = _queue_before_start(cluster, receivers)
        cluster.start(2)  # returns once both gateways answer
        gate.set()
        deadline = time.monotonic() + 60
        for partner, receiver in receivers.items():
            while {r.headers["webhook-id"] for r in list(receiver.requests)} != events[partner]:
                assert time.monotonic() < deadline, f"{partner}: {len(receiver.requests)} of {EACH} delivered"
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # time for a second attempt of any of them, were there one
        for partner, receiver in receivers.items():
            assert len(receiver.requests) == EACH, f"{partner}: a delivery was sent twice"
            assert receiver.most_in_flight == PER_PARTNER, (partner, receiver.most_in_flight)
        assert await _attempt_executors(postgres_url) == {"gw-0", "gw-1"}  # both processes ran attempts
    finally:
        gate.set()
        cluster.stop()
        for receiver in receivers.values():
            receiver.close()

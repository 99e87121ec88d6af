"""The fault suite: two gateways under steady load while their parts fail, one at a time.

Two gateway processes share a **private** PostgreSQL and a **private** Redis (started here on
their own ports: the shared servers on 5432/6379 serve every test worker and are never stopped)
and a vendors process. A steady mixed load runs throughout — governed reads (the operations
API) and governed writes with an ``Idempotency-Key`` that start quote-to-cash orders — while,
one after another: Redis is stopped and started again; PostgreSQL is restarted; the vendors'
process is killed and restarted; one gateway process is killed with SIGKILL for good (its
workflows are taken over by the other once its executor lease runs out). (This replaces the
two-gateways crash test that ran on the shared PostgreSQL and Redis: the same processes, the same
takeover assertions, and more faults; restart recovery is ``test_durability``'s crash test.)

After the faults, what must hold: no request got a 500 (a backend failure is answered as the
governance file says: rate limits fail open, idempotency refuses with 503); every accepted
order settled (nothing stuck) and exists once at the vendors; the same key sent again answers
the same transaction; every event of every completed order reached the data platform; the
dead gateway's workflows were taken over. Printed per phase: requests served, errors by kind,
p99 latency.

Partner webhook deliveries run through every phase too: every deal's account is attributed to
one partner, whose subscription points at a receiver on 127.0.0.1, so each order's
partner-visible events become deliveries (attempt workflows on the engine's queue). At the end,
every such event of every order has reached the receiver (counted by distinct ``webhook-id``,
as a receiver de-duplicates; the total, duplicates of an attempt cut short by a fault included,
is printed) and nothing else did.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from apis.experience.partner_portal.webhooks.audience import PARTNER_EVENT_TYPES
from apis.experience.partner_portal.webhooks.signing import SecretBox
from apis.experience.partner_portal.webhooks.subscriptions import SubscriptionStore
from core.db import create_engine
from core.master_key import resolve_master_key
from gateway.settings import load_settings
from tests.apis.experience.partner_webhooks.receiver import Receiver
from tests.apis.process.test_durability import EXCEPTION_REASONS, assert_once_each, wait_until_held_by
from tests.support.cluster import OPERATIONS, QUOTE_TO_CASH, Cluster
from tests.support.load import Load
from tests.support.private_services import PrivatePostgres
from tests.support.procs import SandboxesProcess
from tests.support.redis_servers import RedisServer

ORDERS = 60
"""Deals made up front; the load submits them one by one (what is not reached stays unsubmitted)."""
FAULT_SECONDS = 3.0
"""How long each part stays down."""
RECOVERY_SECONDS = 2.0
"""Load after each part is back, before the next fault."""
PARTNER = "partner-faults"
"""The partner every deal's account is attributed to (its webhook receives their events)."""
WEBHOOK_SETTINGS = {
    "allow_loopback_destinations": True,
    "partner_webhook_backoff_base_ms": 200,
    "partner_webhook_backoff_max_ms": 1000,
    "partner_webhook_max_attempts": 20,
}
"""Deliveries to the local receiver, retried for ~18 s: longer than any fault lasts."""


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres().start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis", persisted=True).start()
    try:
        yield server
    finally:
        server.stop()


async def test_two_gateways_under_load_survive_redis_postgres_vendors_and_a_process_failing_one_at_a_time(
    tmp_path: Path, private_postgres: PrivatePostgres, private_redis: RedisServer
) -> None:
    vendors = SandboxesProcess(tmp_path / "vendors")
    vendors.start()
    cluster = Cluster(
        tmp_path,
        vendors,
        database_url=private_postgres.url,
        redis_url=private_redis.url,
        # the operator's replay below comes after the circuits close
        settings={"circuit_open_seconds": 2, **WEBHOOK_SETTINGS},
    ).start(2)
    receiver = Receiver().start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            await _subscribe(cluster, receiver.url)
            load = Load(cluster, await _attributed(cluster, client, await cluster.deals(client, ORDERS, "Fault")))
            tasks = [asyncio.create_task(load.submit_forever(client)), asyncio.create_task(load.read_forever(client))]
            try:
                await _phase(load, "steady", None, None)
                await _phase(load, "redis stopped", private_redis.stop, private_redis.start)
                await _phase(load, "postgres restarted", private_postgres.restart, None)
                await _phase(load, "vendors killed", lambda: vendors.stop(crash=True), vendors.start)
                # gw-1 dies for good while it holds a workflow (vendors answer late for a moment).
                await cluster.faults(client, [{"kind": "latency", "latency_seconds": 0.2}])
                held = await _attributed(cluster, client, await cluster.deals(client, 3, "Held"))
                await _submit_to(cluster, client, 1, held, load)
                await wait_until_held_by(cluster, client, {load.accepted[d["opportunity_id"]] for d in held}, "gw-1")
                await _phase(load, "gateway killed", lambda: cluster.crash(1), None)
                await cluster.faults(client, None)
                load.deals += held
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            print(f"fault suite: {json.dumps(load.report(), indent=1)}")
            outcomes = Counter(outcome for records in load.seen.values() for _, outcome, _ in records)
            assert not [o for o in outcomes if o.startswith("5") and o != "503"], outcomes  # never a 500
            # A connection error only from the process that was killed, while it died.
            broken = {phase for phase, records in load.seen.items() for _, o, _ in records if not o[:1].isdigit()}
            assert broken <= {"gateway killed"}, broken
            assert outcomes["503"] <= sum(len(r) for r in load.seen.values()) // 2, outcomes

            # Nothing stuck: every accepted order settles, and exists once at the vendors.
            ids = set(load.accepted.values())
            assert len(ids) >= 20, f"the load reached too few orders: {len(ids)}"
            views = await cluster.wait_until(client, ids, settled=len(ids), within=150)
            states = Counter(view["state"] for view in views.values())
            print(f"fault suite: {len(ids)} orders {dict(states)}")
            assert set(states) <= {"completed", "needs_attention", "failed"}, states
            # Orders caught by the vendors' outage are exceptions naming why; the operator replays
            # them once everything is back, and then every order completes.
            stopped = [t for t, view in views.items() if view["state"] != "completed"]
            await asyncio.sleep(3)  # vendors' circuits close (circuit_open_seconds=2)
            print(f"fault suite: stopped by {Counter(views[t]['exception']['reason_code'] for t in stopped)}")
            for transaction_id in stopped:
                reason = views[transaction_id]["exception"]["reason_code"]
                assert reason in {*EXCEPTION_REASONS, "state_unavailable"}, views[transaction_id]
                replayed = await client.post(
                    f"{cluster.gateways[0].url}{OPERATIONS}/exceptions/{transaction_id}/replay", headers=cluster.headers
                )
                assert replayed.status_code == 202, replayed.text
            deadline = time.monotonic() + 90
            while (
                Counter(v["state"] for v in views.values()) != {"completed": len(ids)} and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.5)  # (a replayed order is settled before and after: wait for its end)
                views = await cluster.states(client, ids)
            leftover = [t for t, v in views.items() if v["state"] != "completed"]
            if leftover:
                print("fault suite: after replay", json.dumps(await cluster.transaction(client, leftover[0]))[:3000])
            assert Counter(view["state"] for view in views.values()) == {"completed": len(ids)}
            submitted = [d for d in load.deals if d["opportunity_id"] in load.accepted]
            await assert_once_each(cluster, client, submitted, load.accepted)
            for deal in submitted:
                customers, subscriptions = await cluster.vendor_records(client, deal["account_id"])
                assert customers <= 1 and subscriptions <= 1, deal

            # Idempotency held through everything: the same key answers the same transaction.
            for deal in submitted[:: max(1, len(submitted) // 10)]:
                again = await client.post(
                    f"{cluster.gateways[0].url}{QUOTE_TO_CASH}",
                    json={"opportunity_id": deal["opportunity_id"]},
                    headers={**cluster.headers, "Idempotency-Key": f"fault-{deal['opportunity_id']}"},
                )
                assert again.status_code in (200, 202), again.text
                assert again.json()["transaction"]["id"] == load.accepted[deal["opportunity_id"]]

            # No event lost: every event of every completed order landed in a data platform lake.
            lakes = [Path(g.state_dir) / "lake" for g in cluster.gateways]
            emitted = [
                event
                for transaction_id, view in views.items()
                if view["state"] == "completed"
                for event in (await cluster.transaction(client, transaction_id))["events"]
            ]
            events = [event["id"] for event in emitted]
            missing = await _not_landed(lakes, events, within=30)
            assert not missing, f"{len(missing)} of {len(events)} events never reached the data platform"

            # No webhook delivery lost: each partner-visible event reached the partner's receiver.
            expected = {event["id"] for event in emitted if event["type"] in PARTNER_EVENT_TYPES}
            assert expected, "no partner-visible event: the webhook part of the suite proves nothing"
            arrived = await _delivered(receiver, expected, within=30)
            total = len(receiver.requests)
            print(f"fault suite: webhooks {len(expected)} events, {len(arrived)} distinct ids, {total} requests")
            assert arrived == expected, f"{len(expected - arrived)} of {len(expected)} webhook deliveries never arrived"

            # Both processes ran workflows; the killed gateway's were taken over by the live one.
            executors = Counter([(await cluster.transaction(client, t))["executor_id"] for t in ids])
            assert set(executors) == {"gw-0", "gw-1"}, executors
            takeovers = [
                json.loads(line)
                for line in cluster.gateways[0].log_path.read_text().splitlines()
                if "took over the workflows" in line
            ]
            assert {(t["executor_id"], t["by"]) for t in takeovers} == {("gw-1", "gw-0")}, takeovers
            assert sum(t["workflows"] for t in takeovers) > 0, takeovers
    finally:
        cluster.stop()
        vendors.stop()
        receiver.close()


async def _subscribe(cluster: Cluster, url: str) -> None:
    """The partner's subscription to every partner-visible event type, written to the shared state."""
    settings = load_settings(cluster._settings(0), environ={})
    engine = create_engine(settings.effective_database_url)
    try:
        store = SubscriptionStore(engine, SecretBox(resolve_master_key(settings)))
        await store.create(PARTNER, url, list(PARTNER_EVENT_TYPES), None)
    finally:
        await engine.dispose()


async def _attributed(cluster: Cluster, client: httpx.AsyncClient, deals: list[dict[str, str]]) -> list[dict[str, str]]:
    """``deals``, their accounts attributed to :data:`PARTNER` in the CRM."""
    for deal in deals:
        patched = await client.patch(
            f"{cluster.vendor_url('salesforce')}/_control/records/Account/{deal['account_id']}",
            json={"Partner_Id__c": PARTNER},
            headers=cluster.sandboxes.admin_headers("salesforce"),
        )
        assert patched.status_code == 204, patched.text
    return deals


async def _delivered(receiver: Receiver, expected: set[str], within: float) -> set[str]:
    """The distinct webhook ids the receiver got, once they cover ``expected`` (or time is up)."""
    deadline = time.monotonic() + within
    while True:
        arrived = {r.headers["webhook-id"] for r in list(receiver.requests)}
        if expected <= arrived or time.monotonic() > deadline:
            return arrived
        await asyncio.sleep(0.2)


async def _phase(
    load: Load, name: str, fail: Callable[[], object] | None, recover: Callable[[], object] | None
) -> None:
    load.phase = name
    if fail is not None:
        await asyncio.to_thread(fail)
    await asyncio.sleep(FAULT_SECONDS)
    if recover is not None:
        await asyncio.to_thread(recover)
    load.phase = f"{name}: after"
    await asyncio.sleep(RECOVERY_SECONDS)


async def _submit_to(
    cluster: Cluster, client: httpx.AsyncClient, number: int, deals: list[dict[str, str]], load: Load
) -> None:
    for deal in deals:
        response = await client.post(
            f"{cluster.gateways[number].url}{QUOTE_TO_CASH}",
            json={"opportunity_id": deal["opportunity_id"]},
            headers={**cluster.headers, "Idempotency-Key": f"fault-{deal['opportunity_id']}"},
        )
        assert response.status_code == 202, response.text
        load.accepted[deal["opportunity_id"]] = response.json()["transaction"]["id"]


async def _not_landed(lakes: list[Path], event_ids: list[str], within: float) -> set[str]:
    deadline = time.monotonic() + within
    while True:
        text = await asyncio.to_thread(_lake_text, lakes)
        missing = {event_id for event_id in event_ids if event_id not in text}
        if not missing or time.monotonic() > deadline:
            return missing
        await asyncio.sleep(0.5)


def _lake_text(lakes: list[Path]) -> str:
    return "".join(
        p.read_text(errors="ignore") for lake in lakes if lake.exists() for p in lake.rglob("*") if p.is_file()
    )

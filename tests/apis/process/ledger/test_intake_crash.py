"""A Stripe event answered 2xx is not lost when the gateway is SIGKILLed right after the answer.

A gateway process (with the engine) and the vendors' process: one order is sold through
quote-to-cash, its draft invoice is finalized at the Stripe sandbox, and the ``invoice.finalized``
event is delivered, signed, to the gateway's intake — which is killed the moment its 2xx arrives.
No sweep of the inbox runs (``inbox_sweep_seconds`` is an hour) and no redelivery comes: the
restarted process finishes the workflow because it was durable before the answer.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest

from sandboxes.stripe.webhooks import sign
from tests.support.cluster import OPERATIONS, Cluster
from tests.support.procs import SandboxesProcess
from tests.support.stripe_gateway import WEBHOOK_PATH


@pytest.fixture
def sandboxes(tmp_path: Any) -> Iterator[SandboxesProcess]:
    """The vendors' process, outliving the gateway's crash."""
    process = SandboxesProcess(tmp_path / "vendors")
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _invoice_to_ledger(cluster: Cluster, client: httpx.AsyncClient, invoice_id: str) -> list[dict[str, Any]]:
    gateway = cluster.gateways[0]
    listed = await client.get(
        f"{gateway.url}{OPERATIONS}/transactions",
        params={"workflow": "invoice-to-ledger", "limit": 200},
        headers=cluster.headers,
    )
    assert listed.status_code == 200, listed.text
    return [t for t in listed.json()["items"] if t["business_key"] == invoice_id]


async def test_an_event_answered_2xx_survives_a_sigkill_right_after_the_answer(
    sandboxes: SandboxesProcess, tmp_path: Any
) -> None:
    cluster = Cluster(tmp_path, sandboxes, settings={"inbox_sweep_seconds": 3600}).start()
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            [deal] = await cluster.deals(client, 1, f"Intake Crash {uuid.uuid4().hex[:6]}")
            txns = await cluster.submit_all(client, [deal])
            views = await cluster.wait_until(client, set(txns.values()), settled=1, within=90)
            assert [v["state"] for v in views.values()] == ["completed"], views
            stripe = cluster.vendor_url("stripe")
            key = {"Authorization": f"Bearer {sandboxes.credentials('stripe')['secret_key']}"}
            query = f"metadata['crm_account_id']:'{deal['account_id']}'"
            [customer] = (
                await client.get(f"{stripe}/v1/customers/search", params={"query": query}, headers=key)
            ).json()["data"]
            invoices = (
                await client.get(f"{stripe}/v1/invoices", params={"customer": customer["id"]}, headers=key)
            ).json()
            [draft] = [i for i in invoices["data"] if i["status"] == "draft"]
            finalized = await client.post(f"{stripe}/v1/invoices/{draft['id']}/finalize", headers=key)
            assert finalized.status_code == 200, finalized.text
            event = {
                "id": f"evt_crash{uuid.uuid4().hex[:16]}",
                "object": "event",
                "type": "invoice.finalized",
                "created": int(time.time()),
                "data": {"object": finalized.json()},
            }
            payload = msgspec.json.encode(event)
            headers = {
                "Content-Type": "application/json",
                "Stripe-Signature": sign(payload, sandboxes.credentials("stripe")["webhook_secret"]),
            }
            answer = await client.post(f"{cluster.gateways[0].url}{WEBHOOK_PATH}", content=payload, headers=headers)
            cluster.crash()  # the moment the 2xx is in
            assert answer.status_code == 200, answer.text
            cluster.restart()

            deadline = time.monotonic() + 60
            while True:
                found = await _invoice_to_ledger(cluster, client, draft["id"])
                if found and found[0]["state"] == "completed":
                    break
                assert time.monotonic() < deadline, f"not completed after the restart: {found}"
                await asyncio.sleep(0.1)
            [done] = found
            # Stripe delivers it again (it may): nothing starts twice.
            again = await client.post(f"{cluster.gateways[0].url}{WEBHOOK_PATH}", content=payload, headers=headers)
            assert again.status_code == 200 and again.json()["duplicate"] is True
            [still] = await _invoice_to_ledger(cluster, client, draft["id"])
            assert still["id"] == done["id"] and still["state"] == "completed"
    finally:
        cluster.stop()

"""Workflows checkpointed by an earlier release of the code still recover and replay.

The engine pickles step results (canonical objects, plans) and errors by module and class
name, so moving a class between modules could break every workflow recorded before the move.
``tests/fixtures/recorded/quote-to-cash.tar.gz`` is a state directory recorded by
:mod:`tests.fixtures.recorded.record` on the code as it stood before the architecture
restructuring: one quote-to-cash transaction stopped in a closed ERP period (failed, with its
earlier steps' results and its error pickled) and one killed while its Stripe call was in
flight (pending). A gateway started on that state must finish the pending one by recovery and
the stopped one by an operator's replay, each with exactly one sales order.
"""

from __future__ import annotations

import asyncio
import json
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import load_settings
from tests.fixtures.recorded.record import ARCHIVE, IDS, SETTINGS
from tests.support.procs import GatewayProcess, provision_token

OPERATIONS = "/process/operations/v1"


async def _view(client: httpx.AsyncClient, headers: dict[str, str], transaction_id: str) -> dict[str, Any]:
    response = await client.get(f"{OPERATIONS}/transactions/{transaction_id}", headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _settled(
    client: httpx.AsyncClient, headers: dict[str, str], transaction_id: str, within: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        view = await _view(client, headers, transaction_id)
        if view["state"] in {"completed", "needs_attention", "failed"} and not view.get("running", False):
            return view
        assert time.monotonic() < deadline, f"{transaction_id} never settled: {view['state']}"
        await asyncio.sleep(0.2)


def _sales_orders(view: dict[str, Any]) -> list[str]:
    return [r["id"] for s in view["steps"] for r in s["records"] if r["object"] == "sales_order"]


async def test_workflows_recorded_before_the_restructuring_recover_and_replay(tmp_path: Path) -> None:
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(tmp_path, filter="data")
    state = tmp_path / "state"
    ids = json.loads(IDS.read_text())
    settings = load_settings({**SETTINGS, "state_dir": str(state)}, environ={})
    with ThreadPoolExecutor(1) as pool:  # provision_token runs an event loop of its own
        token = pool.submit(provision_token, settings, ids["token_scopes"].split(), name="after-the-move").result()
    headers = {"Authorization": f"Bearer {token}"}

    with GatewayProcess(state, **SETTINGS) as gateway:
        async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
            recovered = await _settled(client, headers, ids["pending"])
            assert recovered["state"] == "completed", recovered
            assert len(_sales_orders(recovered)) == 1

            stopped = await _view(client, headers, ids["needs_attention"])
            assert stopped["state"] == "needs_attention"
            assert stopped["exception"]["reason_code"] == "period_closed"
            replay = await client.post(
                f"{OPERATIONS}/exceptions/{ids['needs_attention']}/replay",
                json={"input": {"order_date": "2026-11-16"}},
                headers={**headers, "Idempotency-Key": "replay-recorded"},
            )
            assert replay.status_code == 202, replay.text
            replayed = await _settled(client, headers, ids["needs_attention"])
            assert replayed["state"] == "completed", replayed
            assert len(_sales_orders(replayed)) == 1

"""A transaction accepted but never started (a crash between its row and its workflow) starts at the next launch."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, SALESFORCE_CONTROL, deal
from tests.support.harness import running_gateway


async def test_an_accepted_transaction_without_a_workflow_is_started_when_the_engine_launches(tmp_path: Path) -> None:
    state = tmp_path / "state"
    async with running_gateway(state, **FAST_PROCESS_SETTINGS) as gw:
        made = (await gw.client.post(f"{SALESFORCE_CONTROL}/won-deals", json=[deal("Never Started Ltd")])).json()[0]
        # What POST /orders does before it starts the workflow — and then "the process dies".
        transaction, created = await gw.app.state.process.transactions.open(
            "quote-to-cash", made["opportunity_id"], input={"opportunity_id": made["opportunity_id"]}
        )
        assert created
        assert await gw.app.state.process.engine.status(transaction.id) is None

    async with running_gateway(state, **FAST_PROCESS_SETTINGS) as gw:
        store = gw.app.state.process.transactions
        for _ in range(200):
            found = await store.get(transaction.id)
            assert found is not None
            if found.state == "completed":
                break
            await asyncio.sleep(0.05)
        assert found.state == "completed", found
        assert (await gw.app.state.process.engine.status(transaction.id)) is not None

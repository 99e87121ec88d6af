"""The scheduled customer sync: one run of every account per interval, whoever asks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from apis.process.customer_sync.schedule import run_due, slot_key
from tests.apis.process.conftest import FAST_PROCESS_SETTINGS
from tests.apis.process.sync.conftest import Sync
from tests.support.harness import running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scheduled(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sync]:
    """A gateway whose schedule syncs every 60 minutes (the loop's first run is an interval away)."""
    settings = {**FAST_PROCESS_SETTINGS, "customer_sync_interval_minutes": 60}
    async with running_gateway(tmp_path_factory.mktemp("scheduled"), **settings) as gw:
        yield Sync(gw, writer={}, reader=await gw.bearer("process:operations:read", tier="internal"))


async def test_a_slot_starts_one_sync_of_every_account_however_often_it_is_asked(scheduled: Sync) -> None:
    process = scheduled.state.process
    now = time.time() // 3600 * 3600 + 10  # well inside one slot
    assert await run_due(process, now) is True
    assert await run_due(process, now + 1) is False  # the same slot: another process, or this one again
    transaction = await process.transactions.find("customer-sync", slot_key(now, 60))
    assert transaction is not None and transaction.input["all"] is True
    done = await scheduled.settled(transaction.id, within=30)
    assert done["state"] == "completed", done
    assert any(s["name"] == "list_accounts" for s in done["steps"])

"""The scheduled customer sync: one run of every account per interval, whoever asks."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from apis.process.customer_sync.schedule import NAME, customer_sync_schedule, slot_key, sync_slot
from apis.process.schedules import schedule_names
from tests.apis.process.conftest import FAST_PROCESS_SETTINGS
from tests.apis.process.sync.conftest import Sync
from tests.support.harness import running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def scheduled(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sync]:
    """A gateway whose schedule syncs every 60 minutes (the engine's first tick is at the next full hour)."""
    settings = {**FAST_PROCESS_SETTINGS, "customer_sync_interval_minutes": 60}
    async with running_gateway(tmp_path_factory.mktemp("scheduled"), **settings) as gw:
        yield Sync(gw, writer={}, reader=await gw.bearer("process:operations:read", tier="internal"))


async def test_a_slot_starts_one_sync_of_every_account_however_often_it_is_asked(scheduled: Sync) -> None:
    process = scheduled.state.process
    now = time.time() // 3600 * 3600 + 10  # well inside one slot
    # The tick's workflow, run as the engine runs it (here under an id of its own each time).
    assert (await sync_slot(dt.datetime.fromtimestamp(now, dt.UTC), 3600))["created"] is True
    # The same slot: another process, or this one again.
    assert (await sync_slot(dt.datetime.fromtimestamp(now + 1, dt.UTC), 3600))["created"] is False
    transaction = await process.transactions.find("customer-sync", slot_key(now, 60))
    assert transaction is not None and transaction.input["all"] is True
    done = await scheduled.settled(transaction.id, within=30)
    assert done["state"] == "completed", done
    assert any(s["name"] == "list_accounts" for s in done["steps"])


async def test_the_interval_is_an_hourly_schedule_of_the_engine(scheduled: Sync) -> None:
    schedule = customer_sync_schedule(scheduled.state.process.settings)
    assert schedule is not None and (schedule.cron, schedule.context) == ("0 0 * * * *", 3600)
    assert NAME in await schedule_names()

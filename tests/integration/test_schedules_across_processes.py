"""Two gateway processes on one PostgreSQL: each tick of a schedule runs once, and goes on when one dies.

Both processes apply the customer-sync schedule (every 2 seconds, through the test setting
``customer_sync_interval_seconds``) and both engines' schedulers fire every tick. What must hold:
every tick between the first and the last has exactly one workflow (none missed, none doubled),
each opened exactly one slot transaction ``all:schedule:<slot>`` and there is no other; the tick
ids are the ones :func:`apis.process.schedules.tick_workflow_id` computes (what a late start's
catch-up relies on); and after one process is killed with SIGKILL, the other keeps firing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from apis.process.customer_sync.schedule import NAME
from apis.process.schedules import tick_workflow_id
from core.db import process_transactions
from tests.support.cluster import Cluster
from tests.support.procs import SandboxesProcess

EVERY = 2
"""Seconds between ticks."""
PREFIX = f"sched-{NAME}-"
SETTLE_SECONDS = 45.0
"""How long the ticks' workflows may take to finish (a SIGKILLed process's are taken over once its
executor lease runs out: ~6-8 s with the cluster's settings)."""


async def _ticks(database_url: str) -> dict[dt.datetime, tuple[str, str | None]]:
    """Every tick's workflow: tick → (status, executor)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                sa.text(
                    "SELECT workflow_uuid, status, executor_id FROM dbos.workflow_status WHERE workflow_uuid LIKE :p"
                ),
                {"p": f"{PREFIX}%"},
            )
            found = [tuple(r) for r in rows]
    finally:
        await engine.dispose()
    ticks = {dt.datetime.fromisoformat(w.removeprefix(PREFIX)): (s, e) for w, s, e in found}
    assert len(ticks) == len(found)
    return ticks


async def _slots(database_url: str) -> list[str]:
    """The business keys of every customer-sync transaction."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            t = process_transactions.c
            query = sa.select(t.business_key).where(t.workflow == "customer-sync")
            return [str(k) for k in (await connection.execute(query)).scalars()]
    finally:
        await engine.dispose()


async def test_each_tick_runs_once_across_two_processes_and_on_after_one_dies(
    tmp_path: Path, postgres_url: str
) -> None:
    vendors = SandboxesProcess(tmp_path / "vendors")
    vendors.start()
    cluster = Cluster(tmp_path, vendors, database_url=postgres_url, settings={"customer_sync_interval_seconds": EVERY})
    try:
        cluster.start(2)
        await asyncio.sleep(5 * EVERY)  # both processes fire
        cluster.crash(0)
        killed_at = dt.datetime.now(dt.UTC)
        await asyncio.sleep(4 * EVERY)  # the survivor fires alone
        stopped_at = dt.datetime.now(dt.UTC)
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            ticks = await _ticks(postgres_url)
            unfinished = {t: s for t, s in ticks.items() if s[0] != "SUCCESS" and t < stopped_at}
            if not unfinished:
                break
            assert time.monotonic() < deadline, f"ticks not finished: {unfinished}"
            await asyncio.sleep(0.5)
        cluster.stop()
        ticks = await _ticks(postgres_url)
        slots = await _slots(postgres_url)
    finally:
        cluster.stop()
        vendors.stop()

    fired = sorted(ticks)
    print(f"{len(fired)} ticks; run by {sorted({e for _, e in ticks.values() if e})}")
    # None missed, none doubled: one workflow per tick, every EVERY seconds from the first to the last.
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(fired)] == [EVERY] * (len(fired) - 1)
    assert len(fired) >= 8, fired
    assert any(t > killed_at + dt.timedelta(seconds=EVERY) for t in fired), "the survivor fired no tick"
    assert all(tick_workflow_id(NAME, t) == f"{PREFIX}{t.isoformat()}" for t in fired)

    # Each finished tick opened its slot's transaction; no slot has two, none is a tick's of its own.
    def slot(tick: dt.datetime) -> str:
        return f"all:schedule:{int(tick.timestamp()) // EVERY}"

    assert len(slots) == len(set(slots))
    assert {slot(t) for t in fired if ticks[t][0] == "SUCCESS"} <= set(slots) <= {slot(t) for t in fired}

"""The scheduled customer sync: every ``customer_sync_interval_minutes``, a sync of every account.

Each interval is one slot (``all:schedule:<slot>``, the slot being the interval's number since
the epoch); the slot is the business key of its transaction, unique across processes, so however
many processes run the schedule, each slot syncs once. ``0`` minutes turns it off.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import structlog

from apis.process.customer_sync.routes import open_run

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

logger = structlog.get_logger("strata.process")


def slot_key(now: float, interval_minutes: int) -> str:
    """The business key of the scheduled run due at ``now`` (epoch seconds)."""
    return f"all:schedule:{int(now // (interval_minutes * 60))}"


async def run_due(process: ProcessRuntime, now: float | None = None) -> bool:
    """Start the run of the current slot unless it exists; whether this call created it."""
    interval = process.settings.customer_sync_interval_minutes
    if interval <= 0:
        return False
    key = slot_key(time.time() if now is None else now, interval)
    _, created = await open_run(process, None, business_key=key)
    if created:
        logger.info("scheduled customer sync started", business_key=key)
    return created


async def scheduled_customer_sync(process: ProcessRuntime) -> None:
    """Background job of every process with the engine (nothing when the interval is 0)."""
    interval = process.settings.customer_sync_interval_minutes
    if interval <= 0:
        return
    while True:
        await asyncio.sleep(interval * 60)
        try:
            await run_due(process)
        except Exception:  # the engine or database is away: try again next interval
            logger.exception("scheduled customer sync could not be started")

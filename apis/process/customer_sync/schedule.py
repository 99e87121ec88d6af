"""The scheduled customer sync: a scheduled workflow of the engine, a sync of every account per slot.

Every ``customer_sync_interval_minutes`` (or ``customer_sync_interval_seconds``, for a cadence
under a minute) the engine's scheduler fires one tick across processes
(:mod:`apis.process.schedules`). Each interval is one slot (``all:schedule:<slot>``, the slot
being the interval's number since the epoch; the cron fires on those boundaries,
:mod:`core.cadence`); the slot is the business key of its transaction, unique across processes,
so each slot syncs once. A slot that passed with no process running is not synced later (the
next slot syncs every account anyway). ``0`` turns the schedule off.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import structlog

from apis.process.customer_sync.workflow import WORKFLOW, customer_sync
from apis.process.engine import step, workflow
from apis.process.runtime import runtime
from apis.process.schedules import Schedule
from core import cadence

if TYPE_CHECKING:
    from core.settings import CoreSettings

NAME = "customer-sync"
"""The schedule's name (its ticks' workflow ids are ``sched-customer-sync-<tick>``)."""
logger = structlog.get_logger("strata.process")


def slot_key(now: float, interval_minutes: int) -> str:
    """The business key of the scheduled run due at ``now`` (epoch seconds)."""
    return _slot(now, interval_minutes * 60)


def interval_seconds(settings: CoreSettings) -> int:
    """The configured cadence in seconds (0: off)."""
    return settings.customer_sync_interval_seconds or settings.customer_sync_interval_minutes * 60


def customer_sync_schedule(settings: CoreSettings) -> Schedule | None:
    """The schedule the settings ask for (``None``: off)."""
    seconds = interval_seconds(settings)
    if seconds <= 0:
        return None
    return Schedule(name=NAME, workflow=sync_slot, cron=cadence.every(seconds), context=seconds)


@workflow("customer-sync-schedule")
async def sync_slot(tick: dt.datetime, seconds: int) -> dict[str, Any]:
    """One tick: open the slot's transaction (unless it exists) and start its sync."""
    key = _slot(tick.timestamp(), seconds)
    transaction_id, created = await step("open_slot", open_slot, key)
    # Started on every tick of the slot: a transaction whose first start was lost starts now.
    await runtime().engine.start_once(customer_sync, transaction_id, transaction_id, key)
    if created:
        logger.info("scheduled customer sync started", business_key=key)
    return {"business_key": key, "transaction_id": transaction_id, "created": created}


async def open_slot(key: str) -> tuple[str, bool]:
    """The slot's transaction id, and whether this call created it."""
    transaction, created = await runtime().transactions.open(WORKFLOW, key, input={"all": True})
    return transaction.id, created


def _slot(now: float, seconds: int) -> str:
    return f"all:schedule:{int(now // seconds)}"

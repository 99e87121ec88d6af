"""Business transactions in the metrics: how many are in each state, per workflow.

``strata_process_transactions{workflow, state}`` is read from the transaction table (the
truth every process shares) by a background job every :data:`REFRESH_SECONDS`, so each
process reports the same totals and a scrape lags the table by at most that interval. A
pair that drops to zero is reported as zero, not left at its last value.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import structlog
from prometheus_client import Gauge

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime

REFRESH_SECONDS = 10.0
TRANSACTIONS = Gauge(
    "strata_process_transactions",
    "Business transactions by workflow and business state (from the transaction table)",
    ["workflow", "state"],
    multiprocess_mode="max",  # every process reads the same table: one value, not a sum
)
logger = structlog.get_logger("strata.process")


async def refresh(process: ProcessRuntime) -> None:
    """Set the gauge from the table once."""
    counts = await process.transactions.counts()
    for (workflow, state), count in counts.items():
        TRANSACTIONS.labels(workflow=workflow, state=state).set(count)
    for labels in list(TRANSACTIONS._metrics):
        if labels not in counts:
            TRANSACTIONS.labels(*labels).set(0)


async def transaction_metrics(process: ProcessRuntime) -> None:
    """Background job: refresh the gauge every interval until cancelled."""
    while True:
        try:
            await refresh(process)
        except Exception:  # the database is away: the gauge keeps its last values
            logger.exception("transaction metrics could not be refreshed")
        await asyncio.sleep(REFRESH_SECONDS)

"""The alert signals as metrics: the gauges the Prometheus rules (deploy/prometheus) alert on,
read from rows of the shared tables written as the workflows and workers write them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.alerts.signal_metrics import refresh_signal_metrics
from core.db import create_engine, process_transactions
from core.migrations import create_schema
from tests.apis.process.alerts.test_evaluate import (
    HOUR,
    T0,
    dead_webhooks,
    reconciliation_run,
    slow_orders,
    transaction,
)


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'strata.db'}")
    await create_schema(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def value(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


async def test_each_signal_is_a_gauge_and_drops_to_zero_when_it_is_gone(engine: AsyncEngine) -> None:
    await slow_orders(engine, T0)  # three orders of 10 min in the last hour
    waiting = await transaction(engine, state="needs_attention", created=T0 - 30 * HOUR, attention_since=T0 - 25 * HOUR)
    await reconciliation_run(engine, "rec_first", 3, T0 - 600)
    await dead_webhooks(engine, T0)  # two dead deliveries of partner-7

    await refresh_signal_metrics(engine, T0, lambda workflow: 300)
    assert value("strata_process_workflow_p95_seconds", workflow="quote-to-cash") == 600
    assert value("strata_process_workflow_sla_target_seconds", workflow="quote-to-cash") == 300
    assert value("strata_process_oldest_exception_seconds", workflow="quote-to-cash") == 25 * HOUR
    assert value("strata_reconciliation_mismatches", period="2026-10") == 3
    assert value("strata_partner_webhook_dead_deliveries", partner="partner-7") == 2

    async with engine.begin() as connection:
        await connection.execute(
            update(process_transactions).where(process_transactions.c.id == waiting).values(state="dismissed")
        )
    await reconciliation_run(engine, "rec_second", 0, T0 + 1)  # a clean rerun of the period
    await refresh_signal_metrics(engine, T0 + 2 * HOUR, lambda workflow: 300)  # orders out of the window
    assert value("strata_process_workflow_p95_seconds", workflow="quote-to-cash") == 0
    assert value("strata_process_oldest_exception_seconds", workflow="quote-to-cash") == 0
    assert value("strata_reconciliation_mismatches", period="2026-10") == 0
    assert value("strata_partner_webhook_dead_deliveries", partner="partner-7") == 2  # still within 24 h
    await refresh_signal_metrics(engine, T0 + 25 * HOUR, lambda workflow: 300)
    assert value("strata_partner_webhook_dead_deliveries", partner="partner-7") == 0

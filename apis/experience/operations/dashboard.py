"""The operations dashboard composed from what every part of the gateway already records.

* transactions (states, throughput, exception aging, SLA): the shared transaction table,
  see :mod:`apis.experience.operations.transaction_stats`;
* vendors: this process's circuit breakers (per process by design, see
  :mod:`apis.system.kit.circuit_breaker`);
* rate-limit denials: the audit log, which every process writes to the shared database;
* reconciliation: the latest run in the shared run table.

Nothing here needs the workflow engine, so every gateway process answers it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import time
from typing import Any

from apis.experience.operations.data import OperationsData
from apis.experience.operations.transaction_stats import TransactionStats
from apis.experience.operations.views import (
    ClientDenials,
    Dashboard,
    RateLimitDenials,
    ReconciliationSummary,
    VendorHealth,
    Window,
)
from apis.process.reconciliation.store import RunStore
from apis.system.kit.circuit_breaker import CircuitBreaker

TOP_DENIED_CLIENTS = 10
"""Clients listed under ``rate_limit_denials`` (the most denied first)."""
RATE_LIMIT_POLICY = "rate_limit"


def bucket_seconds(hours: int) -> int:
    """Throughput bucket width for a window of ``hours``: 15 min up to 6 h, 1 h up to 48 h, else 6 h."""
    if hours <= 6:
        return 900
    if hours <= 48:
        return 3600
    return 6 * 3600


@functools.cache
def registered_workflows() -> tuple[str, ...]:
    """Every process workflow's name, in registry order."""
    from apis.process.registry import workflow_specs

    return tuple(workflow_specs())


def _instant(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, dt.UTC)


def vendor_health(breaker: CircuitBreaker) -> VendorHealth:
    """One vendor as its breaker in this process sees it."""
    circuit = breaker.state
    if circuit == "open":
        health = "down"
    elif circuit == "half_open" or breaker.failures:
        health = "degraded"
    else:
        health = "healthy"
    return VendorHealth(
        vendor=breaker.vendor,
        health=health,
        circuit=circuit,
        since=_instant(breaker.since),
        consecutive_failures=breaker.failures,
        retry_in_seconds=round(breaker.retry_in(), 1),
    )


async def _denials(data: OperationsData, start: float, end: float) -> RateLimitDenials:
    top, total = await data.audit_query.denials_by_client(RATE_LIMIT_POLICY, start, end, limit=TOP_DENIED_CLIENTS)
    clients = data.clients
    return RateLimitDenials(
        total=total,
        clients=[
            ClientDenials(client_id=client_id, name=getattr(clients.cached(client_id), "name", None), denials=count)
            for client_id, count in top
        ],
    )


async def _reconciliation(engine: Any) -> ReconciliationSummary | None:
    runs, _ = await RunStore(engine).page(limit=1)
    if not runs:
        return None
    run = runs[0]
    return ReconciliationSummary(
        id=run.id,
        period=run.period,
        trigger=run.trigger,
        status=run.status,
        created_at=_instant(run.created_at),
        completed_at=_instant(run.completed_at) if run.completed_at is not None else None,
        mismatch_count=run.mismatch_count,
        by_kind=run.by_kind or {},
    )


async def dashboard(data: OperationsData, hours: int) -> Dashboard:
    """The dashboard of the last ``hours`` (windowed sections: throughput, SLA, denials)."""
    engine = data.engine
    end = time.time()
    start = end - hours * 3600
    size = bucket_seconds(hours)
    origin = start // size * size  # buckets align to whole multiples of their width (UTC)
    stats = TransactionStats(engine, registered_workflows())
    states, throughput, aging, sla, denials, reconciliation = await asyncio.gather(
        stats.states(),
        stats.throughput(origin, end, size),
        stats.exception_aging(end),
        stats.sla(start, end, data.sla_seconds),
        _denials(data, start, end),
        _reconciliation(engine),
    )
    return Dashboard(
        window=Window(hours=hours, start=_instant(start), end=_instant(end), bucket_seconds=size),
        states=states,
        throughput=throughput,
        exception_aging=aging,
        sla=sla,
        vendors=[vendor_health(data.circuit_breakers[name]) for name in sorted(data.circuit_breakers)],
        rate_limit_denials=denials,
        reconciliation=reconciliation,
    )

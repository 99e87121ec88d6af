"""Vendor circuit states, reported by every process to the shared database.

A circuit breaker lives in one process's memory (``apis.system.kit.circuit_breaker``: each
process learns about a vendor from its own calls, and nothing shared sits on the request
path). For an alert that fires once across all processes, each process writes what its
breakers show at every alert tick (:func:`report_circuits`), one row per process and vendor,
and the ``circuit_open`` rule reads the fresh rows (``apis.process.alerts.signals``). A
process that stopped reporting (stopped, crashed) no longer counts once its rows are stale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import vendor_circuit_reports

CLOSED = "closed"
FORGET_AFTER_SECONDS = 86_400.0
"""Reports older than this (a process long gone) are deleted by the next report of any process."""

CircuitStates = Callable[[], Mapping[str, tuple[str, float]]]
"""This process's breakers: vendor → (state, wall-clock epoch the state began)."""


async def report_circuits(
    engine: AsyncEngine, reporter: str, states: Mapping[str, tuple[str, float]], now: float
) -> None:
    """Record ``reporter``'s breaker ``states`` at ``now``.

    ``not_closed_since`` is kept across reports while a circuit stays away from closed (it
    goes open → half-open → open again, each with a new start time, while the vendor is down)
    and cleared when it closes.
    """
    c = vendor_circuit_reports.c
    async with engine.begin() as connection:
        rows = await connection.execute(select(c.vendor, c.not_closed_since).where(c.reporter == reporter))
        before = {vendor: since for vendor, since in rows.all()}
        await connection.execute(delete(vendor_circuit_reports).where(c.reporter == reporter))
        await connection.execute(delete(vendor_circuit_reports).where(c.reported_at < now - FORGET_AFTER_SECONDS))
        reports = []
        for vendor, (state, state_since) in sorted(states.items()):
            since = None
            if state != CLOSED:
                since = before.get(vendor) or min(state_since, now)
            reports.append(
                {"reporter": reporter, "vendor": vendor, "state": state, "not_closed_since": since, "reported_at": now}
            )
        if reports:
            await connection.execute(vendor_circuit_reports.insert(), reports)

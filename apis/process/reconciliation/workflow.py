"""The reconciliation workflow: read every side, compare, store the report.

Read top to bottom; each step is checkpointed (a run resumed after a crash compares what it
read before)::

    open_run           a scheduled run only: the run row (or the run already in flight → skip)
    read_xrefs         the cross-reference store
    fetch_crm          CRM accounts
    fetch_erp          ERP customers, invoices, items, linked customer payments
    fetch_billing      billing customers, invoices, products, prices, payments
    fetch_catalog      product platform products and SKUs
    fetch_revenue      revenue the ERP recognised in the period over service periods
    compare_and_store  the report, the run's end and strata.reconciliation.completed, in one transaction

The workflow id is the run id for a run started through the API, and
``reconciliation:daily:<date>`` for the daily run (so processes that all run the schedule start
it once). Every step reads; nothing is written to a vendor. A step failing for good ends the run
``failed`` with the reason (the period can then be run again).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import msgspec
import structlog

from apis.process.engine import current_workflow_id, step, workflow
from apis.process.events import deterministic_event_id, new_event
from apis.process.reconciliation.compare import reconcile
from apis.process.reconciliation.snapshot import (
    BillingSide,
    CatalogSide,
    CrmSide,
    ErpSide,
    XrefLink,
    fetch_billing,
    fetch_catalog,
    fetch_crm,
    fetch_erp,
    fetch_revenue,
    read_xrefs,
)
from apis.process.reconciliation.store import Run, RunStore
from apis.process.runtime import runtime
from core.errors import StrataError

WORKFLOW = "reconciliation"
SOURCE = "/strata/process/reconciliation"
COMPLETED_EVENT = "strata.reconciliation.completed"
logger = structlog.get_logger("strata.process")
R = TypeVar("R")


class OpenedRun(msgspec.Struct, frozen=True, kw_only=True):
    """The run a scheduled workflow opened, or found in flight."""

    run_id: str
    created: bool


@workflow(WORKFLOW)
async def reconciliation(run_id: str | None, period: str) -> dict[str, Any]:
    """Reconcile ``period``; ``run_id`` is ``None`` for a scheduled run (the workflow opens it)."""
    if run_id is None:
        opened = await step("open_run", open_scheduled_run, period, current_workflow_id())
        if not opened.created:  # a run of the period is in flight already: it is today's run
            return {"run_id": opened.run_id, "skipped": True}
        run_id = opened.run_id
    xrefs = await _step(run_id, "read_xrefs", read_xrefs)
    crm = await _step(run_id, "fetch_crm", fetch_crm)
    erp = await _step(run_id, "fetch_erp", fetch_erp, xrefs)
    billing = await _step(run_id, "fetch_billing", fetch_billing)
    catalog = await _step(run_id, "fetch_catalog", fetch_catalog)
    revenue = await _step(run_id, "fetch_revenue", fetch_revenue, period)
    erp = msgspec.structs.replace(erp, revenue=revenue)
    count = await _step(
        run_id, "compare_and_store", compare_and_store, run_id, period, xrefs, crm, erp, billing, catalog
    )
    return {"run_id": run_id, "mismatches": count}


async def open_scheduled_run(period: str, workflow_id: str) -> OpenedRun:
    """The scheduled run's row (created once: the step's result is checkpointed)."""
    run, created = await RunStore(runtime().database).open(period, trigger="schedule", workflow_id=workflow_id)
    return OpenedRun(run_id=run.id, created=created)


async def compare_and_store(
    run_id: str,
    period: str,
    xrefs: list[XrefLink],
    crm: CrmSide,
    erp: ErpSide,
    billing: BillingSide,
    catalog: CatalogSide,
) -> int:
    """Compare, then store the report and emit the event in one transaction; the mismatch count."""
    process = runtime()
    report = reconcile(period, xrefs, crm, erp, billing, catalog, systems=(process.crm.vendor, process.billing.vendor))
    store = RunStore(process.database)
    run = await store.get(run_id)
    event = new_event(
        COMPLETED_EVENT,
        event_id=deterministic_event_id(run_id, "compare_and_store", COMPLETED_EVENT),
        subject=run_id,
        source=SOURCE,
        correlation_id=run.correlation_id if run and run.correlation_id else run_id,
        data={
            "run_id": run_id,
            "period": period,
            "mismatches": len(report.mismatches),
            "by_kind": report.by_kind(),
        },
    )
    await store.complete(run_id, report, event)
    return len(report.mismatches)


async def _step(run_id: str, name: str, func: Callable[..., Coroutine[Any, Any, R]], *args: Any) -> R:
    """Run a step; if it fails for good, end the run ``failed`` with the reason, then re-raise."""
    try:
        return await step(name, func, *args, retry=runtime().step_retry)
    except Exception as error:
        reason = f"{name}: {error.detail}" if isinstance(error, StrataError) else f"{name}: an unexpected error"
        if not isinstance(error, StrataError):
            logger.exception("reconciliation step failed unexpectedly", run_id=run_id, step=name)
        await step("record_failure", RunStore(runtime().database).fail, run_id, reason)
        raise


async def start_run(period: str, *, requested_by: str | None, correlation_id: str | None) -> tuple[Run, bool]:
    """A new run of ``period`` started through the API, or the run in flight; (run, created)."""
    process = runtime()
    run, created = await RunStore(process.database).open(
        period, trigger="api", requested_by=requested_by, correlation_id=correlation_id
    )
    if run.workflow_id == run.id:
        # Started on every submission: a run whose first start was lost (a crash between the row
        # and the start) starts now; one that runs is left alone by the engine.
        await process.engine.start_once(reconciliation, run.id, run.id, period)
    return run, created


def previous_month(day: dt.date) -> str:
    """``YYYY-MM`` of the month before ``day``'s."""
    last = day.replace(day=1) - dt.timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


def daily_workflow_id(day: dt.date) -> str:
    """The workflow id of ``day``'s scheduled run."""
    return f"reconciliation:daily:{day.isoformat()}"


async def start_daily(day: dt.date) -> bool:
    """Start ``day``'s scheduled run of the previous month (once, whoever asks); whether this call did."""
    return await runtime().engine.start_once(reconciliation, daily_workflow_id(day), None, previous_month(day))

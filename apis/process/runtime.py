"""What process workflows run against: the system services, the stores, the engine.

Workflows are module-level functions registered with the engine at import time, and the
engine is one per process; so is this runtime. The app's lifespan builds it after the system
services (:func:`start_runtime`) and workflow steps reach it with :func:`runtime`. What the
layers above contribute (the experience APIs' outbox subscribers and background jobs) the
composition root hands to :func:`start_runtime`: nothing here imports those layers.

Process APIs call the system APIs' **services** in-process (not over HTTP): the governance
chain guards the edge, and a workflow step is not a caller at the edge. Each service keeps
its own connector resilience (breaker, short in-memory retries); the step adds the durable,
longer retries (:class:`~apis.process.engine.StepRetry`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from apis.process.engine import StepRetry, WorkflowEngine, system_database_url
from apis.process.executor_leases import ExecutorLease, keep_lease
from apis.process.stops import QuietStops
from apis.process.transactions import TransactionStore
from apis.process.workflow_versions import COMPATIBLE_WORKFLOW_VERSIONS, WORKFLOW_VERSION
from apis.process.xref import XrefStore
from policies.governance import SubscriptionChangeRules

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from apis.process.events import OutboxRelay, Subscriber
    from apis.process.spec import WorkflowSpec
    from apis.system.billing.service import BillingService
    from apis.system.crm.service import CrmService
    from apis.system.data.service import DataService
    from apis.system.erp.service import ErpService
    from apis.system.payments.service import PaymentsService
    from apis.system.product.service import ProductService
    from apis.system.tax.service import TaxService
    from core.cursors import Keyset
    from core.settings import CoreSettings

logger = structlog.get_logger("strata.process")
T = TypeVar("T")

BackgroundJob = Callable[["ProcessRuntime"], Coroutine[Any, Any, None]]
"""A loop a process runs while its engine runs (an inbox consumer, a schedule); cancelled at stop."""

EventSubscribers = Callable[["ProcessRuntime"], Sequence["Subscriber"]]
"""Outbox subscribers for a running process (the composition root hands the experience APIs')."""


def no_event_subscribers(process: ProcessRuntime) -> Sequence[Subscriber]:
    """No outbox subscriber besides the data platform."""
    return ()


class MasterDataCache:
    """Short-lived cache of master data a workflow validates against (items, prices, periods).

    Only found values are kept: a product missing from the catalog is asked for again next
    time, so fixing the catalog takes effect at once.
    """

    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._values: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, load: Callable[[], Awaitable[T | None]]) -> T | None:
        """The cached value of ``key``, or ``load()``'s (cached when not ``None``)."""
        hit = self._values.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]  # type: ignore[no-any-return]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:  # one load per key at a time: a burst of orders asks the vendor once
            hit = self._values.get(key)
            if hit is not None and hit[0] > time.monotonic():
                return hit[1]  # type: ignore[no-any-return]
            value = await load()
            if value is not None and self._ttl > 0:
                self._values[key] = (time.monotonic() + self._ttl, value)
            return value


class ProcessRuntime:
    """One process's workflow engine and everything its workflow steps use."""

    def __init__(
        self, settings: CoreSettings, engine: AsyncEngine, services: dict[str, Any], *, executor_id: str
    ) -> None:
        self.settings = settings
        self.database = engine
        self.transactions = TransactionStore(engine)
        self.xref = XrefStore(engine)
        self.crm: CrmService = services["crm"]
        self.erp: ErpService = services["erp"]
        self.billing: BillingService = services["billing"]
        self.payments: PaymentsService = services["payments"]
        self.tax: TaxService = services["tax"]
        self.product: ProductService = services["product"]
        self.data: DataService = services["data"]
        self.relay: OutboxRelay | None = None
        self.lease: ExecutorLease | None = None
        """This process's lease on its executor id (see :mod:`apis.process.executor_leases`)."""
        """The outbox relay of this process, once the event delivery job runs."""
        self.event_subscribers: EventSubscribers = no_event_subscribers
        """Outbox subscribers besides the data platform (see :func:`start_runtime`)."""
        self.change_rules: Callable[[], SubscriptionChangeRules] = SubscriptionChangeRules
        """The governance file's subscription-change rules as they are now (they reload with it)."""
        self.erp_system = self.erp.vendor
        """Name of the ERP in lineage and cross-references (a key of ``ERP_VENDORS``, e.g. ``sap-s4hana``)."""
        self.master_data = MasterDataCache(settings.master_data_ttl_seconds)
        self.step_retry = StepRetry(
            max_attempts=settings.workflow_step_attempts,
            backoff_base_seconds=settings.workflow_backoff_base_ms / 1000,
            backoff_max_seconds=settings.workflow_backoff_max_ms / 1000,
        )
        self.jobs: list[asyncio.Task[None]] = []
        """Background loops (:func:`apis.process.registry.background_jobs` and those handed over)."""
        self.workflows: dict[str, WorkflowSpec] = {}
        """Every workflow by name (see :mod:`apis.process.registry`)."""
        self.engine = WorkflowEngine(
            system_database_url=system_database_url(
                settings.effective_database_url, str(settings.state_path / "workflows.sqlite")
            ),
            executor_id=executor_id,
            # The workflow version, not the release: a new release finishes the pending workflows of
            # the previous one (apis.process.workflow_versions).
            application_version=WORKFLOW_VERSION,
            compatible_versions=COMPATIBLE_WORKFLOW_VERSIONS,
            run_migrations=settings.migrates_at_start,
        )


_current: ProcessRuntime | None = None


def runtime() -> ProcessRuntime:
    """The running process's runtime.

    Raises:
        RuntimeError: the workflow engine is not running in this process.
    """
    if _current is None:
        raise RuntimeError("the workflow engine is not running in this process")
    return _current


async def start_runtime(
    settings: CoreSettings,
    engine: AsyncEngine,
    services: dict[str, Any],
    *,
    workflows: Mapping[str, WorkflowSpec],
    event_subscribers: EventSubscribers = no_event_subscribers,
    jobs: Sequence[BackgroundJob] = (),
    change_rules: Callable[[], SubscriptionChangeRules] = SubscriptionChangeRules,
) -> ProcessRuntime:
    """Build the runtime, register the workflows and launch the engine (recovering this
    executor's pending workflows, which then run against this runtime).

    Args:
        settings: the gateway's settings.
        engine: the state database.
        services: each system API's service by name.
        workflows: every workflow by name (:func:`apis.process.registry.workflow_specs`; their
            modules imported before the engine launches: DBOS registers workflows at import).
        event_subscribers: outbox subscribers of the layers above, besides the data platform.
        jobs: every background loop to run (the process layer's own and those of the layers above).
        change_rules: the governance file's subscription-change rules, read when a change is planned.
    """
    global _current
    lease = await ExecutorLease.claim(
        engine, configured=settings.executor_id, port=settings.port, lease_seconds=settings.executor_lease_seconds
    )
    process = ProcessRuntime(settings, engine, services, executor_id=lease.executor_id)
    process.lease = lease
    process.event_subscribers = event_subscribers
    process.change_rules = change_rules
    process.workflows = dict(workflows)
    _current = process
    logging.getLogger("dbos").addFilter(QuietStops())
    # On the event loop's own thread, although it blocks it for a moment (schema check,
    # recovery scan): DBOS runs recovered and dequeued async workflows on the loop of the
    # thread that launched it, and on a loop of its own otherwise — where our database
    # engine and HTTP clients, bound to this loop, fail ("bound to a different event loop").
    process.engine.launch()
    logger.info(
        "workflow engine launched",
        executor_id=process.engine.executor_id,
        release=release_version(settings),
        workflow_version=WORKFLOW_VERSION,
    )
    waiting = process.engine.waiting_for_other_versions()
    if waiting:
        logger.warning(
            "unfinished workflows of other workflow versions wait for a process of their release",
            versions=waiting,
        )
    await start_unstarted(process)
    process.jobs = [asyncio.create_task(job(process)) for job in jobs]
    process.jobs.append(asyncio.create_task(keep_lease(lease, process.engine.recover_executor)))
    return process


async def start_unstarted(process: ProcessRuntime) -> int:
    """Start the workflow of every ``accepted`` transaction the engine has never heard of.

    The API writes the transaction, then starts its workflow; a crash between the two leaves
    a transaction without a workflow, which this finds at the next start. Returns how many.
    """
    from apis.process.transactions import ACCEPTED, TransactionFilter

    started = 0
    position: Keyset | None = None
    while True:
        page, position = await process.transactions.page(
            TransactionFilter(states=(ACCEPTED,)), limit=200, position=position
        )
        for transaction in page:
            spec = process.workflows.get(transaction.workflow)
            if spec is not None and await process.engine.status(transaction.id) is None:
                await process.engine.start_once(spec.run, transaction.id, transaction.id, transaction.business_key)
                started += 1
        if position is None:
            break
    if started:
        logger.warning("started workflows that were accepted but never started", count=started)
    return started


async def stop_runtime(process: ProcessRuntime) -> None:
    """Stop the engine; workflows in flight resume when an engine with this executor id launches."""
    global _current
    from core.background import cancel_and_wait

    for job in process.jobs:
        await cancel_and_wait(job)
    # On a thread of its own: DBOS made its executor this loop's default executor at launch
    # (asyncio.to_thread would submit the shutdown to the executor it shuts down).
    with ThreadPoolExecutor(1, thread_name_prefix="engine-shutdown") as pool:
        await asyncio.get_running_loop().run_in_executor(pool, process.engine.shutdown)
    if process.lease is not None:
        await process.lease.release()
    if _current is process:
        _current = None


def release_version(settings: CoreSettings) -> str:
    """The release this process runs: ``STRATA_RELEASE_VERSION`` if set, else the package's version."""
    if settings.release_version:
        return settings.release_version
    try:
        return version("strata")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "0"

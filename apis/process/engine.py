"""The workflow facade: durable execution (DBOS Transact) behind a few verbs.

Process APIs are written against this module only, never against DBOS, so a workflow reads
top to bottom::

    @workflow("quote-to-cash")
    async def quote_to_cash(opportunity_id: str) -> str:
        order = await step("read_opportunity", crm.get_opportunity, opportunity_id)
        ...
        await step("create_sales_order", erp.create_sales_order, order, key=idempotency_key("create_sales_order"))

The verbs:

* :meth:`WorkflowEngine.start_once` — start a workflow under its business key (the workflow
  id, e.g. ``quote-to-cash:006…``); starting it again, concurrently or later, returns the one
  that exists instead of a second run.
* :func:`step` — run one checkpointed step. A finished step is never run again, not after a
  crash, not on recovery: its recorded result (or error) is replayed. Errors are classified
  by the gateway's error tree: :class:`~core.errors.RetryableError` (timeouts, 429, 5xx) is
  retried per :class:`StepRetry`, sleeping durably at least the vendor's ``Retry-After``;
  anything else fails the step at once. Each attempt is its own recorded step, so the
  operations view can show attempts and their errors.
* :func:`idempotency_key` — ``<workflow id>:<step name>``: the key every vendor write in a
  step carries, so a step re-run after a crash (the one step that can run twice: it was in
  flight) never writes twice.
* :func:`wait_for_event` / :meth:`WorkflowEngine.send` — a workflow waits durably for a message
  (a webhook, an operator's decision).
* :func:`sleep` — a workflow waits durably for a while (a restart sleeps only what is left).
* :meth:`WorkflowEngine.replay` — re-run a finished (failed) workflow from a named step, under
  the same workflow id (DBOS ``rewind``; its steps before that one keep their results, so their
  idempotency keys — and the vendor records they created — stay the same).
* :meth:`WorkflowEngine.cancel`, :meth:`WorkflowEngine.status`, :meth:`WorkflowEngine.steps`.

Retry layers are not stacked on one wait: connectors retry briefly in memory (milliseconds to
seconds, :mod:`apis.system.kit.vendor_http`) and raise when the vendor asks for a longer pause; a step
then waits that pause durably (``DBOS.sleep_async`` survives a restart) and tries again.

DBOS is a process-wide singleton: one :class:`WorkflowEngine` per process, launched in the
app's lifespan. Its system database is SQLite under the state directory by default and the
gateway's PostgreSQL database (schema ``dbos``) when ``STRATA_DATABASE_URL`` points at one.
Each process needs a stable executor id of its own (``STRATA_EXECUTOR_ID``): a restarted
process recovers the pending workflows of its id only.
"""

from __future__ import annotations

import datetime as dt
import importlib
import random
import sys
from collections.abc import Awaitable, Callable, Collection, Coroutine
from typing import Any, ParamSpec, TypeVar

import msgspec
import sqlalchemy as sa
from dbos import DBOS, DBOSConfig, SetWorkflowID, StepOptions, WorkflowHandleAsync
from dbos._dbos import _get_dbos_instance  # the launched instance (its system database)
from dbos._error import (  # not re-exported by dbos
    DBOSInitializationError,  # a launch that may not migrate found no (or an old) schema
    DBOSWorkflowIDInUseError,  # raised by the "reject" reuse policy
)
from dbos._recovery import _recover_workflow  # re-enqueue one pending workflow (recovery's own step)
from dbos._utils import INTERNAL_QUEUE_NAME  # the queue recovery re-enqueues onto

from core.backoff import backoff_delay
from core.errors import RetryableError, StateUnavailable
from core.migrations import SchemaNotCurrent
from core.state_outage import is_state_outage

P = ParamSpec("P")
R = TypeVar("R")

APP_NAME = "strata"

MOVED_MODULES: dict[str, str] = {
    "gateway.errors": "core.errors",
}
"""Modules whose classes steps returned or raised before they moved: old path → where they live now.

The engine checkpoints step results and errors by pickling them, and a pickle names each
class by module path; a workflow recorded before a move would fail to recover or replay
without these (``tests/apis/process/engine/test_recorded_recovery.py`` holds one recorded before the
architecture restructuring). Add a row whenever a module of step results or errors moves.
(``apis.canonical`` needs none: split into one module per domain, the package re-exports every
class under its old path.)
"""


def _alias_moved_modules() -> None:
    """Make every old module path of :data:`MOVED_MODULES` importable as its new module."""
    for old, new in MOVED_MODULES.items():
        sys.modules.setdefault(old, importlib.import_module(new))


class StepRetry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How a step retries retryable errors: bounded attempts, durable exponential backoff."""

    max_attempts: int = 5
    """Attempts in all, the first included."""
    backoff_base_seconds: float = 1.0
    """Pause after the first failed attempt; doubles per attempt, with jitter."""
    backoff_max_seconds: float = 300.0
    """Ceiling of one pause; a longer ``Retry-After`` is still honoured up to this."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.backoff_base_seconds < 0 or self.backoff_max_seconds < 0:
            raise ValueError("max_attempts must be at least 1; backoffs not negative")

    def pause(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed ``attempt`` (1-based): jittered, never below ``retry_after``."""
        return backoff_delay(
            attempt - 1,
            base=self.backoff_base_seconds,
            cap=self.backoff_max_seconds,
            jitter="equal",
            retry_after=retry_after,
            rng=rng,
        )


DEFAULT_STEP_RETRY = StepRetry()


class StepRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded step of a workflow (one attempt, for steps that were retried)."""

    index: int
    """Position in the workflow (1-based), as the engine numbers its operations."""
    name: str
    """Step name."""
    error: str | None
    """Why the attempt failed, if it did."""
    started_at: dt.datetime | None
    """When the attempt started (UTC)."""
    completed_at: dt.datetime | None
    """When it finished (UTC)."""


class WorkflowState(msgspec.Struct, frozen=True, kw_only=True):
    """Where a workflow stands in the engine."""

    workflow_id: str
    """The business key it was started under."""
    name: str
    """Workflow name."""
    status: str
    """Engine status: ``PENDING``, ``ENQUEUED``, ``SUCCESS``, ``ERROR``, ``CANCELLED``, ..."""
    error: str | None
    """The error that ended it, if it failed."""
    executor_id: str | None
    """Process that runs (or last ran) it."""


def workflow(name: str) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Register an async function as a durable workflow under ``name`` (at import time)."""
    decorator: Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]] = DBOS.workflow(name=name)
    return decorator


async def step(
    name: str,
    func: Callable[..., Coroutine[Any, Any, R]],
    *args: Any,
    retry: StepRetry = DEFAULT_STEP_RETRY,
    **kwargs: Any,
) -> R:
    """Run ``func(*args, **kwargs)`` as the checkpointed step ``name`` of the current workflow.

    Raises:
        RetryableError: still failing after ``retry.max_attempts`` attempts.
        Exception: the first non-retryable error, unchanged.
    """
    attempt = 1
    while True:
        try:
            try:
                result: R = await DBOS.run_step_async(StepOptions(name=name), _classified, func, *args, **kwargs)
                return result
            except RetryableError:
                raise
            except Exception as error:
                if not is_state_outage(error):
                    raise
                # The engine's own write of the step's outcome met the outage.
                raise _state_unavailable(error) from error
        except RetryableError as error:
            if attempt >= retry.max_attempts:
                raise
            await DBOS.sleep_async(retry.pause(attempt, error.retry_after, _RNG))
            attempt += 1


async def _classified(func: Callable[..., Coroutine[Any, Any, R]], *args: Any, **kwargs: Any) -> R:
    """``func``'s result; our state database briefly out of reach becomes :class:`StateUnavailable`
    here, inside the step, so that the engine records that (a retryable error) as the attempt's
    outcome. Recorded raw, a replay would re-raise the bare driver error without the traceback
    that :func:`is_state_outage` recognises it by, and fail the step as a defect."""
    try:
        return await func(*args, **kwargs)
    except RetryableError:
        raise
    except Exception as error:
        if is_state_outage(error):
            raise _state_unavailable(error) from error
        raise


def _state_unavailable(error: Exception) -> StateUnavailable:
    """Our state database is briefly out of reach: retried like a vendor's 503."""
    return StateUnavailable(f"the state database is out of reach ({type(error).__name__})")


def current_workflow_id() -> str:
    """Id (business key) of the workflow this code runs in."""
    workflow_id = DBOS.workflow_id
    if workflow_id is None:
        raise RuntimeError("not inside a workflow")
    return workflow_id


def idempotency_key(step_name: str) -> str:
    """The idempotency key of the vendor write of ``step_name`` in the current workflow."""
    return f"{current_workflow_id()}:{step_name}"


async def wait_for_event(topic: str, timeout_seconds: float) -> Any:
    """Durably wait for a message on ``topic`` sent to this workflow; ``None`` on timeout."""
    return await DBOS.recv_async(topic, timeout_seconds=timeout_seconds)


async def sleep(seconds: float) -> None:
    """Durably pause the current workflow: the wake-up time is recorded, so a workflow recovered
    after a crash sleeps only what is left of it."""
    await DBOS.sleep_async(seconds)


class WorkflowEngine:
    """The process's durable-execution engine (one per process)."""

    def __init__(
        self,
        *,
        system_database_url: str,
        executor_id: str,
        application_version: str | None = None,
        compatible_versions: Collection[str] = (),
        system_schema: str | None = None,
        run_migrations: bool = True,
    ) -> None:
        config: DBOSConfig = {
            "name": APP_NAME,
            "system_database_url": system_database_url,
            "executor_id": executor_id,
            # DBOS logs every migration and launch step at INFO through its own handler; ours
            # are the JSON lines of core.logging.
            "log_level": "WARNING",
            # Shorter polls make shutdown quick (destroy waits for them): ~1 s at the defaults.
            "notification_listener_polling_interval_sec": 0.1,
            "scheduler_polling_interval_sec": 0.1,
            # Off: launch only verifies the engine's schema (`strata db upgrade` migrates it).
            "run_migrations": run_migrations,
        }
        if application_version:
            config["application_version"] = application_version
        if system_schema:
            config["dbos_system_schema"] = system_schema
        self._config = config
        self.executor_id = executor_id
        self.application_version = application_version
        """The version this engine runs (see :mod:`apis.process.workflow_versions`)."""
        self.compatible_versions = frozenset(compatible_versions) - {application_version}
        """Earlier versions whose pending workflows this engine adopts as its own."""
        self._launched = False

    def launch(self) -> None:
        """Start the engine: recover this executor's pending workflows, start queues."""
        _alias_moved_modules()
        DBOS(config=self._config)
        try:
            DBOS.launch()
        except DBOSInitializationError as exc:
            if self._config.get("run_migrations", True):
                raise
            # Its own message names `dbos migrate`; for us the step is `strata db upgrade`.
            raise SchemaNotCurrent(
                f"the workflow engine's schema is missing or behind: run `strata db upgrade` ({exc})"
            ) from exc
        self._launched = True
        # DBOS's launch recovered this executor's pending workflows of this version only.
        self.adopt_compatible()

    def adopt_compatible(self) -> int:
        """Relabel the unfinished workflows of :attr:`compatible_versions` (any executor's) as this
        engine's version, so this release recovers and dequeues them; how many.

        Those pending on this executor (a graceful restart on the same slot, from a compatible
        release) are re-enqueued, as DBOS's launch would have recovered them had they carried its
        version; those of other executors are left to their process or to a takeover
        (:meth:`recover_executor`). DBOS offers no call that changes a pending workflow's version
        (``fork`` makes a new id, ``rewind`` takes finished workflows only): this updates its
        status table, whose shape is pinned with the DBOS version and covered by
        ``tests/apis/process/engine/test_version_upgrade.py``.
        """
        if not self.compatible_versions or self.application_version is None:
            return 0
        system = _get_dbos_instance()._sys_db
        status = system.tables.workflow_status
        with system.engine.begin() as connection:
            adopted = connection.execute(
                sa.update(status)
                .where(
                    status.c.status.in_(_UNFINISHED),
                    status.c.application_version.in_(sorted(self.compatible_versions)),
                    status.c.application_name.in_([APP_NAME]) | status.c.application_name.is_(None),
                )
                .values(application_version=self.application_version)
                .returning(status.c.workflow_uuid, status.c.status, status.c.executor_id)
            ).all()
        for workflow_id, state, executor in adopted:
            if state == "PENDING" and executor == self.executor_id:
                system.reenqueue_for_recovery(workflow_id, [self.executor_id], INTERNAL_QUEUE_NAME)
        return len(adopted)

    def waiting_for_other_versions(self) -> dict[str, int]:
        """Unfinished workflows this engine cannot run, by their version: they wait for a
        process of that version (an incompatible release still draining)."""
        if self.application_version is None:
            return {}
        system = _get_dbos_instance()._sys_db
        status = system.tables.workflow_status
        with system.engine.begin() as connection:
            rows = connection.execute(
                sa.select(status.c.application_version, sa.func.count())
                .where(
                    status.c.status.in_(_UNFINISHED),
                    status.c.application_version.is_not(None),
                    status.c.application_version != self.application_version,
                    status.c.application_name.in_([APP_NAME]) | status.c.application_name.is_(None),
                )
                .group_by(status.c.application_version)
            ).all()
        return {str(version): int(count) for version, count in rows}

    def recover_executor(self, executor_id: str) -> int:
        """Re-enqueue the pending workflows of another executor (one whose process died) for any live
        process; how many. Idempotent: the engine's queue hands each workflow to one runner.

        Workflows of every version are re-enqueued, not only this engine's (DBOS's own recovery
        takes its version only): the queue hands each to a process of its version, so a workflow
        of a release still draining waits for one of that release's processes instead of staying
        pending on a dead executor that nobody will take over again. Compatible versions are
        adopted first (:meth:`adopt_compatible`).

        DBOS keeps recovery in internal calls (what its admin server's recovery endpoint uses);
        the version is pinned and ``tests/apis/process/engine/test_crash_recovery.py`` and
        ``test_version_upgrade.py`` cover them.
        """
        self.adopt_compatible()
        dbos = _get_dbos_instance()
        system = dbos._sys_db
        status = system.tables.workflow_status
        with system.engine.begin() as connection:
            found = connection.execute(
                sa.select(status.c.application_version)
                .where(status.c.status == "PENDING", status.c.executor_id == executor_id)
                .distinct()
            ).scalars()
            versions = [str(v) for v in found if v is not None]
        recovered = 0
        for version in versions:
            for pending in system.get_pending_workflows(executor_id, version):
                _recover_workflow(dbos, pending, [executor_id])
                recovered += 1
        return recovered

    def shutdown(self) -> None:
        """Stop the engine (pending workflows resume at the next launch with this executor id)."""
        if self._launched:
            DBOS.destroy()
            self._launched = False

    async def start_once(self, func: Callable[..., Awaitable[Any]], business_key: str, *args: Any) -> bool:
        """Start ``func(*args)`` under ``business_key`` unless a workflow with that id exists.

        Returns whether this call started it (``False``: it existed and was left alone).
        Concurrent calls with one key, in any process, start one workflow and exactly one of
        them is told it did: DBOS's ``reject`` reuse policy decides by the insert of the
        workflow's status row, so a read-then-start race cannot answer ``True`` twice.
        """
        try:
            with SetWorkflowID(business_key, workflow_id_reuse_policy="reject"):
                await DBOS.start_workflow_async(func, *args)  # type: ignore[arg-type]  # a DBOS workflow is a coroutine function
        except DBOSWorkflowIDInUseError:
            return False
        return True

    async def result(self, workflow_id: str) -> Any:
        """Wait for the workflow's result (raises its error)."""
        handle: WorkflowHandleAsync[Any] = await DBOS.retrieve_workflow_async(workflow_id)
        return await handle.get_result()

    async def status(self, workflow_id: str) -> WorkflowState | None:
        """Where the workflow stands; ``None`` if there is none with this id."""
        found = await DBOS.get_workflow_status_async(workflow_id)
        if found is None:
            return None
        return WorkflowState(
            workflow_id=found.workflow_id,
            name=found.name,
            status=str(found.status),
            error=_describe(found.error),
            executor_id=found.executor_id,
        )

    async def steps(self, workflow_id: str) -> list[StepRecord]:
        """Every recorded step (each attempt), in order."""
        records = await DBOS.list_workflow_steps_async(workflow_id)
        return [
            StepRecord(
                index=record["function_id"],
                name=record["function_name"],
                error=_describe(record["error"]),
                started_at=_from_epoch_ms(record["started_at_epoch_ms"]),
                completed_at=_from_epoch_ms(record["completed_at_epoch_ms"]),
            )
            for record in records
        ]

    async def step_output(self, workflow_id: str, step_name: str) -> Any:
        """What the last successful run of ``step_name`` returned (``None`` if it never succeeded):
        compensation reads what a workflow saw before it wrote, e.g. a subscription's items."""
        records = await DBOS.list_workflow_steps_async(workflow_id)
        found = [r for r in records if r["function_name"] == step_name and r["error"] is None]
        return found[-1]["output"] if found else None

    async def replay(self, workflow_id: str, from_step: str | None = None) -> None:
        """Re-run a finished workflow from the first attempt of ``from_step`` (default: the
        first step whose last attempt failed — a step that failed once and then succeeded on a
        retry is not it —, or, when none did, the step after the last recorded one), keeping its
        id and the results of the steps before. A workflow
        of a compatible earlier version is re-run as this version's; one of an incompatible
        version waits for a process of its version.

        Raises:
            LookupError: no such workflow, or no such step in it.
        """
        records = await self.steps(workflow_id)
        found = await DBOS.get_workflow_status_async(workflow_id)
        if not records and found is None:
            raise LookupError(f"no workflow {workflow_id!r}")
        # Recorded by a compatible earlier version: replayed as this version's (else it would wait
        # in the queue for a process of that version); an incompatible version's keeps its label.
        relabel = self.application_version if found and found.app_version in self.compatible_versions else None
        if from_step is None:
            index = _first_failed_for_good(records)
        else:
            index = next((r.index for r in records if r.name == from_step), -1)
            if index < 0:
                raise LookupError(f"workflow {workflow_id!r} has no step {from_step!r}")
        await DBOS.rewind_workflow_async(workflow_id, start_step=index, application_version=relabel)

    async def send(self, workflow_id: str, topic: str, message: Any, *, idempotency_key: str | None = None) -> None:
        """Deliver ``message`` on ``topic`` to a workflow waiting with :func:`wait_for_event`."""
        await DBOS.send_async(workflow_id, message, topic, idempotency_key=idempotency_key)

    async def cancel(self, workflow_id: str) -> None:
        """Stop the workflow at its next step (what it already did stays done)."""
        await DBOS.cancel_workflow_async(workflow_id)


def _first_failed_for_good(records: list[StepRecord]) -> int:
    """The index to rewind to when no step is named: the first attempt of the first step whose
    last attempt failed; else the one after the last record (the workflow stopped between steps)."""
    last_attempt = {record.name: record for record in records}
    for record in records:
        if last_attempt[record.name].error is not None:
            return record.index
    return records[-1].index + 1 if records else 0


def migrate_engine_schema(system_database_url: str) -> None:
    """Create or migrate the engine's system database (its own schema): the engine's half of
    ``strata db upgrade``, for servers that launch the engine with ``run_migrations`` off."""
    DBOS.migrate(system_database_url)


def system_database_url(database_url: str, sqlite_path: str) -> str:
    """DBOS's system database for the gateway's ``database_url``: the same PostgreSQL database
    (DBOS keeps to its own schema) or, for SQLite, a file of its own next to ours."""
    if database_url.startswith(("postgresql", "postgres")):
        _, rest = database_url.split("://", 1)
        return f"postgresql://{rest}"
    return f"sqlite:///{sqlite_path}"


def _describe(error: Any) -> str | None:
    if error is None:
        return None
    detail = getattr(error, "detail", None)
    return f"{type(error).__name__}: {detail if isinstance(detail, str) else error}"[:500]


def _from_epoch_ms(value: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC) if value is not None else None


_RNG = random.Random()

_UNFINISHED = ("PENDING", "ENQUEUED")
"""Engine states of a workflow that still has steps to run."""

"""Engine queues: workflows that wait their turn under limits that hold across every process.

A :class:`WorkQueue` is a DBOS queue declared by its config (:class:`QueueConfig`). Work put on
it (:meth:`WorkQueue.enqueue`) is a workflow whose status row is written before the call
returns; whichever process with the engine polls the queue first runs it, within the queue's
limits, which the engine counts in its system database (so they hold across processes, not per
process). A queue can be *partitioned* (every item names a partition key, e.g. a partner): each
partition then has its own concurrency and rate limit, and one partition's backlog does not hold
back another's.

Enqueuing is idempotent by workflow id: an item enqueued again under the id of one that exists
(waiting, running or finished) is not added twice. An item may wait before it is due
(``delay_seconds``: the engine keeps it ``DELAYED`` and makes it ``ENQUEUED`` when the time comes,
without holding a concurrency slot meanwhile) — durable retries with backoff, with no loop of ours.

Queues live in the engine's system database: :meth:`WorkQueue.register` (after the engine
launched) writes the config, and every process's engine then listens to the queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from dbos import DBOS, SetEnqueueOptions, SetWorkflowID


class QueueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A queue's name and limits."""

    name: str
    """The queue's name in the engine (``[a-z0-9-]``; not starting with ``_dbos_``)."""
    partitioned: bool = False
    """Every item names a partition key; the ``partition_*`` limits apply per partition."""
    partition_concurrency: int | None = None
    """Most items of one partition running at once, across every process (``None``: no limit)."""
    partition_rate: int | None = None
    """Most items of one partition started per ``partition_rate_period_seconds`` (``None``: no limit)."""
    partition_rate_period_seconds: float = 1.0
    """The rolling window of ``partition_rate``."""
    worker_concurrency: int | None = None
    """Most items running at once in one process (``None``: no limit)."""
    polling_seconds: float = 0.25
    """How often each process looks for items that are due."""

    def __post_init__(self) -> None:
        if not self.name or self.name.startswith("_dbos_"):
            raise ValueError("a queue needs a name, not starting with _dbos_")
        for value in (self.partition_concurrency, self.partition_rate, self.worker_concurrency):
            if value is not None and value < 1:
                raise ValueError("limits must be at least 1 (or None: no limit)")
        if self.partition_rate_period_seconds <= 0 or self.polling_seconds <= 0:
            raise ValueError("the rate period and the polling interval must be positive")
        if not self.partitioned and (self.partition_concurrency or self.partition_rate):
            raise ValueError("partition limits need a partitioned queue")
        if self.partitioned and not (self.partition_concurrency or self.partition_rate):
            raise ValueError("a partitioned queue needs a partition limit (the engine partitions by them)")


class WorkQueue:
    """One engine queue (one per config and process)."""

    def __init__(self, config: QueueConfig) -> None:
        self.config = config

    async def register(self) -> None:
        """Write the queue's config to the engine (after launch); every process then runs its items.

        The config in force is the latest written: processes of one release write the same one.
        """
        config = self.config
        rate = config.partition_rate
        await DBOS.register_queue_async(
            config.name,
            partition_concurrency=config.partition_concurrency,
            partition_limiter={"limit": rate, "period": config.partition_rate_period_seconds} if rate else None,
            worker_concurrency=config.worker_concurrency,
            polling_interval_sec=config.polling_seconds,
            on_conflict="always_update",
        )

    async def enqueue(
        self,
        func: Callable[..., Awaitable[Any]],
        *args: Any,
        workflow_id: str,
        partition_key: str | None = None,
        delay_seconds: float | None = None,
    ) -> None:
        """Put ``func(*args)`` (a registered workflow) on the queue as ``workflow_id``, due after
        ``delay_seconds``; nothing is added if a workflow with that id exists. Durable on return.

        Inside a workflow the enqueue is one of its recorded operations: a recovered workflow does
        not enqueue twice.

        Raises:
            ValueError: a partitioned queue's item without a partition key (or the reverse).
        """
        if self.config.partitioned != bool(partition_key):
            raise ValueError(f"queue {self.config.name!r}: a partition key is needed exactly when partitioned")
        delay = delay_seconds if delay_seconds and delay_seconds > 0 else None
        with (
            SetWorkflowID(workflow_id),
            SetEnqueueOptions(queue_partition_key=partition_key, delay_seconds=delay),
        ):
            await DBOS.enqueue_workflow_async(self.config.name, func, *args)  # type: ignore[arg-type]


async def workflow_status(workflow_id: str) -> str | None:
    """The engine status of a workflow (``DELAYED``, ``ENQUEUED``, ``PENDING``, ``SUCCESS``,
    ``ERROR``, ``CANCELLED``, ...); ``None`` when there is none with that id."""
    found = await DBOS.get_workflow_status_async(workflow_id)
    return None if found is None else str(found.status)

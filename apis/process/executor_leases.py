"""Executor leases: one workflow executor id per process, and a dead process's workflows taken over.

The workflow engine (DBOS) runs a workflow on the executor that started it and, at launch,
recovers only the pending workflows of its own executor id. So every process needs an id of its
own (the workers of ``strata serve --workers N`` too), and the pending workflows of a process
that dies and never comes back need a live process to take them over. Both go through one table,
``workflow_executors``:

* **Claim.** A starting process takes the lowest free slot ``<host>:<port>:<n>`` (a row that is
  absent, or whose lease has expired), or the id configured in ``STRATA_EXECUTOR_ID``, which it
  takes whatever the row says (the operator says this process is that executor). A process
  restarted after a graceful stop gets its slot back and the engine recovers its workflows at
  launch; one restarted after a crash, while its old lease still runs, gets another slot.
* **Heartbeat.** The holder renews ``expires_at`` every third of the lease. The lease
  (``STRATA_EXECUTOR_LEASE_SECONDS``, default 60) must be longer than the longest step, so a
  process busy in a step is never taken for dead.
* **Takeover.** Every process looks for expired leases; the one that deletes such a row (the
  delete is the compare-and-set: one process wins) asks the engine to recover that executor's
  pending workflows, which re-enqueues them for any live process (the engine's queue hands each
  to exactly one runner, so a second recovery of the same workflow is harmless). The slot is then
  free for a new process.
* **Release.** A graceful stop, once its engine has stopped, marks its lease expired: a process
  restarted on the slot claims it (its engine recovers the workflows at launch), and if none does,
  a live process takes them over at its next heartbeat (a scale-down loses nothing either).
"""

from __future__ import annotations

import asyncio
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import workflow_executors

logger = structlog.get_logger("strata.process")

MAX_SLOTS = 256
"""Slots per host and port: far more worker processes than one machine runs."""


def slot_prefix(port: int) -> str:
    """The executor ids of this host's processes serving ``port`` are ``<prefix>:<n>``."""
    return f"{socket.gethostname()}:{port}"


@dataclass
class ExecutorLease:
    """The lease this process holds on its executor id."""

    engine: AsyncEngine
    executor_id: str
    lease_seconds: float
    holder: str = field(default_factory=lambda: secrets.token_hex(16))
    clock: Callable[[], float] = time.time

    @classmethod
    async def claim(
        cls,
        engine: AsyncEngine,
        *,
        configured: str,
        port: int,
        lease_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> ExecutorLease:
        """Take the configured executor id, else the lowest free slot of this host and port.

        Raises:
            RuntimeError: every slot of this host and port is held by a live process.
        """
        if configured:
            lease = cls(engine, configured, lease_seconds, clock=clock)
            await lease._take(force=True)
            return lease
        prefix = slot_prefix(port)
        for slot in range(MAX_SLOTS):
            lease = cls(engine, f"{prefix}:{slot}", lease_seconds, clock=clock)
            if await lease._take(force=False):
                return lease
        raise RuntimeError(f"all {MAX_SLOTS} executor slots of {prefix} are held by live processes")

    async def _take(self, *, force: bool) -> bool:
        now = self.clock()
        values = {"holder": self.holder, "heartbeat_at": now, "expires_at": now + self.lease_seconds}
        table = workflow_executors
        async with self.engine.begin() as connection:
            condition = table.c.executor_id == self.executor_id
            if not force:
                condition = condition & (table.c.expires_at < now)
            if (await connection.execute(update(table).where(condition).values(**values))).rowcount == 1:
                return True
            exists = (
                await connection.execute(select(table.c.executor_id).where(table.c.executor_id == self.executor_id))
            ).first()
            if exists is not None:
                return False
        try:
            async with self.engine.begin() as connection:
                await connection.execute(insert(table).values(executor_id=self.executor_id, **values))
        except IntegrityError:  # another process inserted it first
            return False if not force else await self._take(force=True)
        return True

    async def renew(self) -> bool:
        """Push the lease on; False when another process holds the row now (this one was taken for dead)."""
        now = self.clock()
        async with self.engine.begin() as connection:
            result = await connection.execute(
                update(workflow_executors)
                .where(workflow_executors.c.executor_id == self.executor_id, workflow_executors.c.holder == self.holder)
                .values(heartbeat_at=now, expires_at=now + self.lease_seconds)
            )
        return result.rowcount == 1

    async def release(self) -> None:
        """Give the executor id up (a graceful stop, after the engine stopped): the lease expires now.

        Best effort: when the database refuses (SQLite busy past its timeout while the process winds
        down), the lease simply runs out ``lease_seconds`` later, with the same outcome.
        """
        try:
            async with self.engine.begin() as connection:
                await connection.execute(
                    update(workflow_executors)
                    .where(
                        workflow_executors.c.executor_id == self.executor_id, workflow_executors.c.holder == self.holder
                    )
                    .values(expires_at=0.0)
                )
        except SQLAlchemyError as exc:
            logger.warning(
                "executor lease not released: it expires by itself",
                executor_id=self.executor_id,
                in_seconds=self.lease_seconds,
                error=type(exc).__name__,
            )

    async def expired_executors(self) -> list[str]:
        """Executor ids whose lease has run out, this process's own excepted."""
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(workflow_executors.c.executor_id).where(
                    workflow_executors.c.expires_at < self.clock(),
                    workflow_executors.c.executor_id != self.executor_id,
                )
            )
            return [row.executor_id for row in rows]

    async def win_takeover(self, executor_id: str) -> bool:
        """Delete the expired lease of ``executor_id``; True for the one process whose delete did it."""
        async with self.engine.begin() as connection:
            result = await connection.execute(
                delete(workflow_executors).where(
                    workflow_executors.c.executor_id == executor_id, workflow_executors.c.expires_at < self.clock()
                )
            )
        return result.rowcount == 1


async def keep_lease(lease: ExecutorLease, recover: Callable[[str], int]) -> None:
    """Heartbeat this process's lease and take over the workflows of executors whose lease expired.

    ``recover(executor_id)`` re-enqueues that executor's pending workflows (the engine's
    recovery) and returns how many; it runs in a thread (it blocks on the engine's database).
    Runs until cancelled.
    """
    interval = lease.lease_seconds / 3
    while True:
        try:
            if not await lease.renew():
                logger.error(
                    "executor lease lost: another process took this executor over", executor_id=lease.executor_id
                )
                await lease._take(force=True)
            for executor_id in await lease.expired_executors():
                if await lease.win_takeover(executor_id):
                    count = await asyncio.to_thread(recover, executor_id)
                    logger.warning(
                        "took over the workflows of an executor whose lease expired",
                        executor_id=executor_id,
                        by=lease.executor_id,
                        workflows=count,
                    )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database blip must not end the heartbeat
            logger.warning("executor lease heartbeat failed", error=type(exc).__name__, detail=str(exc)[:200])
        await asyncio.sleep(interval)

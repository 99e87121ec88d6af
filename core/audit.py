"""The audit log: who did what, when, with which outcome — never bodies or secrets.

Records are queued in memory and written in batches by one background task, so recording
never blocks or fails a request: when the queue is full (the database is slow or down) the
record is dropped and counted in ``strata_audit_dropped_total``. Records older than the
retention are purged at start and then hourly (every process does it; the delete is
idempotent). Reading the log is :mod:`core.audit_query`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

import structlog
from prometheus_client import Counter
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from core.background import cancel_and_wait
from core.db import audit_events

logger = structlog.get_logger("strata.audit")

AUDIT_DROPPED = Counter("strata_audit_dropped_total", "Audit records dropped because the writer fell behind")
REASON_CHARS = 300
"""What one record's ``reason`` holds (the column's size)."""
CONTINUED = "(continued) "
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_BATCH_SIZE = 200
PURGE_INTERVAL_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One audited request or event."""

    at: float
    request_id: str
    method: str
    route: str
    status: int
    outcome: str
    """``allowed``, ``denied``, ``replayed`` (idempotent replay) or ``error``."""
    client_id: str | None = None
    partner_id: str | None = None
    api: str | None = None
    policy: str | None = None
    reason: str | None = None
    source: str | None = None
    duration_ms: float | None = None


class AuditLog:
    """Non-blocking writer of :class:`AuditRecord` rows into ``audit_events``."""

    def __init__(
        self, engine: AsyncEngine, queue_size: int = DEFAULT_QUEUE_SIZE, retention_seconds: float | None = None
    ) -> None:
        self.engine = engine
        self.retention_seconds = retention_seconds
        self._queue: asyncio.Queue[AuditRecord] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self._purge_task: asyncio.Task[None] | None = None

    def record(self, record: AuditRecord) -> None:
        """Queue a record; drop and count it if the writer has fallen behind."""
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            AUDIT_DROPPED.inc()

    def start(self) -> None:
        """Start the background writer (and the retention purge, when a retention is set)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="strata-audit-writer")
        if self._purge_task is None and self.retention_seconds is not None:
            self._purge_task = asyncio.create_task(self._purge_periodically(), name="strata-audit-purge")

    async def purge(self, now: float | None = None) -> int:
        """Delete records older than the retention; return how many."""
        if self.retention_seconds is None:
            return 0
        cutoff = (time.time() if now is None else now) - self.retention_seconds
        async with self.engine.begin() as connection:
            result = await connection.execute(delete(audit_events).where(audit_events.c.at < cutoff))
        return int(result.rowcount or 0)

    async def _purge_periodically(self) -> None:
        while True:
            try:
                purged = await self.purge()
                if purged:
                    logger.info("purged %d audit records past the retention", purged)
            except Exception:  # a failed purge is retried next round; it never stops the gateway
                logger.exception("audit purge failed")
            await asyncio.sleep(PURGE_INTERVAL_SECONDS)

    async def stop(self) -> None:
        """Write what is queued, then stop the writer."""
        if self._task is None:
            return
        await self.flush()  # before cancelling: a batch cancelled mid-write would be lost
        await cancel_and_wait(self._purge_task)
        await cancel_and_wait(self._task)
        self._purge_task = self._task = None

    async def flush(self) -> None:
        """Wait until every queued record is written (tests, shutdown).

        While the writer task runs it is the only writer, so rows land in queue order;
        writing a batch here as well would race it and could reorder the log.
        """
        if self._task is None or self._task.done():
            while not self._queue.empty():
                await self._write_batch(self._drain())
        await self._queue.join()

    def _drain(self) -> list[AuditRecord]:
        batch: list[AuditRecord] = []
        while len(batch) < DEFAULT_BATCH_SIZE and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            await self._write_batch([first, *self._drain()])

    async def _write_batch(self, batch: list[AuditRecord]) -> None:
        """Insert a batch; every record taken from the queue is marked done, written or not."""
        if not batch:
            return
        try:
            async with self.engine.begin() as connection:
                await connection.execute(audit_events.insert(), [asdict(record) for record in batch])
        except Exception:  # the audit writer must never take the gateway down
            logger.exception("audit batch of %d records could not be written", len(batch))
            AUDIT_DROPPED.inc(len(batch))
        finally:
            for _ in batch:
                self._queue.task_done()


def now() -> float:
    """Wall-clock time for audit records."""
    return time.time()


def reason_parts(text: str) -> list[str]:
    """``text`` cut into record reasons: the first whole-sized, the rest marked as continued.

    For a note that must not be cut short (a grant of many scopes): one record per part.
    """
    parts = [text[:REASON_CHARS]]
    step = REASON_CHARS - len(CONTINUED)
    parts.extend(CONTINUED + text[start : start + step] for start in range(REASON_CHARS, len(text), step))
    return parts

"""What a workflow step records, written in as few database round trips as the database allows.

A step's state change, its lineage rows (the vendor records it made or matched) and its outbox
events belong to one database transaction (:meth:`~apis.process.transactions.TransactionStore.advance`).
On PostgreSQL they are **one statement** (when the step has at most one row of each, as every
quote-to-cash step has: :func:`one_row_each`): the insertions ride along as data-modifying ``WITH``
clauses of the update, which PostgreSQL runs exactly once whether or not the statement reads
them. SQLite has no data-modifying ``WITH``: there the update and the inserts run one after the
other (in-process, so a "round trip" is a hop to the driver's thread).

Re-running a step records the same rows again; the unique keys (the lineage ``dedupe_key``, the
event id) keep one of each, exactly as one insertion at a time did.

A lone statement needs no ``BEGIN``/``COMMIT`` around it to be atomic: :func:`one_statement`
gives a connection that sends none on PostgreSQL (asyncpg's autocommit, set on the client: no
round trip), which makes a read or a step's write one round trip instead of three.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.dml import Update

from core.db import insert_ignoring, outbox_events, process_lineage


@asynccontextmanager
async def one_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for **one** statement (a read, or :func:`write_step` of :func:`one_row_each`
    rows on PostgreSQL): there in
    autocommit, so neither ``BEGIN`` nor the ``ROLLBACK``/``COMMIT`` after it goes to the server;
    elsewhere ``engine.connect()`` as it is (for reads only: SQLite's writes need ``begin()``)."""
    async with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


async def write_step(
    connection: AsyncConnection,
    state_change: Update,
    lineage: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Run ``state_change`` and insert the ``lineage`` and outbox ``events`` rows (each ignored if
    its unique key is there already), inside the caller's transaction."""
    inserts = [(process_lineage, row, "dedupe_key") for row in lineage]
    inserts += [(outbox_events, row, "event_id") for row in events]
    if connection.dialect.name == "postgresql" and one_row_each(lineage, events):
        # One single-row INSERT per CTE, not a multi-row VALUES: SQLAlchemy caches the compiled
        # form of the former and compiles the latter again on every execution.
        ctes = [state_change.cte("step_state")]
        ctes += [
            pg_insert(table).values(**row).on_conflict_do_nothing(index_elements=[key]).cte(f"step_insert_{n}")
            for n, (table, row, key) in enumerate(inserts)
        ]
        await connection.execute(select(literal_column("1")).add_cte(*ctes))
        return
    await connection.execute(state_change)
    for table, row, key in inserts:
        await insert_ignoring(connection, table, row, key)


def one_row_each(lineage: list[dict[str, Any]], events: list[dict[str, Any]]) -> bool:
    """Whether :func:`write_step` makes one statement of these rows on PostgreSQL: at most one row
    per table. PostgreSQL runs the ``WITH`` clauses in no set order, and the order of a step's
    lineage rows (compensation undoes them newest first) and of its events (delivered in outbox
    order) must be the order given; several rows of one table go one statement each, in order."""
    return len(lineage) <= 1 and len(events) <= 1

"""What a workflow step records, written in as few database round trips as the database allows.

A step's state change, its lineage rows (the vendor records it made or matched) and its outbox
events belong to one database transaction (:meth:`~apis.process.transactions.TransactionStore.advance`).
On PostgreSQL they are **one statement**: the insertions ride along as data-modifying ``WITH``
clauses of the update, which PostgreSQL runs exactly once whether or not the statement reads
them. SQLite has no data-modifying ``WITH``: there the update and one multi-row insert per table
run one after the other (in-process, so a "round trip" is a hop to the driver's thread).

Re-running a step records the same rows again; the unique keys (the lineage ``dedupe_key``, the
event id) keep one of each, exactly as one insertion at a time did.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import Update

from core.db import outbox_events, process_lineage


async def write_step(
    connection: AsyncConnection,
    state_change: Update,
    lineage: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> None:
    """Run ``state_change`` and insert the ``lineage`` and outbox ``events`` rows (each ignored if
    its unique key is there already), inside the caller's transaction."""
    inserts = [(process_lineage, lineage, "dedupe_key"), (outbox_events, events, "event_id")]
    if connection.dialect.name == "postgresql":
        ctes = [state_change.cte("step_state")]
        ctes += [
            pg_insert(table).values(rows).on_conflict_do_nothing(index_elements=[key]).cte(f"step_{table.name}")
            for table, rows, key in inserts
            if rows
        ]
        await connection.execute(select(literal_column("1")).add_cte(*ctes))
        return
    await connection.execute(state_change)
    for table, rows, key in inserts:
        if rows:
            await connection.execute(_sqlite_insert_ignoring(table, rows, key))


def _sqlite_insert_ignoring(table: Table, rows: list[dict[str, Any]], key: str) -> Any:
    return sqlite_insert(table).values(rows).on_conflict_do_nothing(index_elements=[key])

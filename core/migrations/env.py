"""Alembic environment: runs on the connection handed over by :mod:`core.migrations`.

There is no ``alembic.ini`` and no URL here: :func:`core.migrations.upgrade_database`
opens the connection, serialises concurrent upgraders, and passes the connection in
``config.attributes["connection"]`` (Alembic's "connection sharing" recipe). The caller owns
the transaction, so ``begin_transaction`` below joins it instead of committing on its own.
"""

from __future__ import annotations

from alembic import context

from core.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through core.migrations.upgrade_database(), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=True,  # SQLite cannot ALTER most things: batch mode recreates the table when needed
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""Fresh, empty PostgreSQL databases on the local server, for tests and benchmarks.

``async with scratch_database("strata_test") as name:`` creates a database of a unique name and
drops it afterwards (``WITH (FORCE)``: connections a crashed gateway left open do not keep it).
:func:`sqlalchemy_url` is the gateway's URL of it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator

POSTGRES_DSN = os.environ.get("STRATA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
"""The server's maintenance database, where databases are created and dropped."""


async def _execute(statement: str) -> None:
    import asyncpg  # late: collecting tests that never touch PostgreSQL should not need it

    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(prefix: str) -> str:
    """A new, empty database named ``<prefix>_<12 hex>``; its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _execute(f'CREATE DATABASE "{name}"')
    return name


async def drop_database(name: str) -> None:
    """Drop ``name`` (if it exists), disconnecting whoever is still connected."""
    await _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def scratch_database(prefix: str) -> AsyncIterator[str]:
    """A new database for the block; dropped after it."""
    name = await create_database(prefix)
    try:
        yield name
    finally:
        await drop_database(name)


def sqlalchemy_url(name: str, driver: str = "asyncpg") -> str:
    """The URL of database ``name`` on the same server (``driver=""``: plain ``postgresql://``, for DBOS)."""
    base = POSTGRES_DSN.rsplit("/", 1)[0].split("://", 1)[1]
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return f"{scheme}://{base}/{name}"

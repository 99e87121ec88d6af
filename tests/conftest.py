"""Shared fixtures: real Redis and PostgreSQL when reachable.

A test that needs one of them and cannot reach it fails under CI (``CI=true``) and skips
with a printed reason elsewhere: never a silent pass.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator

import pytest

REDIS_URL = os.environ.get("STRATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_DSN = os.environ.get("STRATA_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _need(service: str, host: str, port: int) -> None:
    if _reachable(host, port):
        return
    message = f"{service} is not reachable at {host}:{port}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (required under CI)")
    print(f"SKIP: {message}")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of the real Redis server; keys are namespaced by the test through a fresh DB-less prefix."""
    _need("Redis", "127.0.0.1", 6379)
    yield REDIS_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An async SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    _need("PostgreSQL", "127.0.0.1", 5432)
    import asyncio

    import asyncpg

    name = f"strata_test_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(POSTGRES_DSN)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

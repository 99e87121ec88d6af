"""Fixtures giving a test each idempotency store for real: SQLite, PostgreSQL and Redis.

A test module imports ``store_url`` and ``store``; every test asking for ``store`` then runs
once per backend (PostgreSQL and Redis through the shared service fixtures of
``tests/conftest.py``, which fail under CI when the server is missing).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.db import create_engine
from core.idempotency_store import IdempotencyStore, RedisIdempotencyStore, SqlIdempotencyStore
from core.migrations import create_schema


@pytest.fixture(params=["sqlite", "postgres", "redis", "redis-cluster"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Resolved synchronously: the shared service fixtures run their own event loop."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue(f"{request.param.replace('-', '_')}_url"))


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[IdempotencyStore]:
    """A fresh store on the backend of ``store_url`` (Redis keys under a prefix of its own)."""
    if store_url.startswith("redis"):
        timeout = {"socket_timeout": 2.0} if "+cluster" in store_url else {}  # set-up time on a loaded machine
        redis_store = RedisIdempotencyStore(store_url, key_prefix=f"strata:idem:test:{uuid.uuid4().hex}:", **timeout)
        yield redis_store
        await redis_store.aclose()
        return
    engine = create_engine(store_url)
    await create_schema(engine)
    yield SqlIdempotencyStore(engine)
    await engine.dispose()

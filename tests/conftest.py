"""Shared fixtures: real Redis and PostgreSQL when reachable.

A test that needs one of them and cannot reach it fails under CI (``CI=true``) and skips
with a printed reason elsewhere: never a silent pass.

``make unit`` runs the suite on several pytest-xdist workers. The tests that ask for
``redis_url`` take turns across the workers (:func:`redis_turn`): Redis pub/sub channels
(``strata:governance``, ``strata:revocations``) and its Lua script cache are server-wide,
so a test that publishes a governance document or runs ``SCRIPT FLUSH`` would otherwise
reach another worker's gateways or change the round trips another test counts. PostgreSQL
needs no such care: ``postgres_url`` gives each test a database of its own.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.redis_servers import redis_cluster, tls_redis
from tests.support.scratch_postgres import create_database, drop_database, sqlalchemy_url

# Fixtures shared by modules of several directories (``store``: each idempotency store for real).
pytest_plugins = ["tests.support.idempotency_stores"]

REDIS_URL = os.environ.get("STRATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


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


@contextmanager
def redis_turn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Hold this run's Redis lock: under xdist, one test at a time uses Redis, on any worker.

    The lock is a file under the run's base temporary directory (each worker's own is a
    folder of it), so parallel runs of other checkouts do not wait on each other; the
    kernel releases it when a worker dies. Without xdist there is one process: no lock.
    """
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    path = tmp_path_factory.getbasetemp().parent / "redis-tests.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the real Redis server; keys are namespaced by the test through a fresh DB-less prefix.

    The test has Redis to itself while it runs (:func:`redis_turn`), its fixtures' set-up
    and tear-down included: they depend on this fixture, so they run inside its turn.
    """
    _need("Redis", "127.0.0.1", 6379)
    with redis_turn(tmp_path_factory):
        yield REDIS_URL


def _need_program(program: str) -> None:
    if shutil.which(program):
        return
    message = f"{program} is not installed"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (required under CI)")
    print(f"SKIP: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def redis_tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis speaking TLS only (``rediss://…?ssl_ca_certs=…``, a test CA), one per test worker."""
    _need_program("redis-server")
    with tls_redis(tmp_path_factory.mktemp("redis-tls")) as (url, _ca):
        yield url


@pytest.fixture(scope="session")
def redis_cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private three-node Redis Cluster (``redis+cluster://`` naming one node), one per test worker."""
    _need_program("redis-server")
    with redis_cluster(tmp_path_factory.mktemp("redis-cluster")) as ports:
        yield f"redis+cluster://127.0.0.1:{ports[0]}"


@pytest.fixture(params=["redis", "redis-tls", "redis-cluster"])
def any_redis_url(request: pytest.FixtureRequest) -> str:
    """Each kind of Redis deployment for real: the shared server, a private one over TLS, a private Cluster."""
    return str(request.getfixturevalue(f"{request.param.replace('-', '_')}_url"))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each state database for real: a SQLite file in the test's folder, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'state.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An async SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped afterwards."""
    _need("PostgreSQL", "127.0.0.1", 5432)
    import asyncio

    name = asyncio.run(create_database("strata_test"))
    try:
        yield sqlalchemy_url(name)
    finally:
        asyncio.run(drop_database(name))

"""Schema migrations on SQLite and PostgreSQL: empty database, previous revision, create_all
databases from before migrations, concurrent upgraders, and the ``strata db`` commands."""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, metadata
from core.migrations import (
    BUSINESS_ALERTS_REVISION,
    CLAIM_TOKEN_REVISION,
    CLIENT_GRANTABLE_SCOPES_REVISION,
    CLIENT_LIFECYCLE_REVISION,
    CONSOLE_SESSIONS_REVISION,
    INITIAL_REVISION,
    PARTNER_WEBHOOKS_REVISION,
    PROCESS_STATE_REVISION,
    PROCESS_TRANSACTIONS_REVISION,
    RECONCILIATION_REVISION,
    TRANSACTION_ABOUT_REVISION,
    TRANSACTIONS_COMPLETED_INDEX_REVISION,
    USAGE_EVENTS_REVISION,
    VENDOR_EVENT_INBOX_REVISION,
    WORKFLOW_EXECUTORS_REVISION,
    create_schema,
    current_revision,
    head_revision,
    upgrade_database,
)
from gateway.db_cli import db

PROJECT_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'state' / 'strata.db'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def _schema_differences(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as connection:
        return await connection.run_sync(_differences)


async def _columns(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns(table)})


# Every revision, oldest first: a new migration is added at the end.
REVISIONS = [
    INITIAL_REVISION,
    CLAIM_TOKEN_REVISION,
    CLIENT_LIFECYCLE_REVISION,
    PROCESS_STATE_REVISION,
    VENDOR_EVENT_INBOX_REVISION,
    PROCESS_TRANSACTIONS_REVISION,
    RECONCILIATION_REVISION,
    USAGE_EVENTS_REVISION,
    CONSOLE_SESSIONS_REVISION,
    PARTNER_WEBHOOKS_REVISION,
    TRANSACTIONS_COMPLETED_INDEX_REVISION,
    CLIENT_GRANTABLE_SCOPES_REVISION,
    WORKFLOW_EXECUTORS_REVISION,
    BUSINESS_ALERTS_REVISION,
    TRANSACTION_ABOUT_REVISION,
]


def test_head_is_the_newest_revision() -> None:
    assert head_revision() == REVISIONS[-1]


async def test_upgrade_from_claim_token_revision_turns_revoked_clients_into_disabled(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_database(engine, CLAIM_TOKEN_REVISION)
        async with engine.begin() as connection:
            for client_id, status, revoked_at in (("cli_a", "active", None), ("cli_r", "revoked", 50.0)):
                await connection.execute(
                    text(
                        "INSERT INTO oauth_clients (client_id, name, secret_hash, secret_salt, auth_method, scopes,"
                        " tier, status, created_at, revoked_at) VALUES (:id, :id, 'h', 's', 'client_secret_basic',"
                        " 'system:crm:read', 'gold', :status, 10.0, :revoked_at)"
                    ),
                    {"id": client_id, "status": status, "revoked_at": revoked_at},
                )
        await upgrade_database(engine)
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text(
                        "SELECT client_id, status, disabled_at, updated_at, tokens_not_before, secret_hash"
                        " FROM oauth_clients ORDER BY client_id"
                    )
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("cli_a", "active", None, 10.0, None, "h"),
            ("cli_r", "disabled", 50.0, 50.0, 50.0, "h"),
        ]
        assert await _schema_differences(engine) == []
    finally:
        await engine.dispose()


async def test_upgrade_empty_database_to_head(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        result = await upgrade_database(engine)
        assert (result.before, result.after, result.stamped) == (None, head_revision(), None)
        assert await current_revision(engine) == head_revision()
        assert await _schema_differences(engine) == []
        again = await upgrade_database(engine)
        assert (again.before, again.after) == (head_revision(), head_revision())
    finally:
        await engine.dispose()


async def test_upgrade_from_previous_revision_keeps_rows(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        first = await upgrade_database(engine, INITIAL_REVISION)
        assert first.after == INITIAL_REVISION
        assert "claim_token" not in await _columns(engine, "idempotency_records")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO idempotency_records (client_id, key, route, fingerprint, state, status_code,"
                    " headers, body, created_at, expires_at) VALUES ('c1', 'k1', 'POST /x', 'fp', 'done', 201,"
                    " '[]', :body, 1.0, 2.0)"
                ),
                {"body": b"hello"},
            )

        await create_schema(engine)

        assert await current_revision(engine) == head_revision()
        assert "claim_token" in await _columns(engine, "idempotency_records")
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT client_id, key, status_code, body, claim_token FROM idempotency_records")
                )
            ).one()
        assert tuple(row) == ("c1", "k1", 201, b"hello", None)
        assert await _schema_differences(engine) == []
    finally:
        await engine.dispose()


async def test_database_made_by_create_all_is_stamped(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                text("INSERT INTO signing_keys (kid, alg, private_jwk, created_at) VALUES ('k1', 'ES256', '{}', 1.0)")
            )
        result = await upgrade_database(engine)
        assert (result.before, result.stamped, result.after) == (None, head_revision(), head_revision())
        assert await _schema_differences(engine) == []
        async with engine.connect() as connection:
            assert (await connection.execute(text("SELECT kid FROM signing_keys"))).scalar_one() == "k1"
    finally:
        await engine.dispose()


async def test_create_all_database_without_claim_token_is_stamped_then_upgraded(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_database(engine, INITIAL_REVISION)
        async with engine.begin() as connection:  # what create_all made before claim_token existed
            await connection.execute(text("DROP TABLE alembic_version"))
        result = await upgrade_database(engine)
        assert (result.before, result.stamped, result.after) == (None, INITIAL_REVISION, head_revision())
        assert "claim_token" in await _columns(engine, "idempotency_records")
        assert await _schema_differences(engine) == []
    finally:
        await engine.dispose()


def test_concurrent_upgraders_all_succeed(database_url: str) -> None:
    code = (
        "import asyncio, sys\n"
        "from core.db import create_engine\n"
        "from core.migrations import create_schema\n"
        "async def main():\n"
        "    engine = create_engine(sys.argv[1])\n"
        "    try:\n"
        "        await create_schema(engine)\n"
        "    finally:\n"
        "        await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code, database_url],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outcomes = []
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        outcomes.append((process.returncode, stderr.decode()))
    assert [rc for rc, _ in outcomes] == [0, 0, 0], outcomes

    async def check() -> None:
        engine = create_engine(database_url)
        try:
            assert await current_revision(engine) == head_revision()
            assert await _schema_differences(engine) == []
        finally:
            await engine.dispose()

    asyncio.run(check())


# ---------------------------------------------------------------------------- CLI


def test_cli_upgrade_current_history(database_url: str) -> None:
    runner = CliRunner()
    obj = {"database_url": database_url}

    before = runner.invoke(db, ["current"], obj=dict(obj))
    assert before.exit_code == 0, before.output
    assert "none" in before.output

    upgraded = runner.invoke(db, ["upgrade"], obj=dict(obj))
    assert upgraded.exit_code == 0, upgraded.output
    assert "before: none" in upgraded.output
    assert f"after:  {head_revision()}" in upgraded.output

    current = runner.invoke(db, ["current"], obj=dict(obj))
    assert current.exit_code == 0, current.output
    assert current.output.strip() == f"{head_revision()} (head)"

    again = runner.invoke(db, ["upgrade"], obj=dict(obj))
    assert again.exit_code == 0, again.output
    assert f"before: {head_revision()}" in again.output

    history = runner.invoke(db, ["history"])
    assert history.exit_code == 0, history.output
    lines = history.output.splitlines()
    newest_first = list(reversed(REVISIONS))
    assert lines[0].startswith(f"{newest_first[1]} -> {newest_first[0]} (head)")
    for line, (newer, older) in zip(lines[1:], itertools.pairwise(newest_first[1:]), strict=False):
        assert line.startswith(f"{older} -> {newer}")
    assert lines[len(REVISIONS) - 1].startswith(f"<base> -> {INITIAL_REVISION}")


def test_cli_state_dir_option_on_the_group(tmp_path: Path) -> None:
    result = CliRunner().invoke(db, ["--state-dir", str(tmp_path / "st"), "upgrade"], env={"STRATA_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "st" / "strata.db").exists()
    assert f"after:  {head_revision()}" in result.output


def test_cli_state_dir_from_the_parent_context(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        db, ["current"], obj={"state_dir": str(tmp_path / "parent")}, env={"STRATA_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "parent" / "strata.db").exists()


def test_cli_invalid_setting_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(db, ["upgrade"], obj={"state_dir": str(tmp_path)}, env={"STRATA_PORT": "0"})
    assert result.exit_code == 2
    assert "strata: invalid setting: port" in result.output
    assert "Traceback" not in result.output

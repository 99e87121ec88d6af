"""Schema migrations of the state database (Alembic), on SQLite and PostgreSQL.

Revisions are hand-written under ``versions/``; Alembic is configured in code (no
``alembic.ini``). :func:`upgrade_database` is the one entry point: it brings a database to
``head`` and is safe to call from several processes at once:

* the whole upgrade runs in one transaction that first takes a lock: on PostgreSQL a
  transaction-scoped advisory lock (``pg_advisory_xact_lock``), on SQLite ``BEGIN IMMEDIATE``
  (the write lock; the others wait for it through ``busy_timeout``). Whoever comes second sees
  the version the first one wrote and has nothing to do;
* a database created before migrations existed (``metadata.create_all``: our tables are
  there but not ``alembic_version``) is stamped with the revision its tables match, then
  upgraded, instead of failing on "table already exists".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent
INITIAL_REVISION = "0001_initial"
CLAIM_TOKEN_REVISION = "0002_idempotency_claim_token"
CLIENT_LIFECYCLE_REVISION = "0003_client_lifecycle"
PROCESS_STATE_REVISION = "0004_process_state"
VENDOR_EVENT_INBOX_REVISION = "0005_vendor_event_inbox"
PROCESS_TRANSACTIONS_REVISION = "0006_process_transactions"
RECONCILIATION_REVISION = "0007_reconciliation"
USAGE_EVENTS_REVISION = "0008_usage_events"
CONSOLE_SESSIONS_REVISION = "0009_console_sessions"
PARTNER_WEBHOOKS_REVISION = "0010_partner_webhooks"
TRANSACTIONS_COMPLETED_INDEX_REVISION = "0011_transactions_completed"
CLIENT_GRANTABLE_SCOPES_REVISION = "0012_client_grantable_scopes"
WORKFLOW_EXECUTORS_REVISION = "0013_workflow_executors"
BUSINESS_ALERTS_REVISION = "0014_business_alerts"
TRANSACTION_ABOUT_REVISION = "0015_transaction_about"
# Key of the PostgreSQL advisory lock serialising upgrades (any constant bigint; "strata" in ASCII).
ADVISORY_LOCK_KEY = 0x737472617461


@dataclass(frozen=True, slots=True)
class UpgradeResult:
    """What :func:`upgrade_database` did."""

    before: str | None
    """Revision before the upgrade; ``None`` for an empty (or pre-migration) database."""
    after: str | None
    """Revision after the upgrade."""
    stamped: str | None = None
    """Set when a pre-migration database was found: the revision it was stamped with."""


def alembic_config() -> Config:
    """The Alembic configuration, built in code: scripts in this package, default version table."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@functools.cache
def script_directory() -> ScriptDirectory:
    """The revision scripts (read once per process)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The latest revision."""
    head = script_directory().get_current_head()
    assert head is not None
    return head


def current_revision_sync(connection: Connection) -> str | None:
    """The database's revision (``None`` without an ``alembic_version`` row)."""
    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise RuntimeError(f"the database has several revisions: {', '.join(heads)}")
    return heads[0] if heads else None


async def current_revision(engine: AsyncEngine) -> str | None:
    """The database's revision, read without changing anything."""
    async with engine.connect() as connection:
        return await connection.run_sync(current_revision_sync)


def _lock(connection: Connection) -> None:
    """Begin the upgrade transaction holding the lock that serialises upgraders."""
    backend = connection.dialect.name
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    elif backend == "sqlite":
        # pysqlite leaves DDL outside transactions unless told: BEGIN IMMEDIATE both opens the
        # transaction (DDL included) and takes the write lock now, not at the first write.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _legacy_revision(connection: Connection) -> str | None:
    """For a database made by ``create_all`` before migrations existed: the revision it matches."""
    inspector = inspect(connection)
    if not inspector.has_table("oauth_clients"):
        return None
    if inspector.has_table("process_transactions") and "about" in {
        column["name"] for column in inspector.get_columns("process_transactions")
    }:
        return TRANSACTION_ABOUT_REVISION
    if inspector.has_table("business_alerts"):
        return BUSINESS_ALERTS_REVISION
    if inspector.has_table("workflow_executors"):
        return WORKFLOW_EXECUTORS_REVISION
    if "grantable_scopes" in {column["name"] for column in inspector.get_columns("oauth_clients")}:
        return CLIENT_GRANTABLE_SCOPES_REVISION
    if inspector.has_table("process_transactions") and "ix_process_transactions_completed" in {
        index["name"] for index in inspector.get_indexes("process_transactions")
    }:
        return TRANSACTIONS_COMPLETED_INDEX_REVISION
    if inspector.has_table("partner_webhook_subscriptions"):
        return PARTNER_WEBHOOKS_REVISION
    if inspector.has_table("console_sessions"):
        return CONSOLE_SESSIONS_REVISION
    if inspector.has_table("usage_events"):
        return USAGE_EVENTS_REVISION
    if inspector.has_table("reconciliation_runs"):
        return RECONCILIATION_REVISION
    if inspector.has_table("process_transactions"):
        return PROCESS_TRANSACTIONS_REVISION
    if inspector.has_table("vendor_event_inbox"):
        return VENDOR_EVENT_INBOX_REVISION
    if inspector.has_table("xrefs"):
        return PROCESS_STATE_REVISION
    if "updated_at" in {column["name"] for column in inspector.get_columns("oauth_clients")}:
        return CLIENT_LIFECYCLE_REVISION
    if inspector.has_table("idempotency_records"):
        columns = {column["name"] for column in inspector.get_columns("idempotency_records")}
        if "claim_token" in columns:
            return CLAIM_TOKEN_REVISION
    return INITIAL_REVISION


def _upgrade_sync(connection: Connection, destination: str) -> UpgradeResult:
    _lock(connection)
    before = current_revision_sync(connection)
    if before == head_revision() and destination == "head":
        return UpgradeResult(before=before, after=before)
    config = alembic_config()
    config.attributes["connection"] = connection
    stamped = None
    if before is None:
        stamped = _legacy_revision(connection)
        if stamped is not None:
            command.stamp(config, stamped)
    command.upgrade(config, destination)
    return UpgradeResult(before=before, after=current_revision_sync(connection), stamped=stamped)


async def upgrade_database(engine: AsyncEngine, destination: str = "head") -> UpgradeResult:
    """Bring the database to ``destination`` (default ``head``), serialised across processes.

    Args:
        engine: the gateway's async engine (SQLite or PostgreSQL).
        destination: target revision; anything but ``head`` is meant for tests.
    """
    async with engine.connect() as connection:
        result = await connection.run_sync(_upgrade_sync, destination)
        await connection.commit()
    return result


class SchemaNotCurrent(RuntimeError):
    """The database is not at the revision this build needs, and this start may not migrate it."""


async def require_current_schema(engine: AsyncEngine) -> None:
    """Check, without changing anything, that the database is at the head revision.

    Raises:
        SchemaNotCurrent: it is empty, behind, or ahead (a newer build migrated it); the message
            says what to run.
    """
    found, head = await current_revision(engine), head_revision()
    if found == head:
        return
    if found is None:
        state = "has no Strata schema"
    elif found in {script.revision for script in script_directory().walk_revisions()}:
        state = f"is at revision {found}, behind {head}"
    else:
        state = f"is at revision {found}, which this build does not know (a newer build migrated it)"
    raise SchemaNotCurrent(
        f"the database {state}: run `strata db upgrade` with a role that may change the schema "
        "(or start with `strata serve --migrate`)"
    )


async def create_schema(engine: AsyncEngine) -> None:
    """Bring the schema to the latest migration; safe to race (the upgrade is serialised)."""
    await upgrade_database(engine)


async def prepare_schema(engine: AsyncEngine, *, migrate: bool) -> None:
    """Migrate the schema when this start may (``Settings.migrates_at_start``), else only check it.

    Raises:
        SchemaNotCurrent: not migrating, and the database is not at the head revision.
    """
    if migrate:
        await create_schema(engine)
    else:
        await require_current_schema(engine)

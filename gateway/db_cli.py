"""``strata db``: schema migrations of the state database.

``strata db upgrade`` brings the database to the latest revision, the workflow engine's schema
included: a deployment's explicit migration step (``strata serve`` migrates by itself only in demo
mode or with ``--migrate``; otherwise it checks the schema and refuses to start on an old one).
``strata db current`` prints its revision and ``strata db history`` the known revisions.
``strata db backup`` / ``strata db restore`` back up and restore the embedded (SQLite) state
(:mod:`gateway.state_backup`; PostgreSQL has ``pg_dump``/``pg_restore``). Settings
resolve exactly as for the other commands: ``--state-dir`` and ``--database-url`` given to
``strata`` (kept in ``ctx.obj``) or to ``db``, then ``STRATA_*`` variables and the ``STRATA_CONFIG``
file. A wrong setting exits with code 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.migrations import current_revision, head_revision, script_directory, upgrade_database
from gateway.settings import Settings, SettingsError, load_settings

T = TypeVar("T")
EXIT_USAGE = 2


def _settings(ctx: click.Context) -> Settings:
    try:
        return load_settings(dict(ctx.obj or {}))
    except SettingsError as exc:
        click.echo(f"strata: invalid setting: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
        raise  # unreachable: ctx.exit raises


def _with_engine(settings: Settings, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = create_engine(settings.effective_database_url)
        try:
            return await work(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _label(revision: str | None) -> str:
    return revision or "none (empty database)"


@click.group()
@click.option("--state-dir", help="State directory (STRATA_STATE_DIR).")
@click.option("--database-url", help="Database URL (STRATA_DATABASE_URL).")
@click.pass_context
def db(ctx: click.Context, state_dir: str | None, database_url: str | None) -> None:
    """Schema migrations of the state database."""
    given: dict[str, Any] = {"state_dir": state_dir, "database_url": database_url}
    ctx.obj = {**(ctx.obj or {}), **{key: value for key, value in given.items() if value}}


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Upgrade the database to the latest revision (prints the revision before and after)."""
    from apis.process.engine import migrate_engine_schema, system_database_url

    settings = _settings(ctx)
    settings.state_path.mkdir(parents=True, exist_ok=True)
    result = _with_engine(settings, upgrade_database)
    if result.stamped:
        click.echo(f"found tables without a revision: stamped {result.stamped}")
    click.echo(f"before: {_label(result.before)}")
    click.echo(f"after:  {_label(result.after)}")
    # The workflow engine's schema too: servers launch it with its migrations off.
    migrate_engine_schema(
        system_database_url(settings.effective_database_url, str(settings.state_path / "workflows.sqlite"))
    )
    click.echo("workflow engine: schema current")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Print the database's revision."""
    settings = _settings(ctx)
    revision = _with_engine(settings, current_revision)
    suffix = " (head)" if revision == head_revision() else (" (upgrade pending)" if revision else "")
    click.echo(f"{_label(revision)}{suffix}")


@db.command()
def history() -> None:
    """List the revisions, newest first."""
    for script in script_directory().walk_revisions():
        marker = " (head)" if script.is_head else ""
        parent = script.down_revision or "<base>"
        click.echo(f"{parent} -> {script.revision}{marker}: {script.doc}")


@db.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--without-master-key",
    is_flag=True,
    help="Leave the state directory's master.key out (keep it elsewhere: the backup cannot be read without it).",
)
@click.pass_context
def backup(ctx: click.Context, archive: Path, without_master_key: bool) -> None:
    """Back up the embedded state (SQLite) into ARCHIVE (.tar.gz, mode 0600), online.

    PostgreSQL: use pg_dump -Fc / pg_restore (README, 'Backup and restore').
    """
    from gateway.state_backup import BackupError
    from gateway.state_backup import backup as write_backup

    settings = _settings(ctx)
    try:
        report = write_backup(settings, archive, include_master_key=not without_master_key)
    except BackupError as exc:
        click.echo(f"strata: backup refused: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    for name, size in report.files.items():
        click.echo(f"{name}: {size} bytes")
    click.echo(f"schema revision: {_label(report.revision)}")
    click.echo(f"written: {report.path}")


@db.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing state (the gateways must be stopped).")
@click.pass_context
def restore(ctx: click.Context, archive: Path, force: bool) -> None:
    """Restore the embedded state from ARCHIVE (checked whole before anything is written)."""
    from gateway.state_backup import BackupError
    from gateway.state_backup import restore as read_backup

    settings = _settings(ctx)
    try:
        report = read_backup(settings, archive, force=force)
    except BackupError as exc:
        click.echo(f"strata: restore refused: {exc}", err=True)
        ctx.exit(EXIT_USAGE)
    for name, size in report.files.items():
        click.echo(f"{name}: {size} bytes")
    revision = report.revision
    behind = revision != head_revision()
    click.echo(f"schema revision: {_label(revision)}" + (" (run `strata db upgrade` before serving)" if behind else ""))

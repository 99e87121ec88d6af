"""Backup and restore of the embedded state: ``strata db backup`` / ``strata db restore``.

The embedded default keeps its state in SQLite files under the state directory: the gateway's
database (clients, keys, the cross-reference store, transactions, the outbox) and the workflow
engine's (``workflows.sqlite``). Losing the cross-reference store means duplicate customers and
invoices at every vendor, so both are backed up together, with the files needed to read them
again:

* each database through SQLite's online backup API (a consistent snapshot, taken while the
  gateway runs: readers and writers carry on);
* ``master.key`` when the state directory holds it (it unseals the stored signing keys; a
  backup without it restores clients whose tokens can no longer be verified), unless
  ``include_master_key=False``: then the key must be kept elsewhere;
* ``governance.yaml`` when it lives in the state directory.

The archive is one ``.tar.gz`` with a ``MANIFEST.json`` (format, time, schema revision, each
file's SHA-256), written with mode 0600: it holds every secret of the state. The two databases
are two snapshots taken one after the other, not one: a workflow that moved between them is
finished again by the engine after a restore, and the vendors' idempotency (external ids,
look-ups before creates) keeps that from making a second record.

A restore checks the whole archive before it writes anything (manifest, checksums, a schema
revision this release knows), refuses while a gateway holds a live executor lease on the state
(stop the gateways first), and replaces each file atomically, removing the old database's
``-wal``/``-shm`` files first: a stale write-ahead log applied to the restored file would corrupt
it. PostgreSQL deployments use ``pg_dump``/``pg_restore`` (README, "Backup and restore").
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core.master_key import MASTER_KEY_FILE_NAME
from core.migrations import script_directory
from gateway.settings import Settings

FORMAT = "strata-state-backup/1"
MANIFEST = "MANIFEST.json"
STATE_DATABASE = "strata.db"
ENGINE_DATABASE = "workflows.sqlite"
GOVERNANCE = "governance.yaml"
_SQLITE_PREFIXES = ("sqlite+aiosqlite:///", "sqlite:///")


class BackupError(Exception):
    """Why a backup or a restore was refused (nothing was written)."""


@dataclass(frozen=True)
class BackupReport:
    """What a backup or restore did."""

    path: Path
    files: dict[str, int]
    """File name in the archive → size in bytes."""
    revision: str | None
    """The state database's schema revision."""


def sqlite_state_path(settings: Settings) -> Path:
    """The state database file of the embedded default; :class:`BackupError` for a server database."""
    url = settings.effective_database_url
    for prefix in _SQLITE_PREFIXES:
        if url.startswith(prefix):
            return Path(url.removeprefix(prefix))
    raise BackupError(
        "the state database is not SQLite: back up PostgreSQL with pg_dump -Fc and restore it with "
        "pg_restore (README, 'Backup and restore')"
    )


def _sources(settings: Settings, *, include_master_key: bool) -> dict[str, Path]:
    """Archive member name → file on disk, for the files that exist."""
    state = settings.state_path
    candidates = {STATE_DATABASE: sqlite_state_path(settings), ENGINE_DATABASE: state / ENGINE_DATABASE}
    if include_master_key and not settings.master_key:
        candidates[MASTER_KEY_FILE_NAME] = state / MASTER_KEY_FILE_NAME
    governance = settings.reloaded_governance_path  # a reload writes the state's own copy here
    if governance.parent.resolve() == state.resolve():
        candidates[GOVERNANCE] = governance
    return {name: path for name, path in candidates.items() if path.is_file()}


def _snapshot(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API)."""
    with (
        contextlib.closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as reader,
        contextlib.closing(sqlite3.connect(target)) as writer,
    ):
        reader.backup(writer)


def _revision(database: Path) -> str | None:
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        try:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            return None
    return str(row[0]) if row else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backup(settings: Settings, archive: Path, *, include_master_key: bool = True) -> BackupReport:
    """Write the state's backup to ``archive`` (a ``.tar.gz``, mode 0600); the gateway may be running."""
    sources = _sources(settings, include_master_key=include_master_key)
    if STATE_DATABASE not in sources:
        raise BackupError(f"no state database at {sqlite_state_path(settings)}")
    if archive.exists():
        raise BackupError(f"{archive} exists: choose a new file")
    with tempfile.TemporaryDirectory(dir=archive.parent) as scratch:
        copies: dict[str, Path] = {}
        for name, source in sources.items():
            copy = Path(scratch) / name
            if name in (STATE_DATABASE, ENGINE_DATABASE):
                _snapshot(source, copy)
            else:
                copy.write_bytes(source.read_bytes())
            copies[name] = copy
        revision = _revision(copies[STATE_DATABASE])
        manifest = {
            "format": FORMAT,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "revision": revision,
            "files": {name: {"sha256": _sha256(copy), "bytes": copy.stat().st_size} for name, copy in copies.items()},
        }
        partial = archive.with_name(f".{archive.name}.partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
            for name, copy in copies.items():
                tar.add(copy, arcname=name, recursive=False, filter=_private)
        os.replace(partial, archive)  # never a half-written archive under the chosen name
        sizes = {name: copy.stat().st_size for name, copy in copies.items()}
    return BackupReport(archive, sizes, revision)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def live_leases(database: Path, now: float | None = None) -> list[str]:
    """Executors whose lease on this state has not expired (their gateways may be running)."""
    if not database.is_file():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        try:
            query = "SELECT executor_id FROM workflow_executors WHERE expires_at > ?"
            rows = connection.execute(query, (time.time() if now is None else now,)).fetchall()
        except sqlite3.OperationalError:  # no such table: no engine ever ran on this state
            return []
    return [str(row[0]) for row in rows]


def restore(settings: Settings, archive: Path, *, force: bool = False) -> BackupReport:
    """Replace the state with ``archive``'s (checked whole first; refused over live state unless ``force``)."""
    target = sqlite_state_path(settings)
    state = settings.state_path
    with tempfile.TemporaryDirectory() as scratch:
        extracted = _extract_checked(archive, Path(scratch))
        revision = _revision(extracted[STATE_DATABASE])
        known = {script.revision for script in script_directory().walk_revisions()}
        if revision is not None and revision not in known:
            raise BackupError(f"the backup's schema revision {revision} is newer than this release knows")
        holders = live_leases(target)
        if holders:
            raise BackupError(
                f"gateways hold live executor leases on this state ({', '.join(sorted(holders))}): stop them first"
            )
        if target.exists() and not force:
            raise BackupError(f"{target} exists: pass --force to replace the state with the backup")
        destinations = {
            STATE_DATABASE: target,
            ENGINE_DATABASE: state / ENGINE_DATABASE,
            MASTER_KEY_FILE_NAME: state / MASTER_KEY_FILE_NAME,
            GOVERNANCE: state / GOVERNANCE,
        }
        state.mkdir(parents=True, exist_ok=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        for name, source in extracted.items():
            destination = destinations[name]
            if name in (STATE_DATABASE, ENGINE_DATABASE):
                for suffix in ("-wal", "-shm", "-journal"):  # the old database's log must not meet the new file
                    Path(f"{destination}{suffix}").unlink(missing_ok=True)
            staged = destination.with_name(f".{destination.name}.restoring")
            staged.write_bytes(source.read_bytes())
            staged.chmod(0o600)
            os.replace(staged, destination)
        if ENGINE_DATABASE not in extracted:  # an engine database newer than the backup would replay other work
            (state / ENGINE_DATABASE).unlink(missing_ok=True)
    return BackupReport(archive, {name: destinations[name].stat().st_size for name in extracted}, revision)


def _extract_checked(archive: Path, into: Path) -> dict[str, Path]:
    """The archive's files after every check: known names only, manifest format, checksums."""
    if not archive.is_file():
        raise BackupError(f"no backup at {archive}")
    allowed = {MANIFEST, STATE_DATABASE, ENGINE_DATABASE, MASTER_KEY_FILE_NAME, GOVERNANCE}
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                if member.name not in allowed or not member.isfile():
                    raise BackupError(f"unexpected entry in the backup: {member.name[:100]!r}")
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"not a readable backup: {type(exc).__name__}") from exc
    try:
        manifest = json.loads((into / MANIFEST).read_text())
        files = manifest["files"]
        if manifest.get("format") != FORMAT:
            raise BackupError(f"unknown backup format {str(manifest.get('format'))[:60]!r}")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BackupError("the backup has no readable MANIFEST.json") from exc
    found = {name: into / name for name in allowed - {MANIFEST} if (into / name).is_file()}
    if set(found) != set(files) or STATE_DATABASE not in found:
        raise BackupError("the backup's files do not match its manifest")
    for name, path in found.items():
        if _sha256(path) != files[name].get("sha256"):
            raise BackupError(f"{name} does not match its checksum: the backup is damaged")
    return found

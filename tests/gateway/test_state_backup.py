"""``strata db backup`` / ``strata db restore`` on a real state directory (click's runner, in process).

What a platform team checks: the restored state is the backed-up one (clients, keys, a token of
the backed-up client still verifies), later changes are gone, the archive is private, a damaged
or foreign archive and a running gateway are refused before anything is written, a stale
write-ahead log of the replaced database is not applied to the restored file, and PostgreSQL is
pointed at its own tools.
"""

from __future__ import annotations

import io
import json
import sqlite3
import stat
import tarfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gateway.cli import main


class Strata:
    def __init__(self, state: Path) -> None:
        self.state = state
        self.runner = CliRunner()

    def __call__(self, *args: str, code: int = 0) -> str:
        env = {"STRATA_STATE_DIR": str(self.state)}
        result = self.runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    def client_names(self) -> list[str]:
        return sorted(client["name"] for client in json.loads(self("clients", "list", "--json")))

    def create_client(self, name: str) -> dict[str, str]:
        created: dict[str, str] = json.loads(
            self("clients", "create", "--name", name, "--scopes", "system:crm:read", "--tier", "gold", "--json")
        )
        return created

    def token(self, client: dict[str, str], code: int = 0) -> str:
        credentials = ("--client-id", client["client_id"], "--client-secret", client["client_secret"])
        return self("token", *credentials, "--scope", "system:crm:read", code=code)


@pytest.fixture
def strata(tmp_path: Path) -> Strata:
    return Strata(tmp_path / "state")


def test_a_restore_brings_back_the_backed_up_state_and_drops_what_came_after(strata: Strata, tmp_path: Path) -> None:
    kept = strata.create_client("kept")
    strata.token(kept)  # the first token makes the signing key, sealed under the state's master.key
    archive = tmp_path / "backups" / "state.tar.gz"
    archive.parent.mkdir()
    output = strata("db", "backup", str(archive))
    assert "strata.db" in output and "master.key" in output and "schema revision:" in output
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds every secret of the state
    with tarfile.open(archive) as tar:
        assert all(stat.S_IMODE(member.mode) == 0o600 for member in tar.getmembers())

    later = strata.create_client("later")
    assert strata.client_names() == ["kept", "later"]
    refused = strata("db", "restore", str(archive), code=2)
    assert "--force" in refused and strata.client_names() == ["kept", "later"]  # nothing written

    restored = strata("db", "restore", str(archive), "--force")
    assert "schema revision:" in restored and "strata db upgrade" not in restored  # same release: current
    assert strata.client_names() == ["kept"]
    assert strata.token(kept).strip().count(".") == 2  # the sealed signing key came back with its master key
    assert "invalid_client" in strata.token(later, code=1)


def test_a_restore_into_an_empty_state_directory(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("moved")
    archive = tmp_path / "state.tar.gz"
    strata("db", "backup", str(archive))
    elsewhere = Strata(tmp_path / "new-machine")
    elsewhere("db", "restore", str(archive))
    assert elsewhere.client_names() == ["moved"]


def test_a_stale_write_ahead_log_is_not_applied_to_the_restored_database(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("kept")
    archive = tmp_path / "state.tar.gz"
    strata("db", "backup", str(archive))
    strata.create_client("later")
    database = strata.state / "strata.db"
    # A crashed gateway leaves its log beside the database: a writer that never checkpointed.
    writer = sqlite3.connect(database)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("UPDATE oauth_clients SET name = 'from-the-log'")
    writer.commit()
    assert Path(f"{database}-wal").stat().st_size > 0
    strata("db", "restore", str(archive), "--force")
    writer.close()
    assert strata.client_names() == ["kept"]


def test_without_the_master_key_the_archive_holds_no_key(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("one")
    archive = tmp_path / "state.tar.gz"
    strata("db", "backup", str(archive), "--without-master-key")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "master.key" not in names and "strata.db" in names


def _rewrite(archive: Path, target: Path, change: dict[str, bytes]) -> None:
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source.getmembers():
            data = change.get(member.name, source.extractfile(member).read())  # type: ignore[union-attr]
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
        for name, data in change.items():
            if name not in source.getnames():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                out.addfile(info, io.BytesIO(data))


def test_a_damaged_or_foreign_archive_is_refused_before_anything_is_written(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("kept")
    archive = tmp_path / "state.tar.gz"
    strata("db", "backup", str(archive))
    strata.create_client("later")
    with tarfile.open(archive) as tar:
        database = tar.extractfile("strata.db").read()  # type: ignore[union-attr]

    damaged = tmp_path / "damaged.tar.gz"
    _rewrite(archive, damaged, {"strata.db": database[:-4096] + b"\0" * 4096})
    assert "checksum" in strata("db", "restore", str(damaged), "--force", code=2)

    foreign = tmp_path / "foreign.tar.gz"
    _rewrite(archive, foreign, {"../../etc/cron.d/x": b"* * * * * root true\n"})
    assert "unexpected entry" in strata("db", "restore", str(foreign), "--force", code=2)

    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"not an archive" * 100)
    assert "not a readable backup" in strata("db", "restore", str(garbage), "--force", code=2)
    assert "no backup at" in strata("db", "restore", str(tmp_path / "missing.tar.gz"), code=2)
    assert strata.client_names() == ["kept", "later"]


def test_a_restore_is_refused_while_a_gateway_holds_a_live_executor_lease(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("kept")
    archive = tmp_path / "state.tar.gz"
    strata("db", "backup", str(archive))
    with sqlite3.connect(strata.state / "strata.db") as connection:
        connection.execute(
            "INSERT INTO workflow_executors (executor_id, holder, heartbeat_at, expires_at) VALUES (?, ?, ?, ?)",
            ("gw-0", "host:1", time.time(), time.time() + 60),
        )
    assert "stop them first" in strata("db", "restore", str(archive), "--force", code=2)


def test_backup_refuses_an_existing_file_and_a_server_database(strata: Strata, tmp_path: Path) -> None:
    strata.create_client("one")
    archive = tmp_path / "state.tar.gz"
    archive.write_bytes(b"an earlier backup")
    assert "exists" in strata("db", "backup", str(archive), code=2)
    assert archive.read_bytes() == b"an earlier backup"
    result = CliRunner().invoke(
        main,
        ["db", "backup", str(tmp_path / "pg.tar.gz")],
        env={"STRATA_STATE_DIR": str(strata.state), "STRATA_DATABASE_URL": "postgresql+asyncpg://localhost/test"},
    )
    assert result.exit_code == 2 and "pg_dump" in result.output

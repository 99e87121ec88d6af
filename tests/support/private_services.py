"""A private PostgreSQL for fault tests: started, stopped and restarted at will.

The shared servers on 5432 and 6379 serve every test worker and are never stopped; a test that
must take its database or Redis away starts its own here, on free loopback ports, in a folder
of its own (removed afterwards). The private Redis beside it is
:class:`tests.support.redis_servers.RedisServer` with ``persisted=True``. ``initdb`` refuses to
run as root, so as root the PostgreSQL commands run as the ``postgres`` user (``runuser``); the
cluster is made for speed, not safety (``fsync=off``): it lives for one test.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.procs import free_port


def _postgres_bin(program: str) -> str:
    found = shutil.which(program) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))[::-1]), None)
    if found is None:
        raise RuntimeError(f"{program} is not installed (Debian: postgresql)")
    return found


class PrivatePostgres:
    """One PostgreSQL server of its own (trust authentication, user ``postgres``)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="strata-private-pg-"))
        self.data = self.folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres")

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of its ``postgres`` database."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        command = [_postgres_bin(program), *args]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> PrivatePostgres:
        """Initialise the cluster (first time) and start the server; returns once it accepts connections."""
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        options = f"-p {self.port} -h 127.0.0.1 -k {self.folder} -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        return self

    def stop(self) -> None:
        """Stop the server at once (``-m fast``: open connections are cut, as by a crash of the service)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop the server if it runs and delete its folder."""
        with contextlib.suppress(subprocess.CalledProcessError):  # not running
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

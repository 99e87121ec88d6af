"""Private ``redis-server`` processes on loopback ports: one over TLS, or a small Redis Cluster.

The shared Redis on 6379 is used by every test worker and is never reconfigured or stopped; a
test that needs TLS or Cluster starts its own servers here (Debian's ``redis-server`` is built
with TLS) and stops them afterwards. Nothing is persisted (``--save ''``, no AOF).
"""

from __future__ import annotations

import random
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tests.support.procs import free_port
from tests.support.tls_server import TestCA

START_DEADLINE_SECONDS = 10.0
NOT_PERSISTED = ("--save", "", "--appendonly", "no")
PERSISTED = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too; Redis refuses ports above 55535."""
    while True:
        port = random.randint(20000, 45000)
        if _bindable(port) and _bindable(port + 10000):
            return port


class RedisServer:
    """A ``redis-server`` of its own on a loopback port that a restart keeps (same URL afterwards).

    ``args`` go on its command line (TLS, cluster); ``persisted`` keeps its data in an append-only
    file fsync'd at each write, as a production Redis is (streams survive a restart), else nothing
    is kept; ``ping`` are ``redis-cli`` options for the readiness check (TLS).
    """

    def __init__(
        self, folder: Path, *args: str, port: int = 0, ping: tuple[str, ...] = (), persisted: bool = False
    ) -> None:
        self.folder, self.args, self.ping = folder, args, ping
        self.port = port or free_port()
        self.persistence = PERSISTED if persisted else NOT_PERSISTED
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it; returns once it answers ``PING`` (raises with its log if it does not)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        log = self.folder / "redis.log"
        command = ["redis-server", *self.persistence, "--bind", "127.0.0.1", "--dir", str(self.folder)]
        process = self.process = subprocess.Popen(
            [*command, *_port_args(self.port, self.args), *self.args], stdout=log.open("ab"), stderr=subprocess.STDOUT
        )
        _wait_for(
            lambda: process.poll() is None and _cli(self.port, *self.ping, "PING") == "PONG",
            f"redis-server on {self.port}",
            lambda: process.poll() is not None,
            log,
        )
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM; killed if it does not exit within 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextmanager
def redis_server(folder: Path, *args: str, ping: tuple[str, ...] = (), port: int = 0) -> Iterator[int]:
    """A :class:`RedisServer` with ``args`` on ``port`` (default: a free one; yielded); stopped on exit."""
    server = RedisServer(folder, *args, port=port, ping=ping)
    try:
        yield server.start().port
    finally:
        server.stop()


def _port_args(port: int, args: tuple[str, ...]) -> tuple[str, ...]:
    # A TLS server listens on its TLS port only.
    return ("--port", "0", "--tls-port", str(port)) if "--tls-cert-file" in args else ("--port", str(port))


def _cli(port: int, *command: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *command], capture_output=True, text=True, timeout=5
    )
    return done.stdout.strip()


def _wait_for(
    ready: Callable[[], bool], what: str, failed: Callable[[], bool] = lambda: False, log: Path | None = None
) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if ready():
            return
        if failed():
            break
        time.sleep(0.05)
    output = log.read_text()[-2000:] if log is not None and log.exists() else ""
    raise RuntimeError(f"{what} did not come up within {START_DEADLINE_SECONDS}s\n{output}")


@contextmanager
def tls_redis(folder: Path) -> Iterator[tuple[str, TestCA]]:
    """A Redis server speaking TLS only, with a certificate for ``localhost``/127.0.0.1 from a test CA.

    Yields ``(url, ca)``: ``rediss://127.0.0.1:<port>?ssl_ca_certs=<the CA file>`` (redis-py verifies
    the certificate and the address against that CA) and the CA.
    """
    ca = TestCA()
    cert_file, key_file = ca.server_files("localhost", ip="127.0.0.1")
    tls = ("--tls-cert-file", str(cert_file), "--tls-key-file", str(key_file))
    with redis_server(
        folder,
        *tls,
        "--tls-ca-cert-file",
        str(ca.ca_file),
        "--tls-auth-clients",
        "no",
        ping=("--tls", "--cacert", str(ca.ca_file)),
    ) as port:
        # The address, not the name: the certificate names both, and a name lookup in a test process
        # goes through the event loop's default executor, which the workflow engine replaces by its
        # own (a later test then met one an earlier in-process engine had shut down).
        yield f"rediss://127.0.0.1:{port}?ssl_ca_certs={ca.ca_file}", ca


@contextmanager
def redis_cluster(folder: Path, masters: int = 3) -> Iterator[list[int]]:
    """A Redis Cluster of ``masters`` primaries (no replicas) on loopback; yields their ports."""
    with ExitStack() as servers:
        ports = [
            servers.enter_context(
                redis_server(
                    folder / f"node-{n}",
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    str(folder / f"node-{n}" / "nodes.conf"),
                    "--cluster-node-timeout",
                    "5000",
                    port=cluster_port(),
                )
            )
            for n in range(masters)
        ]
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(f"127.0.0.1:{port}" for port in ports),
                "--cluster-replicas",
                "0",
                "--cluster-yes",
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        for port in ports:
            _wait_for(lambda port=port: "cluster_state:ok" in _cli(port, "CLUSTER", "INFO"), f"cluster node {port}")
        yield ports

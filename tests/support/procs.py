"""One harness for tests that need real gateway *processes*: scale-out, crash and restart.

``GatewayProcess`` runs ``strata serve`` (granian, the production server) on a free
loopback port with the given settings, waits until ``/health/live`` answers, and stops it
with SIGTERM (SIGKILL when a test asks for a crash). Each process leads a process group of its
own, and a crash kills the whole group: granian's worker processes die with their supervisor,
as on a machine that fails, instead of living on (still serving, still running background
tasks) after the test. ``SandboxesProcess`` runs ``strata
sandboxes serve`` the same way, so the "vendors" outlive the gateway processes; its
``gateway_settings()`` point a ``GatewayProcess`` at them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_SECONDS = 60.0
"""A start takes ~5-15 s (imports run twice: granian's supervisor, then its worker); under a
loaded CI run with two test workers, tens of seconds were seen."""


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class GatewayProcess:
    """A ``strata serve`` subprocess."""

    command: tuple[str, ...] = ("serve",)
    health_path = "/health/live"
    start_deadline = START_DEADLINE_SECONDS
    name = "gateway"

    def __init__(
        self, state_dir: Path, *, argv: tuple[str, ...] | None = None, cwd: Path = PROJECT_ROOT, **settings: Any
    ) -> None:
        self.argv = argv or (sys.executable, "-m", "gateway.cli")
        """What runs ``strata`` (this checkout's, by default; an installed console script for the wheel test)."""
        self.cwd = cwd
        self.port = int(settings.pop("port", 0)) or free_port()
        self.state_dir = state_dir
        self.env = {
            **{key: value for key, value in os.environ.items() if not key.startswith("STRATA_")},
            "STRATA_PORT": str(self.port),
            "STRATA_STATE_DIR": str(state_dir),
            "STRATA_SEED_DEMO": "false",
            "STRATA_LOG_LEVEL": "warning",
            # The workflow engine only where a test asks for it (the process API tests do): it
            # costs every start a launch and every process a few polling threads.
            "STRATA_WORKFLOWS_ENABLED": "false",
            **{f"STRATA_{key.upper()}": str(value) for key, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.swept = False
        self.log_path = state_dir / f"{self.name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def credentials_file(self) -> Path:
        """The ``sandbox-credentials.json`` of this process's state (its sandboxes' credentials)."""
        return self.state_dir / "sandbox-credentials.json"

    def credentials(self, vendor: str) -> dict[str, str]:
        """One sandbox's entry of that file (its credentials and ``admin_token``)."""
        import json

        entry: dict[str, str] = json.loads(self.credentials_file.read_text())[vendor]
        return entry

    def admin_headers(self, vendor: str) -> dict[str, str]:
        """The header a sandbox's ``/_control`` API asks for."""
        return {"Authorization": f"Bearer {self.credentials(vendor)['admin_token']}"}

    def start(self) -> GatewayProcess:
        """Start the process and wait until it answers its health check."""
        return self.launch().wait_ready()

    def launch(self) -> GatewayProcess:
        """Start the process without waiting (then :meth:`wait_ready`; :func:`start_all` for several)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.swept = False
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [*self.argv, *self.command],
            cwd=self.cwd,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,  # its workers join the group: see stop()
        )
        return self

    def wait_ready(self) -> GatewayProcess:
        """Wait until the launched process answers its health check (stop it and raise if it does not)."""
        assert self.process is not None, "launch() first"
        deadline = time.monotonic() + self.start_deadline
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log_path.read_text()[-10000:]}")
            try:
                if httpx.get(f"{self.url}{self.health_path}", timeout=0.5).is_success:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"{self.name} did not start within {self.start_deadline}s:\n{self.log_path.read_text()[-3000:]}"
        )

    def stop(self, *, crash: bool = False) -> None:
        """SIGTERM and wait (a graceful stop), or with ``crash`` SIGKILL the whole process group.

        Whatever of the group is still alive afterwards (a worker that outlived its
        supervisor) is killed too, so no test leaves processes behind.
        """
        if self.process is None or self.swept:
            return
        if self.process.poll() is None:
            if crash:
                self._kill_group()
            else:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._kill_group()
        self.swept = True  # the group id may be reused once the group is empty: never signal it again

    def _kill_group(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
            os.killpg(self.process.pid, signal.SIGKILL)

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_all(*processes: GatewayProcess) -> None:
    """Start several processes side by side (their start-ups overlap) and wait until each is ready.

    For processes on a state already provisioned (:func:`provision_token`): concurrent start-ups
    must not race to create the schema. If one fails to start, every one is stopped.
    """
    for process in processes:
        process.launch()
    try:
        for process in processes:
            process.wait_ready()
    except BaseException:
        for process in processes:
            process.stop()
        raise


class SandboxesProcess(GatewayProcess):
    """A ``strata sandboxes serve`` subprocess: every vendor sandbox, state under ``state_dir``."""

    name = "sandboxes"
    health_path = "/health"

    def __init__(self, state_dir: Path, **settings: Any) -> None:
        super().__init__(state_dir, **settings)
        self.command = ("sandboxes", "serve", "--port", str(self.port))

    def gateway_settings(self) -> dict[str, str]:
        """Settings (keyword form, for ``GatewayProcess``) pointing every connector here, with the
        sandboxes' credentials file."""
        from gateway.sandbox_apps import gateway_environment

        environment = gateway_environment(self.url, str(self.credentials_file))
        return {key.removeprefix("STRATA_").lower(): value for key, value in environment.items()}


def provision_token(settings: Any, scopes: list[str], tier: str = "internal", name: str = "test") -> str:
    """Prepare the state of ``settings`` (schema, keys), register a client, return a token of it.

    For tests that start gateway processes on that state: run before they start.
    """
    import asyncio

    from gateway.state import issue_token, open_client_store, prepare_state

    async def setup() -> str:
        await prepare_state(settings)
        async with open_client_store(settings) as store:
            record, secret = await store.create(name=name, scopes=scopes, tier=tier)
        assert secret is not None
        return await issue_token(settings, record.client_id, secret, None)

    return asyncio.run(setup())

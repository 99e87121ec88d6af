"""The built wheel is a whole server: installed outside the checkout, ``strata serve`` comes up.

A platform team installs Strata from its wheel, not from a checkout. This test runs the image's
install step (``deploy/install.sh``: the locked runtime dependencies, then the wheel built from the
tree) into a fresh virtual environment in a temporary directory (offline, from uv's cache that
``make install`` warmed), migrates a database there with
``strata db upgrade`` and starts ``strata serve`` with nothing but ``STRATA_*`` settings and that
directory as its working directory: contracts, migrations and templates must come from the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.procs import PROJECT_ROOT, GatewayProcess


def _uv() -> list[str]:
    """The uv that runs this suite (``uv run`` names itself in ``UV``), else the base Python's module."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    return [str(Path(sys.base_prefix) / "bin" / "python3"), "-m", "uv"]


def _run(*argv: str, cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"{' '.join(argv)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A virtual environment (outside the checkout) holding the wheel and the locked runtime dependencies."""
    uv = _uv()
    probe = subprocess.run([*uv, "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        reason = f"uv is not reachable as {uv} (make install puts it into the machine's Python)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"skipping: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("installed")
    assert not root.is_relative_to(PROJECT_ROOT)
    # The Dockerfile's own install step, offline from uv's cache (as `make install` left it).
    environment = {**os.environ, "UV": " ".join(uv), "PYTHON": sys.executable, "UV_OFFLINE": "1"}
    environment.pop("VIRTUAL_ENV", None)
    done = subprocess.run(
        ["sh", str(PROJECT_ROOT / "deploy" / "install.sh"), str(PROJECT_ROOT), str(root / "venv")],
        cwd=root, env=environment, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "strata installed into" in done.stdout
    yield root


def test_the_installed_package_reads_its_own_contracts_not_the_checkouts(installed: Path) -> None:
    python = installed / "venv" / "bin" / "python"
    where = _run(
        str(python), "-c",
        "import gateway, gateway.settings as s; print(gateway.__file__); print(s.load_settings({}).contracts_path)",
        cwd=installed,
    ).split()  # fmt: skip
    site = installed / "venv" / "lib"
    assert all(Path(path).is_relative_to(site) for path in where), where
    assert (Path(where[1]) / "governance.yaml").is_file()
    assert (Path(where[1]) / "system" / "erp" / "v1.yaml").is_file()


def test_db_upgrade_then_serve_outside_the_checkout(installed: Path) -> None:
    strata = installed / "venv" / "bin" / "strata"
    state = installed / "state"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("STRATA_", "PYTHONPATH"))}
    upgraded = subprocess.run(
        [str(strata), "db", "upgrade"],
        cwd=installed,
        env={**environment, "STRATA_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert upgraded.returncode == 0, upgraded.stderr[-3000:]
    assert "before: none (empty database)" in upgraded.stdout
    assert "after:  none" not in upgraded.stdout

    gateway = GatewayProcess(state, argv=(str(strata),), cwd=installed)
    gateway.env.pop("PYTHONPATH", None)
    with gateway:
        ready = httpx.get(f"{gateway.url}/health/ready", timeout=5)
        assert ready.status_code == 200, ready.text
        # A route the contracts declare answers through the policy chain: 401 problem, not 404.
        governed = httpx.get(f"{gateway.url}/system/erp/v1/legal-entities", timeout=5)
        assert governed.status_code == 401, governed.text
        assert governed.headers["content-type"].startswith("application/problem+json")
        assert httpx.get(f"{gateway.url}/system/erp/v1/no-such-thing", timeout=5).status_code == 404

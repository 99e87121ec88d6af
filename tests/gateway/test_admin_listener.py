"""The admin listener (``STRATA_ADMIN_PORT``): one server for a group of workers, with the
metrics of every worker and the readiness details; the public port keeps neither."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest

from gateway.listeners import serves
from gateway.settings import load_settings
from tests.support.harness import running_gateway
from tests.support.procs import GatewayProcess, free_port


def _requests_total(metrics: str) -> float:
    return sum(float(value) for value in re.findall(r"^strata_requests_total\{[^}]*\} ([0-9.e+]+)$", metrics, re.M))


def test_one_admin_listener_serves_two_workers(tmp_path: Path) -> None:
    admin_port = free_port()
    with GatewayProcess(tmp_path, workers=2, admin_port=admin_port) as gateway:
        admin = f"http://127.0.0.1:{admin_port}"
        deadline = time.monotonic() + 60
        while True:  # the admin server starts beside the workers
            try:
                if httpx.get(f"{admin}/health/live", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the admin listener did not start"
            time.sleep(0.2)
        sent = 24
        for _ in range(sent):  # a connection each: the two workers share them
            assert httpx.get(f"{gateway.url}/system/crm/v1/accounts", timeout=5).status_code == 401
        total = 0.0
        deadline = time.monotonic() + 15
        while total < sent and time.monotonic() < deadline:
            time.sleep(0.5)  # each worker writes its snapshot every second
            total = _requests_total(httpx.get(f"{admin}/metrics", timeout=5).text)
        assert total == sent  # every worker's requests, read by a third process

        ready = httpx.get(f"{admin}/health/ready", timeout=5).json()
        assert ready["mode"] == "demo" and ready["checks"]["database"]["status"] == "ok" and "vendors" in ready
        public_ready = httpx.get(f"{gateway.url}/health/ready", timeout=5)
        assert public_ready.status_code == 200 and public_ready.json() == {"status": "ready", "mode": "demo"}
        assert httpx.get(f"{gateway.url}/metrics", timeout=5).status_code == 404
        assert httpx.get(f"{gateway.url}/docs", timeout=5).status_code == 404
        assert httpx.get(f"{admin}/system/crm/v1/accounts", timeout=5).status_code == 404  # admin paths only
        assert httpx.get(f"{admin}/sandbox/stripe/_control/counts", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("settings", "listener", "path", "served"),
    [
        ({"mode": "production"}, "public", "/metrics", False),
        ({"mode": "production"}, "public", "/docs/system/crm/v1", False),
        ({"mode": "production"}, "public", "/health/ready", True),
        ({"mode": "production"}, "public", "/gateway/v1/clients", True),
        ({"mode": "production", "admin_port": 9100, "admin_management": True}, "public", "/gateway/v1/clients", False),
        ({"mode": "production", "admin_port": 9100, "admin_management": True}, "admin", "/gateway/v1/clients", True),
        ({"mode": "production", "admin_port": 9100}, "admin", "/gateway/v1/clients", False),
        ({"admin_port": 9100}, "admin", "/metrics", True),
        ({"admin_port": 9100}, "admin", "/oauth/token", False),
        ({}, "public", "/metrics", True),  # demo without an admin port: as before
    ],
)
def test_which_listener_serves_which_path(settings: dict[str, object], listener: str, path: str, served: bool) -> None:
    resolved = load_settings(settings, environ={})
    assert serves(listener, resolved, path) is served  # type: ignore[arg-type]


async def test_readiness_and_the_management_api_say_the_mode(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        ready = await gw.client.get("/health/ready")
        assert ready.json()["mode"] == "demo" and "checks" in ready.json()
        headers = await gw.bearer("gateway:catalog:read")
        catalogue = await gw.client.get("/gateway/v1/catalogue", headers=headers)
        assert catalogue.status_code == 200 and catalogue.headers["strata-mode"] == "demo"

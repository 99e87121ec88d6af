"""``/health/live`` and ``/health/ready`` on the real app."""

from __future__ import annotations

from pathlib import Path

from tests.support.harness import problem, running_gateway
from tests.support.procs import free_port


async def test_ready_when_every_dependency_answers(tmp_path: Path) -> None:
    async with running_gateway(tmp_path / "state") as gw:
        assert (await gw.client.get("/health/live")).json() == {"status": "ok"}
        response = await gw.client.get("/health/ready")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "database": "ok",
            "signing_keys": "ok",
        }


async def test_not_ready_names_the_failing_part_without_its_error_text(tmp_path: Path) -> None:
    unreachable = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    async with running_gateway(tmp_path / "state", redis_url=unreachable) as gw:
        assert (await gw.client.get("/health/live")).status_code == 200  # alive, just not ready
        response = await gw.client.get("/health/ready")
        assert response.status_code == 503 and response.headers["retry-after"]
        body = problem(response)
        assert body["detail"] == "failing: redis"
        assert body["checks"]["redis"]["status"] in ("failed", "timeout")
        assert body["checks"]["database"]["status"] == "ok"
        assert "127.0.0.1" not in response.text and "Connection" not in response.text

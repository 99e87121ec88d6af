"""What the reconciliation tests share: the scopes, starting a gateway, waiting for a run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.support.harness import Gateway, running_gateway

SCOPES = "process:reconciliation:read process:reconciliation:write"
RUNS = "/process/reconciliation/v1/runs"
RUN_DEADLINE_SECONDS = 60.0


@asynccontextmanager
async def reconciliation_gateway(state_dir: Path, **overrides: Any) -> AsyncIterator[Gateway]:
    """A gateway running the workflow engine, without the daily schedule (tests start runs themselves)."""
    values: dict[str, Any] = {"workflows_enabled": True, "reconciliation_schedule_hour": -1, **overrides}
    async with running_gateway(state_dir, **values) as gateway:
        yield gateway


async def finished(gateway: Gateway, href: str, headers: dict[str, str]) -> dict[str, Any]:
    """The report at ``href`` once the run is no longer running."""
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    while True:
        response = await gateway.client.get(href, headers=headers)
        assert response.status_code == 200, response.text
        report: dict[str, Any] = response.json()
        if report["status"] != "running":
            return report
        assert time.monotonic() < deadline, f"run {href} still running after {RUN_DEADLINE_SECONDS} s"
        await asyncio.sleep(0.2)

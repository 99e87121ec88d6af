"""The dashboard's reconciliation section after a real run (the workflow engine on), and its
SLA section after a real quote-to-cash order."""

from __future__ import annotations

from pathlib import Path

from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, Process, deal
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished
from tests.support.harness import running_gateway

DASHBOARD = "/experience/operations/v1/dashboard"


async def test_latest_run_and_a_real_order(tmp_path: Path) -> None:
    async with running_gateway(tmp_path, **FAST_PROCESS_SETTINGS) as gw:
        reader = await gw.bearer("experience:operations:read")
        process = Process(
            gw,
            submitter=await gw.bearer("process:quote-to-cash:write", tier="internal"),
            reader=await gw.bearer("process:operations:read", tier="internal"),
            operator={},
        )
        (won,) = await process.deals(deal("Dashboard Order Inc"))
        order = await process.submit(won["opportunity_id"])
        transaction = await process.settled(order["transaction"]["id"])
        assert transaction["state"] == "completed", transaction

        headers = await gw.bearer(SCOPES)
        runs = []
        for period in ("2025-01", "2025-02"):
            started = await gw.client.post(RUNS, json={"period": period}, headers=headers)
            assert started.status_code == 202, started.text
            runs.append(await finished(gw, started.headers["Location"], headers))

        response = await gw.client.get(DASHBOARD, headers=reader)
        assert response.status_code == 200, response.text
        body = response.json()
        latest = runs[-1]
        assert body["reconciliation"] == {
            "id": latest["id"],
            "period": "2025-02",
            "trigger": "api",
            "status": "completed",
            "created_at": body["reconciliation"]["created_at"],
            "completed_at": body["reconciliation"]["completed_at"],
            "mismatch_count": latest["mismatch_count"],
            "by_kind": latest["by_kind"],
        }
        assert body["reconciliation"]["completed_at"] >= body["reconciliation"]["created_at"]
        sla = {entry["workflow"]: entry for entry in body["sla"]}
        assert sla["quote-to-cash"]["completed"] == 1
        assert 0 < sla["quote-to-cash"]["p95_seconds"] < 60 and sla["quote-to-cash"]["met"] is True
        states = {entry["workflow"]: entry["counts"] for entry in body["states"]}
        assert states["quote-to-cash"]["completed"] == 1

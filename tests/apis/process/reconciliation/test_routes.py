"""``/process/reconciliation/v1`` through the governance chain: start, list, report, refusals."""

from __future__ import annotations

import asyncio
from pathlib import Path

from apis.process.runtime import runtime
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished, reconciliation_gateway
from tests.support.harness import Gateway, problem

SLOW_CRM = {"kind": "latency", "latency_seconds": 1.5, "count": 1, "path_prefix": "/services/data"}
"""The CRM's next answer comes late: a run stays in flight long enough to be submitted again."""


async def _slow_crm(gateway: Gateway) -> None:
    response = await gateway.client.post("/sandbox/salesforce/_control/faults", json=SLOW_CRM)
    assert response.status_code in (200, 201), response.text


async def test_start_list_and_report(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        first = await gateway.client.post(RUNS, json={"period": "2025-01"}, headers=headers)
        assert first.status_code == 202, first.text
        body = first.json()
        assert body["created"] is True
        run = body["run"]
        assert run["id"].startswith("rec_") and run["period"] == "2025-01" and run["trigger"] == "api"
        assert first.headers["Location"] == f"{RUNS}/{run['id']}" == run["href"]
        report = await finished(gateway, first.headers["Location"], headers)
        assert report["status"] == "completed"
        assert report["mismatch_count"] == len(report["mismatches"]) == sum(report["by_kind"].values())

        second = await gateway.client.post(RUNS, json={"period": "2024-12"}, headers=headers)
        await finished(gateway, second.headers["Location"], headers)

        listed = await gateway.client.get(RUNS, headers=headers)
        assert listed.status_code == 200
        assert [r["id"] for r in listed.json()["items"]] == [second.json()["run"]["id"], run["id"]]  # newest first
        page = await gateway.client.get(RUNS, params={"limit": 1}, headers=headers)
        assert [r["period"] for r in page.json()["items"]] == ["2024-12"]
        cursor = page.json()["next_cursor"]
        assert cursor and f"cursor={cursor}" in page.headers["Link"]
        rest = await gateway.client.get(RUNS, params={"limit": 1, "cursor": cursor}, headers=headers)
        assert [r["period"] for r in rest.json()["items"]] == ["2025-01"]
        assert rest.json()["next_cursor"] is None and "Link" not in rest.headers


async def test_a_period_in_flight_is_one_run_and_a_finished_one_runs_again(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        await _one_run_per_period_in_flight(gateway)


async def test_one_run_per_period_in_flight_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    async with reconciliation_gateway(tmp_path, database_url=postgres_url) as gateway:
        await _one_run_per_period_in_flight(gateway)


async def _one_run_per_period_in_flight(gateway: Gateway) -> None:
    headers = await gateway.bearer(SCOPES)
    await _slow_crm(gateway)
    answers = await asyncio.gather(
        *(gateway.client.post(RUNS, json={"period": "2025-02"}, headers=headers) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [202, 202, 202]
    ids = {a.json()["run"]["id"] for a in answers}
    assert len(ids) == 1
    assert sorted(a.json()["created"] for a in answers) == [False, False, True]
    assert {a.headers["Location"] for a in answers} == {f"{RUNS}/{ids.pop()}"}
    done = await finished(gateway, answers[0].headers["Location"], headers)
    assert done["status"] == "completed"

    again = await gateway.client.post(RUNS, json={"period": "2025-02"}, headers=headers)
    assert again.status_code == 202 and again.json()["created"] is True
    assert again.json()["run"]["id"] != done["id"]
    await finished(gateway, again.headers["Location"], headers)
    listed = (await gateway.client.get(RUNS, headers=headers)).json()["items"]
    assert [r["period"] for r in listed] == ["2025-02", "2025-02"]
    workflows = [await runtime().engine.status(r["id"]) for r in listed]
    assert [w.status if w else None for w in workflows] == ["SUCCESS", "SUCCESS"]


async def test_a_run_whose_vendor_stays_down_fails_and_the_period_can_run_again(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path, workflow_step_attempts=1) as gateway:
        headers = await gateway.bearer(SCOPES)
        fault = {"kind": "status", "status": 503, "path_prefix": "/v1/invoices"}
        assert (await gateway.client.post("/sandbox/stripe/_control/faults", json=fault)).status_code in (200, 201)
        started = await gateway.client.post(RUNS, json={"period": "2025-03"}, headers=headers)
        report = await finished(gateway, started.headers["Location"], headers)
        assert report["status"] == "failed"
        assert report["error"].startswith("fetch_billing: ")
        assert report["mismatches"] == [] and report["mismatch_count"] is None

        assert (await gateway.client.delete("/sandbox/stripe/_control/faults")).status_code in (200, 204)
        again = await gateway.client.post(RUNS, json={"period": "2025-03"}, headers=headers)
        assert again.json()["created"] is True
        assert (await finished(gateway, again.headers["Location"], headers))["status"] == "completed"


async def test_bad_input_is_a_problem_naming_the_field(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(SCOPES)
        for body in ({"period": "2025-13"}, {"period": "2025-1"}, {"period": "January"}, {}, {"period": 202501}):
            response = await gateway.client.post(RUNS, json=body, headers=headers)
            assert response.status_code == 422, (body, response.text)
            errors = problem(response)["errors"]
            assert any(e["in"] == "body" and "period" in (e.get("pointer", "") + e["detail"]) for e in errors), errors
        extra = await gateway.client.post(RUNS, json={"period": "2025-01", "force": True}, headers=headers)
        assert extra.status_code == 422

        unknown = await gateway.client.get(f"{RUNS}/rec_01JD2ZQ5X3M4N5P6Q7R8S9T0VW", headers=headers)
        assert unknown.status_code == 404
        assert problem(unknown)["status"] == 404

        bad_cursor = await gateway.client.get(RUNS, params={"cursor": "not-a-cursor"}, headers=headers)
        assert bad_cursor.status_code == 422
        assert any(e.get("name") == "cursor" for e in problem(bad_cursor)["errors"])
        listed = await gateway.client.get(RUNS, headers=headers)
        assert listed.json() == {"items": [], "next_cursor": None}  # nothing was started by bad input


async def test_scopes(tmp_path: Path) -> None:
    async with reconciliation_gateway(tmp_path) as gateway:
        reader = await gateway.bearer("process:reconciliation:read")
        writer = await gateway.bearer("process:reconciliation:write")
        other = await gateway.bearer("process:operations:read process:operations:write")

        refused = await gateway.client.post(RUNS, json={"period": "2025-01"}, headers=reader)
        assert refused.status_code == 403
        assert (await gateway.client.post(RUNS, json={"period": "2025-01"}, headers=other)).status_code == 403
        assert (await gateway.client.get(RUNS, headers=writer)).status_code == 403
        assert (await gateway.client.get(f"{RUNS}/rec_01JD2ZQ5X3M4N5P6Q7R8S9T0VW", headers=other)).status_code == 403
        assert (await gateway.client.get(RUNS)).status_code == 401
        assert (await gateway.client.get(RUNS, headers=reader)).json()["items"] == []

"""``/gateway/v1/audit`` and ``/gateway/v1/catalogue``: what an auditor and a platform team read."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.audit import AuditRecord
from tests.support.harness import Gateway, problem, running_gateway

EVENTS = "/gateway/v1/audit/events"
EXPORT = "/gateway/v1/audit/export"
CATALOGUE = "/gateway/v1/catalogue"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


def _iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat().replace("+00:00", "Z")


async def test_management_writes_say_who_changed_what(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:clients:admin gateway:audit:read system:crm:read", tier="internal")
    created = await gw.client.post(
        "/gateway/v1/clients", json={"name": "n", "scopes": ["system:crm:read"], "tier": "gold"}, headers=admin
    )
    target = created.json()["client_id"]
    await gw.client.post(f"/gateway/v1/clients/{target}/disable", headers=admin)
    await gw.app.state.components.audit.flush()
    events = await gw.client.get(EVENTS, params={"route": "/gateway/v1/clients/{client_id}/disable"}, headers=admin)
    assert events.status_code == 200, events.text
    [event] = events.json()["items"]
    assert event["reason"] == f"disabled client {target}"
    assert event["outcome"] == "allowed" and event["method"] == "POST" and event["client_id"]
    assert event["client_id"] != target  # the operator who acted, not the client acted on
    assert created.json()["client_secret"] not in (await gw.client.get(EVENTS, headers=admin)).text


async def test_filters_cursor_and_range(gw: Gateway) -> None:
    auditor = await gw.bearer("gateway:audit:read")
    audit = gw.app.state.components.audit
    base = time.time() - 3600
    for index in range(5):
        outcome = "denied" if index % 2 else "allowed"
        audit.record(
            AuditRecord(
                at=base + index,
                request_id=f"r{index}",
                method="POST",
                route="/system/crm/v1/accounts",
                status=403 if index % 2 else 201,
                outcome=outcome,
                client_id="cli_x" if index < 4 else "cli_y",
                policy="authorization" if index % 2 else None,
            )
        )
    await audit.flush()
    window = {"since": _iso(base - 1), "until": _iso(base + 10), "client_id": "cli_x"}
    first = await gw.client.get(EVENTS, params={**window, "limit": 3}, headers=auditor)
    assert [item["request_id"] for item in first.json()["items"]] == ["r3", "r2", "r1"]  # newest first
    assert 'rel="next"' in first.headers["link"]
    rest = await gw.client.get(
        EVENTS, params={**window, "limit": 3, "cursor": first.json()["next_cursor"]}, headers=auditor
    )
    assert [item["request_id"] for item in rest.json()["items"]] == ["r0"] and rest.json()["next_cursor"] is None
    denied = await gw.client.get(
        EVENTS, params={**window, "outcome": "denied", "policy": "authorization"}, headers=auditor
    )
    assert [item["request_id"] for item in denied.json()["items"]] == ["r3", "r1"]

    exported = await gw.client.get(EXPORT, params={"since": _iso(base - 1), "until": _iso(base + 10)}, headers=auditor)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert [line["request_id"] for line in lines] == ["r0", "r1", "r2", "r3", "r4"]  # oldest first


async def test_audit_unhappy_paths(gw: Gateway) -> None:
    auditor = await gw.bearer("gateway:audit:read")
    backwards = await gw.client.get(EVENTS, params={"since": _iso(100), "until": _iso(50)}, headers=auditor)
    assert backwards.status_code == 422 and problem(backwards)["errors"][0]["name"] == "until"
    forged = await gw.client.get(EVENTS, params={"cursor": "eyJhZnRlciI6IDF9"}, headers=auditor)  # an export cursor
    assert forged.status_code == 422 and problem(forged)["errors"][0]["name"] == "cursor"
    no_range = await gw.client.get(EXPORT, headers=auditor)
    assert no_range.status_code == 422
    assert {error["name"] for error in problem(no_range)["errors"]} == {"since", "until"}
    wrong_outcome = await gw.client.get(EVENTS, params={"outcome": "maybe"}, headers=auditor)
    assert wrong_outcome.status_code == 422
    admin_only = await gw.bearer("gateway:clients:admin")
    assert (await gw.client.get(EVENTS, headers=admin_only)).status_code == 403
    assert (await gw.client.get(EXPORT)).status_code == 401


async def test_purge_drops_records_past_the_retention(gw: Gateway) -> None:
    audit = gw.app.state.components.audit
    now = time.time()
    for request_id, at in (("old", now - 91 * 86400), ("new", now - 3600)):
        audit.record(
            AuditRecord(at=at, request_id=request_id, method="POST", route="/x", status=201, outcome="allowed")
        )
    await audit.flush()
    assert await audit.purge() == 1  # default retention: 90 days
    auditor = await gw.bearer("gateway:audit:read")
    ids = [item["request_id"] for item in (await gw.client.get(EVENTS, headers=auditor)).json()["items"]]
    assert "new" in ids and "old" not in ids


async def test_the_catalogue_lists_every_api_with_its_scopes(gw: Gateway) -> None:
    reader = await gw.bearer("gateway:catalog:read")
    response = await gw.client.get(CATALOGUE, headers=reader)
    assert response.status_code == 200
    apis = {api["api_id"]: api for api in response.json()["apis"]}
    assert set(apis) >= {"system/crm/v1", "gateway/gateway/v1"}
    crm = apis["system/crm/v1"]
    assert crm["lifecycle"]["state"] == "active" and crm["owner"] == "crm-team" and crm["base_path"] == "/system/crm/v1"
    operations = {operation["operation_id"]: operation for operation in crm["operations"]}
    assert operations["getAccount"]["scopes"] == [["system:crm:read"]]
    assert operations["getAccount"]["path"] == "/system/crm/v1/accounts/{account_id}"
    assert operations["upsertAccountByExternalId"]["idempotency"] == "optional"
    docs = await gw.client.get(crm["links"]["contract"])
    assert docs.status_code == 200 and "openapi: 3.1.0" in docs.text


async def test_failed_logins_are_audited_without_unknown_ids(gw: Gateway) -> None:
    auditor = await gw.bearer("gateway:audit:read")
    known, _ = await gw.create_client("gateway:catalog:read")
    pasted_secret = "x9Qe2mLwT5rV8nB3kJ7hG4fD1sA6zC0p"  # a secret typed where the id goes
    for client_id in (known, pasted_secret):
        response = await gw.client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, "wrong-secret")
        )
        assert response.status_code == 401
    await gw.app.state.components.audit.flush()
    events = await gw.client.get(EVENTS, params={"route": "/oauth/token"}, headers=auditor)
    rows = events.json()["items"]
    assert pasted_secret not in events.text
    assert sorted((row["client_id"] or "-") for row in rows) == sorted([known, "-"])
    assert any(str(row["reason"]).startswith("unknown client id") for row in rows)

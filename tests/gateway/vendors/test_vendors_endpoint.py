"""``GET /gateway/v1/vendors``: who may run the preflight, and that it cannot be used to hammer vendors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.harness import Gateway, running_gateway

VENDORS = "/gateway/v1/vendors"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


async def test_only_a_client_with_the_scope_runs_the_preflight(gw: Gateway) -> None:
    anonymous = await gw.client.get(VENDORS, params={"vendor": "avalara"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    catalogue_reader = await gw.bearer("gateway:catalog:read gateway:audit:read")
    assert (await gw.client.get(VENDORS, params={"vendor": "avalara"}, headers=catalogue_reader)).status_code == 403
    system_admin = await gw.bearer("system:tax:read system:tax:write gateway:clients:admin")
    assert (await gw.client.get(VENDORS, params={"vendor": "avalara"}, headers=system_admin)).status_code == 403
    partner = await gw.bearer("gateway:vendors:read", partner_id="partner-northwind")
    refused = await gw.client.get(VENDORS, params={"vendor": "avalara"}, headers=partner)
    assert refused.status_code == 403
    avalara = gw.app.state.components.sandbox_apps.get("avalara")
    assert avalara is None or avalara.faults.counts()["requests"] == 0  # none of them reached the vendor


async def test_the_report_is_cached_so_callers_cannot_hammer_the_vendor(gw: Gateway) -> None:
    reader = await gw.bearer("gateway:vendors:read")
    first = await gw.client.get(VENDORS, params={"vendor": "avalara"}, headers=reader)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["ok"] is True and [v["vendor"] for v in body["vendors"]] == ["avalara"]
    assert body["vendors"][0]["target"] == "sandbox"
    assert {c["name"] for c in body["vendors"][0]["checks"]} == {"credentials", "api_version", "company"}
    sandbox = gw.app.state.components.sandbox_apps["avalara"]
    calls = sandbox.faults.counts()["requests"]
    for _ in range(5):
        again = await gw.client.get(VENDORS, params={"vendor": "avalara"}, headers=reader)
        assert again.json()["checked_at"] == body["checked_at"] and int(again.headers["age"]) >= 0
    assert sandbox.faults.counts()["requests"] == calls


async def test_no_vendor_with_a_url_and_an_unknown_vendor(gw: Gateway) -> None:
    reader = await gw.bearer("gateway:vendors:read")
    every = await gw.client.get(VENDORS, headers=reader)
    assert every.status_code == 200 and every.json()["vendors"] == [] and every.json()["ok"] is True
    unknown = await gw.client.get(VENDORS, params={"vendor": "oracle'--" + "x" * 5000}, headers=reader)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "x" * 200 not in unknown.text


async def test_failed_checks_do_not_count_against_the_vendors_circuit(gw: Gateway) -> None:
    from sandboxes.faults import FaultRule

    components = gw.app.state.components
    sandbox = components.sandbox_apps["netsuite"]  # the ERP the gateway runs with: its breaker exists
    sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix="/services/rest/query"))
    reader = await gw.bearer("gateway:vendors:read")
    body = (await gw.client.get(VENDORS, params={"vendor": "netsuite"}, headers=reader)).json()
    failed = [c["name"] for c in body["vendors"][0]["checks"] if c["status"] == "failed"]
    assert body["ok"] is False and failed == ["suiteql", "periods"]
    assert components.circuit_breakers["netsuite"].failures == 0

"""The Oracle Fusion preflight against its sandbox: green as seeded; red, with the precise message and
action, for a business unit the pod lacks, for refused credentials, and for a pod without the order hub."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.kit.preflight import Check
from gateway.sandbox_credentials import with_sandbox_credentials
from gateway.vendor_checks import Report, check_vendors
from gateway.vendors import VendorLinks
from tests.support.harness import gateway_settings

VENDOR = "oracle-fusion"


async def _preflight(settings: Any, apps: dict[str, Any]) -> Report:
    links = VendorLinks(settings, sandbox_apps=apps, breaker=CircuitBreaker, tracer=None)
    return await check_vendors(settings, links, [VENDOR])


def _settings(tmp_path: Path, **overrides: Any) -> Any:
    return with_sandbox_credentials(gateway_settings(tmp_path, **overrides))


def _failed(report: Report) -> list[Check]:
    return [check for vendor in report.vendors for check in vendor.checks if check.status == "failed"]


async def test_green_as_seeded_then_a_missing_business_unit_names_the_ones_readable(tmp_path: Path) -> None:
    apps: dict[str, Any] = {}
    green = await _preflight(_settings(tmp_path), apps)
    checks = green.vendors[0].checks
    assert green.ok, green.lines()
    assert [c.name for c in checks] == [
        "credentials", "api_version", "business_unit", "periods", "order_hub", "transaction_source", "receipt_method",
    ]  # fmt: skip
    assert [c.status for c in checks][-2:] == ["unchecked", "unchecked"]
    wrong = _settings(tmp_path, oracle_fusion_business_unit="Nowhere BU")
    [failed] = _failed(await _preflight(wrong, apps))
    assert failed.name == "business_unit"
    assert failed.detail.startswith("business unit 'Nowhere BU' does not exist (readable: Strata Inc. BU, ")
    assert failed.action is not None and "STRATA_ORACLE_FUSION_BUSINESS_UNIT" in failed.action


async def test_a_wrong_password_fails_the_credentials_with_the_roles_to_grant(tmp_path: Path) -> None:
    apps: dict[str, Any] = {}
    await _preflight(_settings(tmp_path), apps)  # builds the sandbox with the state's credentials
    [failed] = _failed(await _preflight(_settings(tmp_path, oracle_fusion_password="not-the-password"), apps))
    assert failed.name == "credentials" and "refused the integration user's credentials" in failed.detail
    assert failed.action is not None and "Accounts Receivable Manager" in failed.action


async def test_a_pod_without_order_management_fails_the_order_hub_check(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    apps: dict[str, Any] = {}
    await _preflight(settings, apps)
    app = apps[VENDOR]
    headers = {"Authorization": f"Bearer {app.admin_token}"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s", headers=headers
    ) as control:
        rule = {
            "kind": "status",
            "status": 404,
            "path_prefix": "/fscmRestApi/resources/11.13.18.05/salesOrdersForOrderHub",
        }
        assert (await control.post("/_control/faults", json=rule)).status_code == 201
    [failed] = _failed(await _preflight(settings, apps))
    assert failed.name == "order_hub" and failed.action is not None
    assert failed.action.endswith("set STRATA_ORACLE_FUSION_ORDER_HUB=skip")
    skipping = await _preflight(_settings(tmp_path, oracle_fusion_order_hub="skip"), apps)
    assert skipping.ok and "order_hub" not in [c.name for c in skipping.vendors[0].checks]

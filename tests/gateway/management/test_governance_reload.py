"""Governance hot reload through ``/gateway/v1/governance`` and from the file (SIGHUP's path)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.harness import Gateway, problem, running_gateway
from tests.support.procs import PROJECT_ROOT

GOVERNANCE = "/gateway/v1/governance"
CATALOGUE = "/gateway/v1/catalogue"
BUNDLED = PROJECT_ROOT / "contracts" / "governance.yaml"


def bundled_document() -> dict[str, Any]:
    return dict(yaml.safe_load(BUNDLED.read_text()))


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


async def _bronze_policy(gw: Gateway, token: dict[str, str]) -> str:
    response = await gw.client.get(CATALOGUE, headers=token)
    assert response.status_code == 200, response.text
    return response.headers["ratelimit-policy"]


async def test_a_new_document_applies_at_once_and_is_kept_in_the_state_dir(gw: Gateway, tmp_path: Path) -> None:
    bundled_before = BUNDLED.read_bytes()
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    bronze = await gw.bearer("gateway:catalog:read", tier="bronze")
    assert '"5-per-second"' in await _bronze_policy(gw, bronze)

    document = bundled_document()
    document["tiers"]["bronze"]["limits"] = ["3/second", "100/day"]
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["persisted"] is True and response.json()["dry_run"] is False

    assert await _bronze_policy(gw, bronze) == '"3-per-second";q=3;w=1, "100-per-day";q=100;w=86400'
    shown = (await gw.client.get(GOVERNANCE, headers=admin)).json()
    assert shown["digest"] == response.json()["digest"] and shown["source"] == "api"
    assert shown["document"]["tiers"]["bronze"]["limits"] == ["3/second", "100/day"]
    written = yaml.safe_load((tmp_path / "state" / "governance.yaml").read_text())
    assert written["tiers"]["bronze"]["limits"] == ["3/second", "100/day"]
    assert BUNDLED.read_bytes() == bundled_before  # the source tree's file is never rewritten


async def test_an_invalid_document_lists_every_problem_and_changes_nothing(gw: Gateway, tmp_path: Path) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    bronze = await gw.bearer("gateway:catalog:read", tier="bronze")
    before = (await gw.client.get(GOVERNANCE, headers=admin)).json()["digest"]
    document = bundled_document()
    document["tiers"]["bronze"]["limits"] = ["lots"]
    document["rate_limit"] = {"default_tier": "platinum"}
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 422
    errors = problem(response)["errors"]
    assert {error["pointer"] for error in errors} == {"/tiers/bronze/limits", "/rate_limit/default_tier"}
    assert "running one stays" in problem(response)["detail"]
    assert (await gw.client.get(GOVERNANCE, headers=admin)).json()["digest"] == before
    assert '"5-per-second"' in await _bronze_policy(gw, bronze)
    assert not (tmp_path / "state" / "governance.yaml").exists()


async def test_wrong_types_are_named_too(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    document = bundled_document()
    document["tiers"]["bronze"]["limits"] = "5/second"  # a string, not a list
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 422
    assert problem(response)["errors"][0]["pointer"] == "/tiers/bronze/limits"
    unknown = await gw.client.put(GOVERNANCE, json={**bundled_document(), "tires": {}}, headers=admin)
    assert unknown.status_code == 422  # the contract refuses an unknown section


async def test_text_that_is_not_utf8_is_a_400_not_a_500(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    # A surrogate code point as raw bytes (ED A0 80) in an object key: not UTF-8.
    body = b'{"tiers": {"\xed\xa0\x80": {"limits": "x"}}}'
    response = await gw.client.put(GOVERNANCE, content=body, headers={**admin, "content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert "UTF-8" in problem(response)["detail"]


async def test_dry_run_only_checks(gw: Gateway) -> None:
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    bronze = await gw.bearer("gateway:catalog:read", tier="bronze")
    document = copy.deepcopy(bundled_document())
    document["tiers"]["bronze"]["limits"] = ["1/second"]
    response = await gw.client.put(GOVERNANCE, params={"dry_run": "true"}, json=document, headers=admin)
    assert response.status_code == 200 and response.json()["dry_run"] is True
    assert '"5-per-second"' in await _bronze_policy(gw, bronze)


async def test_only_governance_admins_may_read_or_replace_it(gw: Gateway) -> None:
    clients_admin = await gw.bearer("gateway:clients:admin")
    assert (await gw.client.get(GOVERNANCE, headers=clients_admin)).status_code == 403
    assert (await gw.client.put(GOVERNANCE, json=bundled_document(), headers=clients_admin)).status_code == 403
    assert (await gw.client.put(GOVERNANCE, json=bundled_document())).status_code == 401


async def test_the_file_is_read_again_and_an_invalid_one_is_refused(tmp_path: Path) -> None:
    governance_file = tmp_path / "governance.yaml"
    governance_file.write_text(BUNDLED.read_text())
    async with running_gateway(tmp_path / "state", governance_file=str(governance_file)) as gw:
        bronze = await gw.bearer("gateway:catalog:read", tier="bronze")
        reloader = gw.app.state.governance_reloader
        governance_file.write_text(BUNDLED.read_text().replace('["5/second", "2000/day"]', '["4/second"]'))
        assert await reloader.reload_file() is not None
        assert await _bronze_policy(gw, bronze) == '"4-per-second";q=4;w=1'

        governance_file.write_text("tiers: [not, a, mapping]\n")
        assert await reloader.reload_file() is None
        assert await _bronze_policy(gw, bronze) == '"4-per-second";q=4;w=1'  # the running one stays
        await gw.app.state.components.audit.flush()
        admin = await gw.bearer("gateway:audit:read")
        events = await gw.client.get("/gateway/v1/audit/events", params={"route": "governance file"}, headers=admin)
        assert [event["outcome"] for event in events.json()["items"]] == ["denied", "allowed"]


async def test_a_new_cors_allowlist_reaches_the_edge_at_once(gw: Gateway) -> None:
    """The edge answers preflights before any route: it takes the reloaded allowlist too."""
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    origin = "https://portal.example.com"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    refused = await gw.client.options("/system/crm/v1/accounts", headers=preflight)
    assert refused.status_code == 403

    document = bundled_document()
    document["cors"] = {"system/crm/v1": {"origins": [origin]}}
    response = await gw.client.put(GOVERNANCE, json=document, headers=admin)
    assert response.status_code == 200, response.text
    allowed = await gw.client.options("/system/crm/v1/accounts", headers=preflight)
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == origin

    document["cors"] = {}
    assert (await gw.client.put(GOVERNANCE, json=document, headers=admin)).status_code == 200
    assert (await gw.client.options("/system/crm/v1/accounts", headers=preflight)).status_code == 403

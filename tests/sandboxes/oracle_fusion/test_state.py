"""The Oracle Fusion sandbox keeps its pod in the state directory, seeded consistently with the other
sandboxes (the Salesforce org's accounts as synced customers, its products as items)."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandboxes.netsuite.seed import salesforce_org
from sandboxes.oracle_fusion import create_oracle_fusion_sandbox
from tests.support.oracle_fusion import BASE, CRM, FSCM
from tests.support.sandbox_access import INTEGRATION_PASSWORD, INTEGRATION_USER

AUTH = (INTEGRATION_USER, INTEGRATION_PASSWORD)


def _client(state: Path) -> httpx.AsyncClient:
    sandbox = create_oracle_fusion_sandbox(state_dir=state, user=INTEGRATION_USER, password=INTEGRATION_PASSWORD)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE, auth=AUTH)


async def test_a_restarted_sandbox_keeps_what_was_written(tmp_path: Path) -> None:
    body = {"PartyNumber": "STATE-1", "OrganizationName": "State Keeper Ltd", "CurrencyCode": "GBP"}
    async with _client(tmp_path) as first:
        assert (await first.post(f"{CRM}/accounts", json=body)).status_code == 201
    assert (tmp_path / "oracle_fusion.json").exists()
    async with _client(tmp_path) as second:
        found = (await second.get(f"{CRM}/accounts", params={"q": "PartyNumber='STATE-1'"})).json()["items"]
        assert [a["OrganizationName"] for a in found] == ["State Keeper Ltd"]


async def test_the_seed_holds_the_crm_accounts_as_synced_customers_and_the_products_as_items(tmp_path: Path) -> None:
    org = salesforce_org(7)
    async with _client(tmp_path) as client:
        accounts = (await client.get(f"{CRM}/accounts", params={"limit": 500, "onlyData": "true"})).json()["items"]
        items = (await client.get(f"{FSCM}/itemsV2", params={"onlyData": "true"})).json()["items"]
        entities = (await client.get(f"{FSCM}/legalEntitiesLOV", params={"onlyData": "true"})).json()["items"]
    synced = {
        (a["SourceSystemReferenceValue"], a["OrganizationName"]) for a in accounts if a["SourceSystem"] == "STRATA"
    }
    assert synced == {(a["Id"], a["Name"]) for a in org.all("Account")}
    assert {i["ItemNumber"] for i in items} == {p["ProductCode"] for p in org.all("Product2")}
    assert [e["Name"] for e in entities] == ["Strata Inc.", "Strata GmbH", "Strata Ltd"]

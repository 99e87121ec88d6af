"""The Salesforce sandbox speaks Salesforce's dialect: tokens, records, errors, paging, faults."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from sandboxes.faults import FaultRule
from sandboxes.salesforce import SalesforceSandbox, create_salesforce_sandbox
from sandboxes.salesforce.schema import SOBJECTS, id_suffix
from tests.support.sandbox_access import CLIENT_ID, CLIENT_SECRET, operator_hooks

BASE = "http://salesforce.sandbox"
DATA = "/services/data/v62.0"


@pytest.fixture
def sandbox() -> SalesforceSandbox:
    return create_salesforce_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@pytest.fixture
async def client(sandbox: SalesforceSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=operator_hooks(sandbox)
    ) as plain:
        token = await plain.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "sandbox-secret"},
        )
        plain.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield plain


async def test_token_flow_answers_salesforce_fields(sandbox: SalesforceSandbox) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=operator_hooks(sandbox)
    ) as plain:
        ok = await plain.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "sandbox-secret"},
        )
        bad_secret = await plain.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "nope"},
        )
        bad_grant = await plain.post("/services/oauth2/token", data={"grant_type": "password"})
        basic = await plain.post(
            "/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("strata-sandbox", "sandbox-secret"),
        )
    assert ok.status_code == 200
    assert {"access_token", "instance_url", "id", "token_type", "issued_at", "signature"} <= ok.json().keys()
    assert ok.json()["instance_url"] == BASE and ok.json()["token_type"] == "Bearer"
    assert bad_secret.status_code == 400 and bad_secret.json() == {
        "error": "invalid_client",
        "error_description": "invalid client credentials",
    }
    assert bad_grant.json()["error"] == "unsupported_grant_type"
    assert basic.status_code == 200
    assert "sforce-limit-info" in ok.headers


async def test_data_calls_need_a_valid_bearer(sandbox: SalesforceSandbox, client: httpx.AsyncClient) -> None:
    anonymous = await client.get(f"{DATA}/sobjects/Account/001Qy0000000008IAA", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    sandbox.expire_tokens()
    assert (await client.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account"})).status_code == 401
    versions = await client.get("/services/data/")
    assert (
        versions.status_code == 200
        and {"label": "v62.0", "url": "/services/data/v62.0", "version": "62.0"} in versions.json()
    )


async def test_seed_is_deterministic_and_rich(sandbox: SalesforceSandbox) -> None:
    again = create_salesforce_sandbox(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert sandbox.store.records == again.store.records
    accounts = sandbox.store.all("Account")
    opportunities = sandbox.store.all("Opportunity")
    assert len(accounts) >= 50 and len(opportunities) >= 120
    assert sum(1 for a in accounts if a["ParentId"]) >= 20
    assert all(a["BillingCity"] and a["Website"] and a["Tax_Id__c"] and a["CurrencyIsoCode"] for a in accounts)
    assert {o["StageName"] for o in opportunities} >= {"Prospecting", "Closed Won", "Closed Lost"}
    assert {line["ProductCode"] for line in sandbox.store.all("OpportunityLineItem")} >= {"STRATA-CORE"}
    assert all(record_id[15:] == id_suffix(record_id[:15]) for record_id in sandbox.store.records["Account"])


async def test_record_crud_with_attributes_and_error_arrays(client: httpx.AsyncClient) -> None:
    created = await client.post(f"{DATA}/sobjects/Account/", json={"Name": "Acme", "Website": "https://acme.io"})
    assert created.status_code == 201
    assert created.json() == {"id": created.json()["id"], "success": True, "errors": []}
    record_id = created.json()["id"]
    got = await client.get(f"{DATA}/sobjects/Account/{record_id}", params={"fields": "Name,Website"})
    assert got.json() == {
        "attributes": {"type": "Account", "url": f"{DATA}/sobjects/Account/{record_id}"},
        "Name": "Acme",
        "Website": "https://acme.io",
    }
    assert (await client.patch(f"{DATA}/sobjects/Account/{record_id}", json={"Name": "Acme 2"})).status_code == 204
    assert (await client.get(f"{DATA}/sobjects/Account/{record_id}")).json()["Name"] == "Acme 2"
    assert (await client.delete(f"{DATA}/sobjects/Account/{record_id}")).status_code == 204
    missing = await client.get(f"{DATA}/sobjects/Account/{record_id}")
    assert missing.status_code == 404 and missing.json()[0]["errorCode"] == "NOT_FOUND"

    no_name = await client.post(f"{DATA}/sobjects/Account", json={"Website": "x"})
    assert no_name.status_code == 400
    assert no_name.json() == [
        {"message": "Required fields are missing: [Name]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["Name"]}
    ]
    bad_field = await client.post(f"{DATA}/sobjects/Account", json={"Name": "x", "Bogus__c": 1})
    assert bad_field.status_code == 400 and bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
    bad_query = await client.get(f"{DATA}/query", params={"q": "SELECT Id FROM"})
    assert bad_query.status_code == 400 and bad_query.json()[0]["errorCode"] == "MALFORMED_QUERY"
    bad_column = await client.get(f"{DATA}/query", params={"q": "SELECT Nope FROM Account"})
    assert bad_column.json()[0]["errorCode"] == "INVALID_FIELD"


async def test_upsert_by_external_id_201_204_300(sandbox: SalesforceSandbox, client: httpx.AsyncClient) -> None:
    url = f"{DATA}/sobjects/Account/Strata_Id__c/cus_01JUPSERT"
    first = await client.patch(url, json={"Name": "Upserted"})
    assert first.status_code == 201 and first.json()["success"] is True
    second = await client.patch(url, json={"Name": "Upserted again"})
    assert second.status_code == 204 and second.content == b""
    assert (await client.get(url)).json()["Name"] == "Upserted again"
    # Two records with the same value (possible when the field is not unique): 300.
    sandbox.store.create(SOBJECTS["Account"], {"Name": "Twin", "Strata_Id__c": "cus_01JUPSERT"})
    several = await client.patch(url, json={"Name": "Which?"})
    assert several.status_code == 300 and len(several.json()) == 2


async def test_query_pages_of_2000_with_root_relative_next_url(
    sandbox: SalesforceSandbox, client: httpx.AsyncClient
) -> None:
    with sandbox.store.batch():
        for number in range(2300):
            sandbox.store.create(SOBJECTS["Contact"], {"LastName": f"Bulk {number:04d}"})
    first = (
        await client.get(f"{DATA}/query", params={"q": "SELECT Id, LastName FROM Contact WHERE LastName LIKE 'bulk%'"})
    ).json()
    assert first["totalSize"] == 2300 and first["done"] is False and len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith(f"{DATA}/query/01g") and first["nextRecordsUrl"].endswith("-2000")
    rest = (await client.get(first["nextRecordsUrl"])).json()
    assert rest["done"] is True and len(rest["records"]) == 300 and "nextRecordsUrl" not in rest
    small = await client.get(
        f"{DATA}/query",
        params={"q": "SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%' ORDER BY LastName DESC"},
        headers={"Sforce-Query-Options": "batchSize=500"},
    )
    assert len(small.json()["records"]) == 500 and small.json()["nextRecordsUrl"].endswith("-500")


async def test_soql_filters_ordering_and_subqueries(client: httpx.AsyncClient) -> None:
    soql = (
        "SELECT Id, Name, Amount, CloseDate, (SELECT ProductCode, TotalPrice FROM OpportunityLineItems) "
        "FROM Opportunity WHERE (StageName = 'Closed Won' OR StageName IN ('Closed Lost')) "
        "AND CloseDate >= 2024-01-01 AND LastModifiedDate < 2030-01-01T00:00:00Z "
        "ORDER BY Amount DESC NULLS LAST LIMIT 5"
    )
    result = (await client.get(f"{DATA}/query", params={"q": soql})).json()
    records = result["records"]
    assert 0 < len(records) <= 5
    amounts = [r["Amount"] for r in records]
    assert amounts == sorted(amounts, reverse=True)
    assert all(r["OpportunityLineItems"]["records"][0]["ProductCode"].startswith("STRATA-") for r in records)
    quoted_date = await client.get(
        f"{DATA}/query", params={"q": "SELECT Id FROM Opportunity WHERE CloseDate > '2024-01-01'"}
    )
    assert quoted_date.status_code == 400
    count = (await client.get(f"{DATA}/query", params={"q": "SELECT COUNT() FROM Account"})).json()
    assert count["totalSize"] >= 50 and count["records"] == []


async def test_composite_references_and_all_or_none(sandbox: SalesforceSandbox, client: httpx.AsyncClient) -> None:
    body = {
        "allOrNone": True,
        "compositeRequest": [
            {"method": "POST", "url": f"{DATA}/sobjects/Account", "referenceId": "acc", "body": {"Name": "Parent Co"}},
            {
                "method": "POST",
                "url": f"{DATA}/sobjects/Contact",
                "referenceId": "c",
                "body": {"LastName": "X", "AccountId": "@{acc.id}"},
            },
            {"method": "GET", "url": f"{DATA}/sobjects/Contact/@{{c.id}}?fields=AccountId", "referenceId": "read"},
        ],
    }
    results = (await client.post(f"{DATA}/composite", json=body)).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200]
    assert results[2]["body"]["AccountId"] == results[0]["body"]["id"]

    accounts_before = len(sandbox.store.records["Account"])
    body["compositeRequest"][1]["body"] = {"AccountId": "@{acc.id}"}  # LastName missing
    failed = (await client.post(f"{DATA}/composite", json=body)).json()["compositeResponse"]
    assert [r["httpStatusCode"] for r in failed] == [400, 400, 400]
    assert failed[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert failed[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert len(sandbox.store.records["Account"]) == accounts_before


async def test_limit_info_on_every_response_and_request_limit(client: httpx.AsyncClient) -> None:
    sandbox = create_salesforce_sandbox(api_limit=2, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox), base_url=BASE, event_hooks=operator_hooks(sandbox)
    ) as plain:
        token = await plain.post(
            "/services/oauth2/token",
            auth=("strata-sandbox", "sandbox-secret"),
            data={"grant_type": "client_credentials"},
        )
        plain.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        statuses = [
            (await plain.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account LIMIT 1"})) for _ in range(3)
        ]
    assert [s.status_code for s in statuses] == [200, 200, 403]
    assert statuses[1].headers["sforce-limit-info"] == "api-usage=2/2"
    assert statuses[2].json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


async def test_faults_from_python_and_control_api(sandbox: SalesforceSandbox, client: httpx.AsyncClient) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, retry_after=2, count=1, path_prefix=f"{DATA}/query"))
    failed = await client.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account LIMIT 1"})
    assert failed.status_code == 503 and failed.headers["retry-after"] == "2"
    assert failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE" and "sforce-limit-info" in failed.headers
    assert (await client.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account LIMIT 1"})).status_code == 200

    added = await client.post("/_control/faults", json=[{"kind": "status", "status": 403, "method": "GET"}])
    assert added.status_code == 201
    limited = await client.get(f"{DATA}/sobjects/Account/001Qy0000000008IAA")
    assert limited.status_code == 403 and limited.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert (await client.delete("/_control/faults")).status_code == 204
    assert (await client.post("/_control/faults", json={"kind": "explode"})).status_code == 400

    await client.post("/_control/faults", json={"kind": "latency", "latency_seconds": 0.05, "count": 1})
    started = time.perf_counter()
    assert (await client.get(f"{DATA}/query", params={"q": "SELECT Id FROM Account LIMIT 1"})).status_code == 200
    assert time.perf_counter() - started >= 0.05
    counts = (await client.get("/_control/counts")).json()
    assert counts["faults_injected"] == {"status": 2, "latency": 1} and counts["requests"] >= 5

    assert (await client.post("/_control/reset")).status_code == 204
    assert (await client.get("/_control/counts")).json()["requests"] == 0


async def test_state_persists_across_restarts(tmp_path: Path) -> None:
    first = create_salesforce_sandbox(tmp_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    record_id = first.store.create(SOBJECTS["Account"], {"Name": "Survivor"})
    again = create_salesforce_sandbox(tmp_path, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert again.store.records["Account"][record_id]["Name"] == "Survivor"
    assert again.store.create(SOBJECTS["Account"], {"Name": "Next"}) != record_id


async def test_instance_url_includes_the_mount_prefix(sandbox: SalesforceSandbox) -> None:
    from typing import Any

    from litestar import Litestar
    from litestar.handlers import asgi

    @asgi("/sandbox/salesforce", is_mount=True, copy_scope=True)
    async def mounted(scope: Any, receive: Any, send: Any) -> None:
        await sandbox(scope, receive, send)

    host = Litestar(route_handlers=[mounted])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=host), base_url=BASE) as plain:
        token = await plain.post(
            "/sandbox/salesforce/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": "strata-sandbox", "client_secret": "sandbox-secret"},
        )
        instance_url = token.json()["instance_url"]
        assert instance_url == f"{BASE}/sandbox/salesforce"
        page = await plain.get(
            f"{instance_url}{DATA}/query",
            params={"q": "SELECT Id FROM Account LIMIT 1"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
    assert page.status_code == 200 and page.json()["totalSize"] == 1


async def test_like_escapes_wildcards(sandbox: SalesforceSandbox, client: httpx.AsyncClient) -> None:
    sandbox.store.create(SOBJECTS["Account"], {"Name": "50% Off Ltd"})
    sandbox.store.create(SOBJECTS["Account"], {"Name": "500 Startups"})
    escaped = await client.get(f"{DATA}/query", params={"q": "SELECT Name FROM Account WHERE Name LIKE '50\\%%'"})
    assert [r["Name"] for r in escaped.json()["records"]] == ["50% Off Ltd"]
    wild = await client.get(f"{DATA}/query", params={"q": "SELECT Name FROM Account WHERE Name LIKE '50%'"})
    assert {r["Name"] for r in wild.json()["records"]} >= {"50% Off Ltd", "500 Startups"}

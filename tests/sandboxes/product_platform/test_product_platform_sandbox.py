"""The product platform sandbox speaks its documented dialect, seeded consistently with the CRM and ERP."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandboxes.faults import FaultRule
from sandboxes.netsuite.seed import salesforce_org
from sandboxes.product_platform import ProductPlatformSandbox, create_product_platform_sandbox
from sandboxes.product_platform.catalog import PRICE_DRIFT
from sandboxes.salesforce.seed import PRODUCTS
from tests.support.product_platform import API_KEY
from tests.support.sandbox_access import operator_hooks

KEY = {"X-Api-Key": API_KEY}


async def test_every_call_needs_the_api_key_and_errors_have_the_platform_shape(http: httpx.AsyncClient) -> None:
    missing = await http.get("/v1/products")
    wrong = await http.get("/v1/products", headers={"X-Api-Key": "nope"})
    for response in (missing, wrong):
        assert response.status_code == 401 and response.headers["www-authenticate"] == "ApiKey"
        error = response.json()["error"]
        assert error["code"] == "unauthenticated" and error["requestId"] == response.headers["x-request-id"]
    unknown = await http.get("/v1/entitlements/ent_999999", headers=KEY)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_catalog_codes_match_crm_and_erp_except_the_documented_price_drift(http: httpx.AsyncClient) -> None:
    skus = (await http.get("/v1/skus", headers=KEY, params={"pageSize": 100})).json()["data"]
    by_code = {sku["code"]: sku for sku in skus}
    for code, _name, _family, price in PRODUCTS:
        expected = PRICE_DRIFT.get(code, price)
        assert by_code[code]["price"] == {"currency": "USD", "unitAmountMinor": int(float(expected) * 100)}
    assert by_code["STRATA-PREMIUM-SUPPORT"]["price"]["unitAmountMinor"] != 500000  # the drift is real
    bundles = (await http.get("/v1/bundles", headers=KEY)).json()["data"]
    assert {item["skuCode"] for bundle in bundles for item in bundle["items"]} <= set(by_code)


async def test_accounts_are_the_crm_companies_and_won_lines_are_entitlements(sandbox: ProductPlatformSandbox) -> None:
    org = salesforce_org(7)
    crm = {account["Id"]: account["Name"] for account in org.all("Account")}
    mine = {account["externalRef"]: account["name"] for account in sandbox.store.accounts.values()}
    assert mine == crm
    won_lines = [
        line
        for line in org.all("OpportunityLineItem")
        if org.records["Opportunity"][line["OpportunityId"]]["StageName"] == "Closed Won"
    ]
    assert len(sandbox.store.entitlements) == len(won_lines) > 0


async def test_pages_follow_their_token_and_a_forged_token_is_refused(http: httpx.AsyncClient) -> None:
    first = (await http.get("/v1/accounts", headers=KEY, params={"pageSize": 50})).json()
    second = (await http.get("/v1/accounts", headers=KEY, params={"pageToken": first["nextPageToken"]})).json()
    assert len(first["data"]) == 50 and len(second["data"]) == 6 and "nextPageToken" not in second
    assert first["data"][-1]["id"] < second["data"][0]["id"]
    forged = await http.get("/v1/accounts", headers=KEY, params={"pageToken": "garbage"})
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "invalid_page_token"
    too_big = await http.get("/v1/accounts", headers=KEY, params={"pageSize": 101})
    assert too_big.json()["error"]["details"] == [{"field": "pageSize", "issue": "must be an integer from 1 to 100"}]


async def test_idempotency_key_replays_refuses_reuse_and_5xx_is_not_stored(
    sandbox: ProductPlatformSandbox, http: httpx.AsyncClient
) -> None:
    path = "/v1/accounts/acc_000001/entitlements"
    headers = {**KEY, "Idempotency-Key": "grant-1"}
    first = await http.post(path, headers=headers, json={"skuCode": "STRATA-CORE", "quantity": 2})
    again = await http.post(path, headers=headers, json={"skuCode": "STRATA-CORE", "quantity": 2})
    assert first.status_code == again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true" and "idempotent-replayed" not in first.headers
    reused = await http.post(path, headers=headers, json={"skuCode": "STRATA-CORE", "quantity": 3})
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"
    assert sandbox.store.counts()["writes_applied"]["entitlement_grant"] == 1

    sandbox.faults.add(FaultRule(kind="lost_response", status=503, count=1))
    lost = await http.post(path, headers={**KEY, "Idempotency-Key": "grant-2"}, json={"skuCode": "STRATA-CORE"})
    assert lost.status_code == 503 and lost.json()["error"]["code"] == "unavailable"
    retried = await http.post(path, headers={**KEY, "Idempotency-Key": "grant-2"}, json={"skuCode": "STRATA-CORE"})
    assert retried.status_code == 201 and retried.headers["idempotent-replayed"] == "true"
    assert sandbox.store.counts()["writes_applied"]["entitlement_grant"] == 2


async def test_change_and_revoke_are_safe_to_repeat(sandbox: ProductPlatformSandbox, http: httpx.AsyncClient) -> None:
    granted = (
        await http.post("/v1/accounts/acc_000002/entitlements", headers=KEY, json={"skuCode": "STRATA-CORE"})
    ).json()
    path = f"/v1/entitlements/{granted['id']}"
    changed = await http.patch(path, headers=KEY, json={"quantity": 4})
    repeated = await http.patch(path, headers=KEY, json={"quantity": 4})
    assert changed.json()["version"] == repeated.json()["version"] == 2
    bad = await http.patch(path, headers=KEY, json={"status": "active"})
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "status"
    revoked = await http.post(f"{path}/revoke", headers=KEY, json={"reason": "churned"})
    twice = await http.post(f"{path}/revoke", headers=KEY, json={})
    assert revoked.json()["status"] == "revoked" and twice.json() == revoked.json()
    late = await http.patch(path, headers=KEY, json={"quantity": 5})
    assert late.status_code == 409 and late.json()["error"]["code"] == "entitlement_revoked"
    assert sandbox.store.counts()["writes_applied"] == {
        "entitlement_grant": 1,
        "entitlement_change": 1,
        "entitlement_revoke": 1,
        "usage_event": 0,
    }


async def test_usage_events_are_deduplicated_by_id_and_rejected_one_by_one(http: httpx.AsyncClient) -> None:
    def event(event_id: str, **changes: object) -> dict[str, object]:
        base = {"id": event_id, "accountId": "acc_000001", "skuCode": "STRATA-USAGE-1M", "quantity": 1.5}
        return {**base, "timestamp": "2026-03-01T10:00:00+01:00", **changes}

    batch = [event("u1"), event("u1"), event("u2", skuCode="STRATA-CORE"), event("u3", accountId="acc_x")]
    answer = await http.post("/v1/usage-events/batch", headers=KEY, json={"events": batch})
    assert [(r["id"], r["status"]) for r in answer.json()["results"]] == [
        ("u1", "accepted"),
        ("u1", "duplicate"),
        ("u2", "rejected"),
        ("u3", "rejected"),
    ]
    again = await http.post("/v1/usage-events/batch", headers=KEY, json={"events": [event("u1"), event("u4")]})
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "accepted"]
    no_id = await http.post("/v1/usage-events/batch", headers=KEY, json={"events": [{"quantity": 1}]})
    assert no_id.status_code == 400 and no_id.json()["error"]["details"][0]["field"] == "events[0].id"
    counts = (await http.get("/_control/counts")).json()
    assert counts["usage_events"] == 2 and counts["writes_applied"]["usage_event"] == 2


async def test_injected_429_carries_retry_after_in_the_platform_format(
    sandbox: ProductPlatformSandbox, http: httpx.AsyncClient
) -> None:
    answer = await http.post("/_control/faults", json={"kind": "status", "status": 429, "retry_after": 2, "count": 1})
    assert answer.status_code == 201
    throttled = await http.get("/v1/products", headers=KEY)
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "2"
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert (await http.get("/v1/products", headers=KEY)).status_code == 200
    assert (await http.post("/_control/reset")).status_code == 204
    assert sandbox.faults.counts()["requests"] == 0


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = create_product_platform_sandbox(tmp_path, api_key=API_KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://pp") as http:
        granted = await http.post("/v1/accounts/acc_000003/entitlements", headers=KEY, json={"skuCode": "STRATA-CORE"})
    second = create_product_platform_sandbox(tmp_path, api_key=API_KEY)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second), base_url="http://pp", event_hooks=operator_hooks(second)
    ) as http:
        found = await http.get(f"/v1/entitlements/{granted.json()['id']}", headers=KEY)
    assert found.status_code == 200 and found.json() == granted.json()
    assert (tmp_path / "product_platform.json").exists()

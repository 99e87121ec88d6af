"""The product system API through the whole gateway: governance, connector and sandbox together."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from apis.system.kit.circuit_breaker import CircuitBreaker
from apis.system.product.connectors.product_platform import ProductPlatformConfig
from core.settings import PROJECT_ROOT
from sandboxes.faults import FaultRule
from sandboxes.product_platform import ProductPlatformSandbox
from tests.support.harness import Gateway, problem, running_gateway
from tests.support.product_platform import FAST

PRODUCT = "/system/product/v1"
READ = "system:product:read"
WRITE = "system:product:read system:product:write"


def _sandbox(gw: Gateway) -> ProductPlatformSandbox:
    sandbox: ProductPlatformSandbox = gw.app.state.components.sandbox_apps["product-platform"]
    return sandbox


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    # The burst sends a few hundred requests a second from one address: lift the pre-auth limit.
    governance = yaml.safe_load((PROJECT_ROOT / "contracts" / "governance.yaml").read_text())
    governance["pre_auth_limit"]["limits"] = ["5000/second"]
    path = tmp_path / "governance.yaml"
    path.write_text(yaml.safe_dump(governance))
    async with running_gateway(tmp_path / "state", governance_file=str(path)) as gateway:
        gateway.app.state.product.connector.config = FAST
        yield gateway


async def test_reads_page_and_follow_their_link(gw: Gateway) -> None:
    headers = await gw.bearer(READ)
    first = await gw.client.get(f"{PRODUCT}/customers", params={"limit": 40}, headers=headers)
    assert first.status_code == 200, first.text
    assert len(first.json()["items"]) == 40 and first.headers["link"].endswith('rel="next"')
    following = await gw.client.get(first.headers["link"].split(">")[0].lstrip("<"), headers=headers)
    assert len(following.json()["items"]) == 16 and following.json()["next_cursor"] is None
    sku = await gw.client.get(f"{PRODUCT}/skus/sku_strata_premium_support", headers=headers)
    assert sku.json()["unit_price"] == {"amount": "5500.00", "currency": "USD"}
    entitlements = await gw.client.get(f"{PRODUCT}/customers/acc_000001/entitlements", headers=headers)
    assert entitlements.status_code == 200
    # The same sandbox is mounted for direct inspection, in its own dialect and outside the pipeline.
    key = {"X-Api-Key": gw.app.state.settings.product_platform.api_key}  # the state's random sandbox key
    direct = await gw.client.get("/sandbox/product-platform/v1/accounts/acc_000001/entitlements", headers=key)
    assert [e["id"] for e in direct.json()["data"]] == [e["id"] for e in entitlements.json()["items"]]
    counts = await gw.client.get("/sandbox/product-platform/_control/counts")
    assert counts.json()["accounts"] == 56


async def test_refusals_401_403_422_404_409(gw: Gateway) -> None:
    anonymous = await gw.client.get(f"{PRODUCT}/products")
    assert anonymous.status_code == 401 and problem(anonymous)
    reader = await gw.bearer(READ)
    grant = await gw.client.post(
        f"{PRODUCT}/customers/acc_000001/entitlements", json={"sku_code": "STRATA-CORE"}, headers=reader
    )
    assert grant.status_code == 403 and 'scope="system:product:write"' in grant.headers["www-authenticate"]
    other = await gw.bearer("system:crm:read")
    assert (await gw.client.get(f"{PRODUCT}/products", headers=other)).status_code == 403

    writer = await gw.bearer(WRITE)
    path = f"{PRODUCT}/customers/acc_000001/entitlements"
    zero = await gw.client.post(path, json={"sku_code": "STRATA-CORE", "quantity": 0}, headers=writer)
    assert zero.status_code == 422 and problem(zero)["errors"][0]["pointer"] == "/quantity"
    unknown = await gw.client.post(path, json={"sku_code": "STRATA-NOPE"}, headers=writer)
    assert unknown.status_code == 422 and problem(unknown)["errors"][0]["pointer"] == "/sku_code"
    batch = {"events": [{"id": "e1", "customer_id": "acc_000001", "sku_code": "STRATA-USAGE-1M", "quantity": "-1"}]}
    bad = await gw.client.post(f"{PRODUCT}/usage-events/batches", json=batch, headers=writer)
    pointers = {e["pointer"] for e in problem(bad)["errors"]}
    assert bad.status_code == 422 and {"/events/0/quantity", "/events/0"} & pointers
    cursor = await gw.client.get(f"{PRODUCT}/products", params={"cursor": "forged"}, headers=writer)
    assert cursor.status_code == 422 and problem(cursor)["errors"][0]["name"] == "cursor"

    assert (await gw.client.get(f"{PRODUCT}/entitlements/ent_999999", headers=writer)).status_code == 404
    missing = await gw.client.post(
        f"{PRODUCT}/customers/acc_999999/entitlements", json={"sku_code": "STRATA-CORE"}, headers=writer
    )
    assert missing.status_code == 404 and problem(missing)
    granted = await gw.client.post(
        f"{PRODUCT}/customers/acc_000002/entitlements", json={"sku_code": "STRATA-CORE"}, headers=writer
    )
    assert granted.status_code == 201 and granted.headers["location"].endswith(granted.json()["id"])
    entitlement = f"{PRODUCT}/entitlements/{granted.json()['id']}"
    revoked = await gw.client.post(f"{entitlement}/revoke", json={"reason": "churn"}, headers=writer)
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    late = await gw.client.patch(entitlement, json={"quantity": 3}, headers=writer)
    assert late.status_code == 409 and problem(late)


async def test_vendor_down_is_503_slow_is_504_and_an_open_breaker_spares_the_platform(gw: Gateway) -> None:
    reader = await gw.bearer(READ)
    sandbox = _sandbox(gw)
    sandbox.faults.add(FaultRule(kind="status", status=503))
    down = await gw.client.get(f"{PRODUCT}/products", headers=reader)
    assert down.status_code == 503 and int(down.headers["retry-after"]) >= 1 and problem(down)
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=30))
    throttled = await gw.client.get(f"{PRODUCT}/products", headers=reader)
    assert throttled.status_code == 503 and throttled.headers["retry-after"] == "30"
    sandbox.faults.clear()
    gw.app.state.product.connector.config = ProductPlatformConfig(timeout_seconds=0.2, max_retries=0)
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.5))
    slow = await gw.client.get(f"{PRODUCT}/products/prod_strata_core", headers=reader)
    assert slow.status_code == 504 and problem(slow)
    sandbox.faults.clear()

    breaker: CircuitBreaker = gw.app.state.product.connector.breaker
    sandbox.faults.add(FaultRule(kind="status", status=500))
    for _ in range(10):
        if breaker.state == "open":
            break
        await gw.client.get(f"{PRODUCT}/bundles", headers=reader)
    assert breaker.state == "open"
    before = sandbox.faults.counts()["requests"]
    refused = await gw.client.get(f"{PRODUCT}/bundles", headers=reader)
    assert refused.status_code == 503 and "retry-after" in refused.headers
    assert sandbox.faults.counts()["requests"] == before


async def test_burst_of_grants_and_usage_under_faults_is_applied_exactly_once(gw: Gateway) -> None:
    writer = await gw.bearer(WRITE, tier="internal")
    sandbox = _sandbox(gw)
    before = sandbox.store.counts()
    grants, batches = 200, 40
    # 10% 5xx before the write, 10% 5xx after it (lost answer), 10% 429 with Retry-After.
    sandbox.faults.add(
        FaultRule(kind="status", status=503, method="POST", probability=0.10),
        FaultRule(kind="lost_response", status=502, method="POST", probability=0.10 / 0.90),
        FaultRule(kind="status", status=429, retry_after=0.01, method="POST", probability=0.10 / 0.80),
    )
    customers = sorted(sandbox.store.accounts)

    async def grant(number: int) -> httpx.Response:
        body = {"sku_code": "STRATA-CRM-CONNECTOR", "quantity": 1 + number % 5, "source_ref": f"burst-{number}"}
        headers = {**writer, "Idempotency-Key": f"grant-{number}"}
        path = f"{PRODUCT}/customers/{customers[number % len(customers)]}/entitlements"
        return await gw.client.post(path, json=body, headers=headers)

    async def usage(number: int) -> httpx.Response:
        events = [
            {
                "id": f"burst-{number}-{index}",
                "customer_id": customers[number % len(customers)],
                "sku_code": "STRATA-USAGE-1M",
                "quantity": "1",
                "occurred_at": "2026-06-01T00:00:00Z",
            }
            for index in range(5)
        ]
        headers = {**writer, "Idempotency-Key": f"usage-{number}"}
        return await gw.client.post(f"{PRODUCT}/usage-events/batches", json={"events": events}, headers=headers)

    calls: dict[str, Any] = {f"grant-{n}": (grant, n) for n in range(grants)}
    calls.update({f"usage-{n}": (usage, n) for n in range(batches)})
    outcomes: dict[str, httpx.Response] = {}
    pending, rounds = list(calls), 0
    while pending and rounds < 6:
        rounds += 1
        answers = await asyncio.gather(*(calls[key][0](calls[key][1]) for key in pending))
        for key, answer in zip(pending, answers, strict=True):
            assert answer.status_code in (200, 201, 503, 504, 409), answer.text
            if answer.status_code in (503, 504, 409):
                assert answer.status_code == 409 or "retry-after" in answer.headers or answer.status_code == 504
            outcomes[key] = answer
        pending = [key for key, answer in outcomes.items() if answer.status_code >= 300]
    assert pending == []
    after = sandbox.store.counts()
    applied = {k: after["writes_applied"][k] - before["writes_applied"][k] for k in after["writes_applied"]}
    assert applied["entitlement_grant"] == grants
    assert applied["usage_event"] == batches * 5
    assert after["entitlements"] - before["entitlements"] == grants
    assert sandbox.faults.counts()["faults_injected"].get("lost_response", 0) > 0
    ids = [outcomes[f"grant-{n}"].json()["id"] for n in range(grants)]
    assert len(set(ids)) == grants
    for n in range(batches):
        assert outcomes[f"usage-{n}"].json()["accepted"] == 5  # replayed answers, never "duplicate"

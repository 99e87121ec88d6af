"""ProductService and its connector over the sandbox: mapping, paging, writes, and vendor failures."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from apis.canonical import EntitlementChange, EntitlementGrant, EntitlementRevoke, UsageEvent, UsageEventBatch
from apis.system.product.connectors.product_platform import ProductPlatformConfig, ProductPlatformConnector
from apis.system.product.service import ProductService, vendor_idempotency_key
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sandboxes.faults import FaultRule
from sandboxes.product_platform import ProductPlatformSandbox
from tests.support.product_platform import API_KEY, BASE, FAST


async def test_catalog_maps_to_canonical_objects(service: ProductService) -> None:
    products = await service.list_products(family=None, limit=200, position=None)
    assert {p.code for p in products.items} >= {"STRATA-CORE", "STRATA-USAGE-1M"} and products.next_position is None
    core = await service.get_product("prod_strata_core")
    assert core.code == "STRATA-CORE" and core.created_at.tzinfo is not None
    skus = await service.list_skus(product_id=core.id, code=None, limit=50, position=None)
    assert {s.code for s in skus.items} == {"STRATA-CORE", "STRATA-CORE-MONTHLY"}
    usage = (await service.list_skus(product_id=None, code="STRATA-USAGE-1M", limit=5, position=None)).items[0]
    assert usage.charge_model == "metered" and usage.unit_price.amount == "150.00"
    assert usage.unit_price.currency == "USD"
    bundle = await service.get_bundle("bndl_strata_starter")
    assert [c.sku_code for c in bundle.components] == ["STRATA-CORE", "STRATA-CRM-CONNECTOR", "STRATA-ONBOARDING"]
    with pytest.raises(NotFound):
        await service.get_sku("sku_nope")


async def test_customers_page_and_resolve_from_the_crm_id(
    sandbox: ProductPlatformSandbox, service: ProductService
) -> None:
    seen, cursor = [], None
    while True:
        page = await service.list_customers(crm_account_id=None, limit=20, position=cursor)
        seen.extend(c.id for c in page.items)
        if page.next_position is None:
            break
        cursor = page.next_position
    assert seen == sorted(sandbox.store.accounts)
    account = sandbox.store.accounts["acc_000005"]
    found = await service.list_customers(crm_account_id=account["externalRef"], limit=5, position=None)
    assert [c.id for c in found.items] == ["acc_000005"]
    with pytest.raises(InvalidInput) as raised:
        await service.list_customers(crm_account_id=None, limit=5, position="forged")
    assert raised.value.field_errors[0]["name"] == "cursor"


async def test_grant_change_revoke_and_list(service: ProductService) -> None:
    starts = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    grant = EntitlementGrant(sku_code="STRATA-ERP-CONNECTOR", quantity=2, starts_at=starts, source_ref="006X")
    granted = await service.grant_entitlement("acc_000004", grant, idempotency_key="k-1")
    assert granted.status == "active" and granted.quantity == 2 and granted.starts_at == starts
    assert granted.source_ref == "006X" and granted.customer_id == "acc_000004"
    again = await service.grant_entitlement("acc_000004", grant, idempotency_key="k-1")
    assert again == granted  # same key: the platform's replay, not a second grant
    changed = await service.change_entitlement(granted.id, EntitlementChange(quantity=5))
    assert changed.quantity == 5
    revoked = await service.revoke_entitlement(granted.id, EntitlementRevoke(reason="downgrade"), idempotency_key="r")
    assert revoked.status == "revoked" and revoked.revoke_reason == "downgrade" and revoked.revoked_at is not None
    active = await service.list_entitlements("acc_000004", status="active", limit=50, position=None)
    assert granted.id not in {e.id for e in active.items}
    with pytest.raises(Conflict):
        await service.change_entitlement(granted.id, EntitlementChange(quantity=6))
    with pytest.raises(InvalidInput) as raised:
        await service.grant_entitlement("acc_000004", EntitlementGrant(sku_code="NOPE"), idempotency_key="k-2")
    assert raised.value.field_errors[0]["pointer"] == "/sku_code"
    with pytest.raises(NotFound):
        await service.grant_entitlement("acc_999999", grant, idempotency_key="k-3")
    with pytest.raises(InvalidInput):
        await service.change_entitlement(granted.id, EntitlementChange())


async def test_usage_batch_reports_duplicates_as_results(service: ProductService) -> None:
    at = dt.datetime(2026, 2, 1, 12, tzinfo=dt.UTC)

    def event(event_id: str, sku: str = "STRATA-USAGE-1M") -> UsageEvent:
        return UsageEvent(id=event_id, customer_id="acc_000001", sku_code=sku, quantity="2.5", occurred_at=at)

    first = await service.ingest_usage(UsageEventBatch(events=[event("a"), event("b")]), idempotency_key="u-1")
    assert (first.accepted, first.duplicates, first.rejected) == (2, 0, 0)
    second = await service.ingest_usage(
        UsageEventBatch(events=[event("a"), event("c", "STRATA-CORE")]), idempotency_key="u-2"
    )
    assert [r.status for r in second.results] == ["duplicate", "rejected"] and second.results[1].reason


async def test_vendor_failures_map_onto_the_error_tree(
    sandbox: ProductPlatformSandbox, service: ProductService
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, retry_after=0.01, count=2))
    assert (await service.get_product("prod_strata_core")).code == "STRATA-CORE"  # retried through two 503s
    sandbox.faults.add(FaultRule(kind="status", status=503))
    with pytest.raises(UpstreamUnavailable):
        await service.get_product("prod_strata_core")
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=60))
    with pytest.raises(UpstreamRateLimited) as throttled:
        await service.get_product("prod_strata_core")  # 60 s is longer than the policy waits: raised at once
    assert throttled.value.retry_after == 60
    sandbox.faults.clear()
    quick = ProductPlatformConfig(
        timeout_seconds=0.1, max_retries=1, backoff_base_seconds=0.001, backoff_max_seconds=0.01
    )
    service.connector.config = quick
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=1.0))
    started = time.monotonic()
    with pytest.raises(UpstreamTimeout):
        await service.get_product("prod_strata_core")
    assert time.monotonic() - started < (quick.max_retries + 1) * quick.timeout_seconds + 0.3


async def test_a_post_without_a_key_is_not_retried(sandbox: ProductPlatformSandbox, http: httpx.AsyncClient) -> None:
    connector = ProductPlatformConnector(http, BASE, API_KEY, config=FAST)
    sandbox.faults.add(FaultRule(kind="lost_response", status=503, count=1))
    with pytest.raises(UpstreamUnavailable):
        await connector.post("/v1/accounts/acc_000001/entitlements", {"skuCode": "STRATA-CORE"}, idempotency_key=None)
    assert sandbox.store.counts()["writes_applied"]["entitlement_grant"] == 1  # applied once, never twice


async def test_unreadable_answers_are_contract_violations() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/products"):
            return httpx.Response(200, json={"items": []})
        return httpx.Response(200, json={"id": "prod_x"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(garbage)) as client:
        service = ProductService(ProductPlatformConnector(client, BASE, API_KEY, config=FAST))
        with pytest.raises(UpstreamContractViolation):
            await service.list_products(family=None, limit=5, position=None)
        with pytest.raises(UpstreamContractViolation):
            await service.get_product("prod_x")


async def test_a_refused_api_key_is_a_gateway_set_up_error(http: httpx.AsyncClient) -> None:
    service = ProductService(ProductPlatformConnector(http, BASE, "wrong-key", config=FAST))
    with pytest.raises(UpstreamContractViolation, match="API key"):
        await service.list_bundles(limit=5, position=None)


def test_vendor_keys_are_stable_per_caller_key_and_fresh_without_one() -> None:
    assert vendor_idempotency_key("client-a", "k") == vendor_idempotency_key("client-a", "k")
    assert vendor_idempotency_key("client-a", "k") != vendor_idempotency_key("client-b", "k")
    assert vendor_idempotency_key("client-a", None) != vendor_idempotency_key("client-a", None)

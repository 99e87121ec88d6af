"""SalesforceConnector against the in-process sandbox: auth, paging, errors, retries, timeouts."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from prometheus_client import REGISTRY

from apis.system.crm.connectors.salesforce import SalesforceConfig, SalesforceConnector
from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, CircuitOpen
from core.errors import (
    Conflict,
    NotFound,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sandboxes.faults import FaultRule
from sandboxes.salesforce import SalesforceSandbox
from sandboxes.salesforce.schema import SOBJECTS
from tests.apis.system.crm.conftest import BASE, FAST

QUERY = "/services/data/v62.0/query"
TOKEN = "/services/oauth2/token"


async def test_query_follows_next_records_url(sandbox: SalesforceSandbox, connector: SalesforceConnector) -> None:
    with sandbox.store.batch():
        for number in range(2500):
            sandbox.store.create(SOBJECTS["Contact"], {"LastName": f"Many {number}"})
    records = await connector.query("SELECT Id FROM Contact WHERE LastName LIKE 'Many %'")
    assert len(records) == 2500
    assert sandbox.faults.requests[f"GET {QUERY}"] == 1
    assert sum(n for key, n in sandbox.faults.requests.items() if key.startswith(f"GET {QUERY}/01g")) == 1


async def test_token_cached_and_refreshed_once_on_invalid_session(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    await connector.query("SELECT Id FROM Account LIMIT 1")
    await connector.query("SELECT Id FROM Account LIMIT 1")
    assert sandbox.faults.requests[f"POST {TOKEN}"] == 1
    sandbox.expire_tokens()
    assert len(await connector.query("SELECT Id FROM Account LIMIT 2")) == 2
    assert sandbox.faults.requests[f"POST {TOKEN}"] == 2


async def test_bad_credentials_are_rejected(http: httpx.AsyncClient) -> None:
    connector = SalesforceConnector(http, BASE, "strata-sandbox", "wrong", config=FAST)
    with pytest.raises(UpstreamRejected) as caught:
        await connector.query("SELECT Id FROM Account")
    assert caught.value.vendor_code == "invalid_client"


async def test_limit_info_exposed_and_exported(connector: SalesforceConnector) -> None:
    await connector.get("Account", "001Qy0000000008IAA", ["Id", "Name"])
    assert connector.api_usage is not None and connector.api_usage.max == 100_000 and connector.api_usage.used >= 1
    assert REGISTRY.get_sample_value("strata_vendor_api_usage", {"vendor": "salesforce"}) == connector.api_usage.used
    assert REGISTRY.get_sample_value("strata_vendor_api_usage_max", {"vendor": "salesforce"}) == 100_000


@pytest.mark.parametrize(
    ("rule", "expected", "code"),
    [
        (FaultRule(kind="status", status=429), UpstreamRateLimited, "REQUEST_LIMIT_EXCEEDED"),
        (FaultRule(kind="status", status=403), UpstreamRateLimited, "REQUEST_LIMIT_EXCEEDED"),
        (FaultRule(kind="status", status=503), UpstreamUnavailable, "SERVER_UNAVAILABLE"),
        (FaultRule(kind="status", status=500), UpstreamUnavailable, "UNKNOWN_EXCEPTION"),
        (FaultRule(kind="status", status=404), NotFound, "NOT_FOUND"),
    ],
)
async def test_faults_map_onto_the_error_tree(
    sandbox: SalesforceSandbox, http: httpx.AsyncClient, rule: FaultRule, expected: type[Exception], code: str
) -> None:
    connector = SalesforceConnector(
        http, BASE, "strata-sandbox", "sandbox-secret", config=SalesforceConfig(max_retries=0)
    )
    sandbox.faults.add(FaultRule(kind=rule.kind, status=rule.status, path_prefix="/services/data"))
    with pytest.raises(expected) as caught:
        await connector.query("SELECT Id FROM Account")
    assert caught.value.vendor_code == code  # type: ignore[attr-defined]


async def test_vendor_errors_map_onto_the_error_tree(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    with pytest.raises(NotFound):
        await connector.get("Account", "001Qy0000000000AAA")
    with pytest.raises(UpstreamRejected) as rejected:
        await connector.query("SELECT Nope FROM Account")
    assert rejected.value.vendor_code == "INVALID_FIELD"
    with pytest.raises(UpstreamRejected) as missing:
        await connector.create("Account", {"Website": "x"})
    assert missing.value.vendor_code == "REQUIRED_FIELD_MISSING" and "Name" in missing.value.detail
    for _ in range(2):
        sandbox.store.create(SOBJECTS["Account"], {"Name": "Twin", "Strata_Id__c": "cus_TWIN"})
    with pytest.raises(Conflict):
        await connector.upsert("Account", "Strata_Id__c", "cus_TWIN", {"Name": "x"})


async def test_retries_idempotent_reads_honouring_retry_after(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, retry_after=0.1, count=2, path_prefix=QUERY))
    started = time.perf_counter()
    assert len(await connector.query("SELECT Id FROM Account LIMIT 1")) == 1
    assert time.perf_counter() - started >= 0.2
    assert sandbox.faults.injected["status"] == 2


async def test_upserts_are_retried_creates_are_not(sandbox: SalesforceSandbox, connector: SalesforceConnector) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, count=1, method="PATCH"))
    assert await connector.upsert("Account", "Strata_Id__c", "cus_RETRY", {"Name": "Retried"}) is True
    sandbox.faults.add(FaultRule(kind="status", status=503, count=1, method="POST", path_prefix="/services/data"))
    with pytest.raises(UpstreamUnavailable):
        await connector.create("Account", {"Name": "Once"})
    assert sandbox.faults.requests["POST /services/data/v62.0/sobjects/Account"] == 1


async def test_gives_up_after_max_retries_and_on_long_retry_after(
    sandbox: SalesforceSandbox, connector: SalesforceConnector
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix=QUERY))
    with pytest.raises(UpstreamUnavailable):
        await connector.query("SELECT Id FROM Account")
    assert sandbox.faults.requests[f"GET {QUERY}"] == 1 + FAST.max_retries
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=60, path_prefix=QUERY))
    with pytest.raises(UpstreamRateLimited) as caught:
        await connector.query("SELECT Id FROM Account")
    assert caught.value.retry_after == 60
    assert sandbox.faults.requests[f"GET {QUERY}"] == 1 + FAST.max_retries + 1


async def test_timeout_is_upstream_timeout(sandbox: SalesforceSandbox, http: httpx.AsyncClient) -> None:
    config = SalesforceConfig(timeout_seconds=0.05, max_retries=1, backoff_base_seconds=0.001)
    connector = SalesforceConnector(http, BASE, "strata-sandbox", "sandbox-secret", config=config)
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.5, path_prefix=QUERY))
    started = time.perf_counter()
    with pytest.raises(UpstreamTimeout):
        await connector.query("SELECT Id FROM Account")
    assert time.perf_counter() - started < 0.4


async def test_transport_failures_and_unreadable_bodies() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        connector = SalesforceConnector(client, BASE, "id", "secret", config=SalesforceConfig(max_retries=0))
        with pytest.raises(UpstreamUnavailable):
            await connector.query("SELECT Id FROM Account")

    def garbage(request: httpx.Request) -> httpx.Response:
        if request.url.path == TOKEN:
            return httpx.Response(200, json={"access_token": "t", "instance_url": BASE})
        if "query" in request.url.path:
            return httpx.Response(200, json={"totalSize": 1, "done": True})
        return httpx.Response(400, content=b"<html>nope</html>")

    async with httpx.AsyncClient(transport=httpx.MockTransport(garbage)) as client:
        connector = SalesforceConnector(client, BASE, "id", "secret", config=SalesforceConfig(max_retries=0))
        with pytest.raises(UpstreamContractViolation):
            await connector.query("SELECT Id FROM Account")
        with pytest.raises(UpstreamContractViolation):
            await connector.get("Account", "001Qy0000000008IAA")


async def test_the_connector_stops_calling_a_vendor_that_is_down(sandbox: SalesforceSandbox) -> None:
    breaker = CircuitBreaker("salesforce", CircuitBreakerConfig(failure_threshold=2, open_seconds=0.2))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE) as http:
        connector = SalesforceConnector(
            http, BASE, "strata-sandbox", "sandbox-secret", config=SalesforceConfig(max_retries=0), breaker=breaker
        )
        await connector.query("SELECT Id FROM Account LIMIT 1")  # token fetched, vendor up
        sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix="/services/data", count=2))
        for _ in range(2):
            with pytest.raises(UpstreamUnavailable):
                await connector.query("SELECT Id FROM Account LIMIT 1")
        # The fault rule is used up: a call that reached Salesforce would succeed now.
        with pytest.raises(CircuitOpen):
            await connector.query("SELECT Id FROM Account LIMIT 1")
        await asyncio.sleep(0.25)
        assert len(await connector.query("SELECT Id FROM Account LIMIT 1")) == 1  # the trial call
        assert breaker.state == "closed"

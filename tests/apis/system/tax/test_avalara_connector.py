"""AvalaraConnector against the in-process sandbox: auth, models, errors, retries, timeouts, breaker."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import httpx
import msgspec
import pytest

from apis.canonical import TaxQuoteRequest, TaxTransactionCreate
from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig, CircuitOpen
from apis.system.tax import mapping as m
from apis.system.tax.connectors.avalara import (
    AvalaraConfig,
    AvalaraConnector,
    AvalaraNotFound,
    AvalaraRejected,
    ava_escape,
)
from core.errors import (
    Conflict,
    UpstreamContractViolation,
    UpstreamRateLimited,
    UpstreamRejected,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from sandboxes.avalara import AvalaraSandbox
from sandboxes.avalara.seed import ACCOUNT_ID
from sandboxes.faults import FaultRule
from tests.support.avalara import BASE, FAST, LICENSE_KEY, quote_body

UPSERT = "POST /api/v2/transactions/createoradjust"
CREATE = "POST /api/v2/transactions/create"


def order(**changes: Any) -> dict[str, Any]:
    return m.to_model(msgspec.convert(quote_body(**changes), TaxQuoteRequest), code=None, recorded=False)


def invoice(code: str, **changes: Any) -> dict[str, Any]:
    return m.to_transaction_model(msgspec.convert({**quote_body(**changes), "code": code}, TaxTransactionCreate))


async def test_ping_and_the_client_header(sandbox: AvalaraSandbox, connector: AvalaraConnector) -> None:
    assert (await connector.ping())["authenticated"] is True
    await connector.estimate(order())
    assert sandbox.clients_seen == {FAST.client_header: 1}


async def test_estimates_are_not_recorded_and_amounts_stay_exact(
    sandbox: AvalaraSandbox, connector: AvalaraConnector
) -> None:
    body = await connector.estimate(order(lines=[{"amount": {"amount": "0.10", "currency": "USD"}}]))
    assert body["status"] == "Temporary" and body["totalAmount"] == Decimal("0.10")
    assert body["totalTax"] == Decimal("0.01")  # 8.625% of 0.10, rounded half-up per jurisdiction
    assert sandbox.store.counts()["transactions"] == 0
    with pytest.raises(ValueError):
        await connector.estimate(invoice("INV-1"))


async def test_create_or_adjust_is_exactly_once_for_the_same_content(
    sandbox: AvalaraSandbox, connector: AvalaraConnector
) -> None:
    first = await connector.create_or_adjust(invoice("INV-1"))
    again = await connector.create_or_adjust(invoice("INV-1"))
    assert first["id"] == again["id"] and again["status"] == "Committed" and again["version"] == 1
    assert sandbox.store.counts()["writes_applied"] == {"create": 1}


async def test_document_calls(sandbox: AvalaraSandbox, connector: AvalaraConnector) -> None:
    await connector.create_or_adjust(invoice("INV-2", lines=[{"amount": {"amount": "100", "currency": "USD"}}]))
    new = invoice("INV-2", lines=[{"amount": {"amount": "200", "currency": "USD"}}])
    adjusted = await connector.adjust("STRATA-US", "INV-2", new, reason="PriceAdjusted", description=None)
    assert adjusted["version"] == 2 and adjusted["totalAmount"] == 200
    assert (await connector.get("STRATA-US", "INV-2", "SalesInvoice"))["version"] == 2
    assert (await connector.commit("STRATA-US", "INV-2"))["status"] == "Committed"
    assert (await connector.void("STRATA-US", "INV-2", "DocVoided"))["status"] == "Cancelled"
    with pytest.raises(Conflict) as voided:
        await connector.create_or_adjust(new)
    assert voided.value.vendor_code == "InvalidDocumentStatus"


async def test_vendor_errors_map_onto_the_error_tree(connector: AvalaraConnector) -> None:
    with pytest.raises(AvalaraRejected) as incomplete:
        await connector.estimate(order(ship_to={"country": "US", "region": "CA"}))
    assert incomplete.value.vendor_code == "AddressIncomplete"
    assert incomplete.value.refers_to == "addresses.shipTo.postalCode"
    with pytest.raises(AvalaraNotFound) as company:
        await connector.estimate(order(company="NOPE"))
    assert company.value.refers_to == "companyCode"
    with pytest.raises(AvalaraNotFound):
        await connector.void("STRATA-US", "NOPE", "DocVoided")


async def test_wrong_credentials_are_rejected(http: httpx.AsyncClient) -> None:
    connector = AvalaraConnector(http, BASE, ACCOUNT_ID, "wrong", config=FAST)
    assert (await connector.ping())["authenticated"] is False
    with pytest.raises(UpstreamRejected) as caught:
        await connector.estimate(order())
    assert caught.value.vendor_code == "AuthenticationException" and "wrong" not in caught.value.detail


@pytest.mark.parametrize(
    ("status", "expected", "code"),
    [
        (429, UpstreamRateLimited, "RequestLimitExceeded"),
        (503, UpstreamUnavailable, "ServerUnreachable"),
        (500, UpstreamUnavailable, "ServerUnreachable"),
    ],
)
async def test_faults_map_onto_the_error_tree(
    sandbox: AvalaraSandbox, http: httpx.AsyncClient, status: int, expected: type[Exception], code: str
) -> None:
    connector = AvalaraConnector(http, BASE, ACCOUNT_ID, LICENSE_KEY, config=AvalaraConfig(max_retries=0))
    sandbox.faults.add(FaultRule(kind="status", status=status, retry_after=3))
    with pytest.raises(expected) as caught:
        await connector.estimate(order())
    assert caught.value.vendor_code == code  # type: ignore[attr-defined]
    assert caught.value.retry_after == 3  # type: ignore[attr-defined]


async def test_estimates_and_createoradjust_are_retried_honouring_retry_after(
    sandbox: AvalaraSandbox, connector: AvalaraConnector
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=0.1, count=2))
    started = time.perf_counter()
    await connector.estimate(order())
    assert time.perf_counter() - started >= 0.2 and sandbox.faults.requests[CREATE] == 3
    sandbox.faults.add(FaultRule(kind="lost_response", status=503, count=1))
    created = await connector.create_or_adjust(invoice("INV-3"))
    assert created["version"] == 1 and sandbox.faults.requests[UPSERT] == 2
    assert sandbox.store.counts()["writes_applied"] == {"create": 1}


async def test_commit_void_and_adjust_are_sent_once(sandbox: AvalaraSandbox, connector: AvalaraConnector) -> None:
    await connector.create_or_adjust(invoice("INV-4"))
    sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix="/api/v2/companies"))
    for call in (
        connector.void("STRATA-US", "INV-4", "DocVoided"),
        connector.commit("STRATA-US", "INV-4"),
        connector.adjust("STRATA-US", "INV-4", invoice("INV-4"), reason="Other", description="x"),
    ):
        with pytest.raises(UpstreamUnavailable):
            await call
    sent = {key: n for key, n in sandbox.faults.requests.items() if key.startswith("POST /api/v2/companies")}
    assert sorted(sent.values()) == [1, 1, 1]


async def test_gives_up_after_max_retries_and_on_a_long_retry_after(
    sandbox: AvalaraSandbox, connector: AvalaraConnector
) -> None:
    sandbox.faults.add(FaultRule(kind="status", status=503))
    with pytest.raises(UpstreamUnavailable):
        await connector.create_or_adjust(invoice("INV-5"))
    assert sandbox.faults.requests[UPSERT] == 1 + FAST.max_retries
    sandbox.faults.clear()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=60))
    with pytest.raises(UpstreamRateLimited) as caught:
        await connector.estimate(order())
    assert caught.value.retry_after == 60 and sandbox.faults.requests[CREATE] == 1


async def test_a_slow_vendor_is_an_upstream_timeout(sandbox: AvalaraSandbox, http: httpx.AsyncClient) -> None:
    config = AvalaraConfig(timeout_seconds=0.05, max_retries=1, backoff_base_seconds=0.001)
    connector = AvalaraConnector(http, BASE, ACCOUNT_ID, LICENSE_KEY, config=config)
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.5))
    started = time.perf_counter()
    with pytest.raises(UpstreamTimeout):
        await connector.estimate(order())
    assert time.perf_counter() - started < 0.4


async def test_unreadable_answers_are_contract_violations() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/create"):
            return httpx.Response(201, json={"code": "x", "lines": "not a list", "totalAmount": 1, "totalTax": 0})
        if request.url.path.endswith("/createoradjust"):
            return httpx.Response(400, content=b"<html>proxy error</html>")
        return httpx.Response(400, json={"message": "no error object"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        connector = AvalaraConnector(client, BASE, ACCOUNT_ID, LICENSE_KEY, config=AvalaraConfig(max_retries=0))
        for call in (connector.estimate(order()), connector.create_or_adjust(invoice("X")), connector.get("C", "X")):
            with pytest.raises(UpstreamContractViolation):
                await call

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        connector = AvalaraConnector(client, BASE, ACCOUNT_ID, LICENSE_KEY, config=AvalaraConfig(max_retries=0))
        with pytest.raises(UpstreamUnavailable):
            await connector.ping()


async def test_the_breaker_stops_calls_to_a_vendor_that_is_down(
    sandbox: AvalaraSandbox, http: httpx.AsyncClient
) -> None:
    breaker = CircuitBreaker("avalara", CircuitBreakerConfig(failure_threshold=2, open_seconds=0.2))
    config = AvalaraConfig(max_retries=0)
    connector = AvalaraConnector(http, BASE, ACCOUNT_ID, LICENSE_KEY, config=config, breaker=breaker)
    sandbox.faults.add(FaultRule(kind="status", status=503, count=2))
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await connector.estimate(order())
    with pytest.raises(CircuitOpen):
        await connector.estimate(order())
    await asyncio.sleep(0.25)
    assert (await connector.estimate(order()))["status"] == "Temporary"
    assert breaker.state == "closed"


def test_codes_in_urls_are_written_in_avalaras_escape_form() -> None:
    assert ava_escape("INV/2026+1?x%y#z w") == "INV_-ava2f-_2026_-ava2b-_1_-ava3f-_x_-ava25-_y_-ava23-_z%20w"
    assert ava_escape("STRATA-US") == "STRATA-US"


@pytest.mark.parametrize("code", ["INV/2026/7", "INV+7", "INV?7", "INV%7", "INV#7", "INV 7"])
async def test_document_calls_reach_codes_holding_url_characters(
    sandbox: AvalaraSandbox, connector: AvalaraConnector, code: str
) -> None:
    await connector.create_or_adjust(invoice(code))
    assert (await connector.get("STRATA-US", code, "SalesInvoice"))["code"] == code
    assert (await connector.void("STRATA-US", code, "DocVoided"))["status"] == "Cancelled"


async def test_the_sandbox_refuses_percent_encoded_url_characters_in_codes(
    http: httpx.AsyncClient, connector: AvalaraConnector
) -> None:
    await connector.create_or_adjust(invoice("INV+8"))
    auth = httpx.BasicAuth(ACCOUNT_ID, LICENSE_KEY)
    refused = await http.get("/api/v2/companies/STRATA-US/transactions/INV%2B8", auth=auth)
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "EntityNotFoundError"
    found = await http.get("/api/v2/companies/STRATA-US/transactions/INV_-ava2b-_8", auth=auth)
    assert found.status_code == 200 and found.json()["code"] == "INV+8"

"""The connector under vendor trouble: token cache, 401 refresh, 412, 429, 5xx, timeouts, lost answers, a burst."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import Any

import httpx
import pytest

from apis.canonical import DocumentLineInput, ErpCustomerUpsert, InvoiceCreate, JournalEntryCreate, JournalLine
from apis.canonical import SalesOrderCreate as OrderCreate
from apis.system.erp.connectors.business_central import BusinessCentralConnector
from apis.system.erp.connectors.business_central_http import BusinessCentralConfig
from apis.system.erp.connectors.business_central_mapping import document_key, order_number, split
from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitOpen
from core.errors import RetryableError, UpstreamRateLimited, UpstreamRejected, UpstreamTimeout, UpstreamUnavailable
from sandboxes.business_central import BusinessCentralSandbox
from sandboxes.faults import FaultRule
from tests.support.business_central import API, BASE, FAST, TOKEN_PATH, company_id, make_connector

DAY = dt.date(2026, 6, 1)
API_PREFIX = "/v2.0/"


async def _setup(connector: BusinessCentralConnector) -> tuple[str, str]:
    customer, _ = await connector.upsert_customer("cus_resilience", ErpCustomerUpsert(name="Resilient Co"))
    core = (await connector.list_items(code="STRATA-CORE", limit=1, position=None)).items[0]
    return customer.id, core.id


def _invoice(customer: str, item: str, key: str) -> InvoiceCreate:
    lines = [DocumentLineInput(item_id=item, quantity="1", unit_price="99.00")]
    return InvoiceCreate(external_id=key, customer_id=customer, date=DAY, currency="USD", lines=lines)


def _with_key(sandbox: BusinessCentralSandbox, entity: str, key: str) -> list[dict[str, Any]]:
    return [
        record
        for company in sandbox.store.companies
        for record in sandbox.store.all(company, entity)
        if record.get("externalDocumentNumber") == document_key(key)
    ]


async def test_token_is_cached_and_refreshed_after_a_401(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    for _ in range(3):
        await connector.list_legal_entities()
        await connector.list_accounting_periods(year=2026)
    assert sandbox.tokens.issued == 1
    sandbox.tokens.expire_all()
    assert len(await connector.list_accounting_periods(year=2026)) == 12
    assert sandbox.tokens.issued == 2


async def test_refused_client_credentials_are_a_permanent_error(sandbox: BusinessCentralSandbox) -> None:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox), base_url=BASE)
    connector = BusinessCentralConnector(
        client, f"{BASE}{API}", f"{BASE}{TOKEN_PATH}", "strata-sandbox", "wrong-secret", config=FAST
    )
    with pytest.raises(UpstreamRejected) as refused:
        await connector.list_legal_entities()
    assert refused.value.vendor_code == "invalid_client" and sandbox.tokens.issued == 0
    await connector.aclose()


async def test_upsert_rereads_and_patches_again_after_a_412(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    created, _ = await connector.upsert_customer("cus_etag_race", ErpCustomerUpsert(name="First"))
    company, guid = split(created.id)
    record = sandbox.store.get(company, "customers", guid)
    original_patch = sandbox.store.check_etag
    raced: list[bool] = []

    def someone_else_wrote_first(target: dict[str, Any], if_match: str | None, etag_of: Any) -> None:
        if not raced and target is record:
            raced.append(True)
            sandbox.store.touch(record)  # another user saved the record between our read and our PATCH
        original_patch(target, if_match, etag_of)

    sandbox.store.check_etag = someone_else_wrote_first  # type: ignore[method-assign,assignment]
    updated, was_created = await connector.upsert_customer("cus_etag_race", ErpCustomerUpsert(name="Second"))
    assert raced and not was_created and updated.name == "Second"
    assert (
        sandbox.faults.requests[
            f"PATCH /v2.0/strata-sandbox.onmicrosoft.com/sandbox/api/v2.0/companies({company})/customers({guid})"
        ]
        == 2
    )


async def test_429_and_5xx_map_to_retryable_errors(sandbox: BusinessCentralSandbox) -> None:
    connector = make_connector(sandbox)
    await connector.list_legal_entities()
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=120, method="GET", count=1))
    with pytest.raises(UpstreamRateLimited) as limited:
        await connector.list_accounting_periods()
    assert limited.value.retry_after == 120 and limited.value.vendor_code == "Application_TooManyRequests"
    sandbox.faults.add(FaultRule(kind="status", status=503, method="GET", count=2))
    assert len(await connector.list_accounting_periods(year=2025)) == 12  # reads are retried
    sandbox.faults.add(FaultRule(kind="status", status=500, method="GET"))
    with pytest.raises(UpstreamUnavailable) as unavailable:
        await connector.list_accounting_periods()
    assert unavailable.value.vendor_code == "Internal_ServerError"
    sandbox.faults.clear()
    slow = make_connector(sandbox, BusinessCentralConfig(timeout_seconds=0.05, max_retries=0))
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.3, method="GET", path_prefix=API_PREFIX))
    with pytest.raises(UpstreamTimeout):
        await slow.list_accounting_periods()
    await connector.aclose()
    await slow.aclose()


async def test_open_breaker_fails_fast(sandbox: BusinessCentralSandbox) -> None:
    breaker = CircuitBreaker("business_central")
    connector = make_connector(sandbox, BusinessCentralConfig(max_retries=0), breaker=breaker)
    await connector.list_legal_entities()
    sandbox.faults.add(FaultRule(kind="status", status=503, path_prefix=API_PREFIX))
    for _ in range(breaker.config.failure_threshold):
        with pytest.raises(UpstreamUnavailable):
            await connector.list_accounting_periods()
    before = sandbox.faults.counts()["requests"]
    with pytest.raises(CircuitOpen):
        await connector.list_accounting_periods()
    assert sandbox.faults.counts()["requests"] == before and breaker.state == "open"
    await connector.aclose()


@pytest.mark.parametrize("step", ["insert", "post"])
async def test_a_lost_answer_is_found_on_retry_not_duplicated(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox, step: str
) -> None:
    customer, item = await _setup(connector)
    company = company_id(sandbox)
    path = f"{API_PREFIX}strata-sandbox.onmicrosoft.com/sandbox/api/v2.0/companies({company})/salesInvoices"
    if step == "post":  # the insert goes through (a zero-latency rule used up), the post's answer is lost
        sandbox.faults.add(FaultRule(kind="latency", method="POST", path_prefix=path, count=1))
    sandbox.faults.add(FaultRule(kind="lost_response", status=503, method="POST", path_prefix=path, count=1))
    invoice, created = await connector.create_invoice(_invoice(customer, item, f"inv-lost-{step}"))
    assert created  # this call made it, though its first answer was lost
    stored = _with_key(sandbox, "salesInvoices", f"inv-lost-{step}")
    assert [r["id"] for r in stored] == [split(invoice.id)[1]] and stored[0]["status"] == "Open"
    assert invoice.status == "open" and sandbox.faults.injected["lost_response"] == 1
    ledger = [e for e in sandbox.store.all(company, "generalLedgerEntries") if e["documentNumber"] == invoice.number]
    assert len([e for e in ledger if e["accountNumber"] == "1200"]) == 1  # booked once (and deferred once)
    assert len([e for e in ledger if e["accountNumber"] == "2200" and e["creditAmount"]]) == 1


async def test_a_lost_journal_post_is_not_posted_twice(
    connector: BusinessCentralConnector, sandbox: BusinessCentralSandbox
) -> None:
    company = company_id(sandbox)
    sandbox.faults.add(FaultRule(kind="lost_response", status=502, method="POST", path_prefix=API_PREFIX, count=2))
    lines = [JournalLine(account="6000", debit="75"), JournalLine(account="1000", credit="75")]
    request = JournalEntryCreate(external_id="je-lost", legal_entity_id=company, date=DAY, currency="USD", lines=lines)
    entry, created = await connector.create_journal_entry(request)
    assert created
    entries = [e for e in sandbox.store.all(company, "generalLedgerEntries") if e["documentNumber"] == entry.number]
    assert len(entries) == 2 and sandbox.faults.injected["lost_response"] == 2


async def test_burst_of_200_creates_under_faults_applies_each_exactly_once(sandbox: BusinessCentralSandbox) -> None:
    config = BusinessCentralConfig(
        timeout_seconds=5.0, max_retries=6, backoff_base_seconds=0.001, backoff_max_seconds=0.05
    )
    connector = make_connector(sandbox, config)
    customer, item = await _setup(connector)
    order_item = DocumentLineInput(item_id=item, quantity="3", unit_price="10")
    before = len(sandbox.store.all(company_id(sandbox), "salesOrders"))
    writes_before = dict(sandbox.store.writes)
    sandbox.faults.add(
        FaultRule(kind="status", status=503, method="POST", path_prefix=API_PREFIX, probability=0.1),
        FaultRule(kind="lost_response", status=500, method="POST", path_prefix=API_PREFIX, probability=0.1 / 0.9),
        FaultRule(
            kind="status", status=429, retry_after=0.01, method="POST", path_prefix=API_PREFIX, probability=0.1 / 0.8
        ),
    )

    async def one(index: int) -> tuple[str, str | None, BaseException | None]:
        request = OrderCreate(
            external_id=f"burst-{index:03d}", customer_id=customer, date=DAY, currency="USD", lines=[order_item]
        )
        try:
            order, _ = await connector.create_sales_order(request)
            return request.external_id, order.id, None
        except RetryableError as error:
            return request.external_id, None, error

    started = asyncio.get_running_loop().time()
    results = await asyncio.gather(*(one(i) for i in range(200)))
    elapsed = asyncio.get_running_loop().time() - started
    injected = Counter(sandbox.faults.injected)
    assert injected["lost_response"] > 5 and injected["status"] > 20
    orders = [
        o
        for o in sandbox.store.all(company_id(sandbox), "salesOrders")
        if o["externalDocumentNumber"].startswith(document_key("burst-"))
    ]
    keys = Counter(o["externalDocumentNumber"] for o in orders)
    assert all(count == 1 for count in keys.values())  # never a duplicate
    succeeded = {key: order_id for key, order_id, error in results if error is None}
    assert len(succeeded) >= 190  # the rest got a retryable error, never a hang or a 500
    numbers = {order_number(split(order_id, guid=False)[1]) for order_id in succeeded.values() if order_id}
    assert numbers <= {o["number"] for o in orders}
    assert {document_key(key) for key in succeeded} <= set(keys)
    assert len(sandbox.store.all(company_id(sandbox), "salesOrders")) == before + len(keys)
    applied = {k: n - writes_before.get(k, 0) for k, n in sandbox.store.writes.items() if n != writes_before.get(k, 0)}
    assert applied == {"salesOrders": len(keys)}  # each order inserted once, nothing else written
    assert elapsed < 20
    await connector.aclose()

"""The tax system API through the whole gateway: governance, service, connector and sandbox together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from apis.system.tax.connectors.avalara import AvalaraConfig
from sandboxes.avalara import AvalaraSandbox
from sandboxes.faults import FaultRule
from tests.support.avalara import FAST, eu_body, quote_body, usd
from tests.support.harness import Gateway, problem, running_gateway

TAX = "/system/tax/v1"
US = {"company": "STRATA-US"}


def sandbox_of(gw: Gateway) -> AvalaraSandbox:
    sandbox: AvalaraSandbox = gw.app.state.components.sandbox_apps["avalara"]
    return sandbox


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    """One gateway for the module (start-up costs seconds); :func:`clean` resets what a test changes."""
    async with running_gateway(tmp_path_factory.mktemp("tax-gateway")) as gateway:
        yield gateway


@pytest_asyncio.fixture(autouse=True, loop_scope="module")
async def clean(gw: Gateway) -> None:
    """Fresh vendor state, millisecond backoffs and a closed circuit for every test."""
    sandbox_of(gw).reset()
    connector = gw.app.state.tax.connector
    connector.config = FAST
    breaker = CircuitBreaker("avalara")  # the breaker /health/ready reports
    connector.breaker = gw.app.state.components.circuit_breakers["avalara"] = breaker


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def reader(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("system:tax:read")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def writer(gw: Gateway) -> dict[str, str]:
    return await gw.bearer("system:tax:read system:tax:write")


def pointers(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [error["pointer"] for error in problem(response)["errors"]]


async def test_a_quote_needs_a_token_with_the_read_scope_and_records_nothing(
    gw: Gateway, reader: dict[str, str]
) -> None:
    assert (await gw.client.post(f"{TAX}/quotes", json=quote_body())).status_code == 401
    crm_only = await gw.bearer("system:crm:read")
    refused = await gw.client.post(f"{TAX}/quotes", json=quote_body(), headers=crm_only)
    assert refused.status_code == 403 and 'scope="system:tax:read"' in refused.headers["www-authenticate"]
    response = await gw.client.post(f"{TAX}/quotes", json=quote_body(), headers=reader)
    assert response.status_code == 200, response.text
    quote = response.json()
    assert quote["total_tax"] == usd("86.25") and quote["reverse_charge"] is False
    assert [d["jurisdiction_type"] for d in quote["lines"][0]["details"]] == ["state", "county", "special"]
    assert quote["lines"][0]["quantity"] == "2"
    assert sandbox_of(gw).store.counts()["transactions"] == 0


async def test_eu_quotes_charge_vat_or_reverse_charge_it(gw: Gateway, reader: dict[str, str]) -> None:
    b2c = (await gw.client.post(f"{TAX}/quotes", json=eu_body(), headers=reader)).json()
    assert b2c["total_tax"] == {"amount": "200.00", "currency": "EUR"} and b2c["summary"][0]["rate"] == "0.2"
    b2b = (await gw.client.post(f"{TAX}/quotes", json=eu_body(buyer_tax_id="FR12345678901"), headers=reader)).json()
    assert b2b["total_tax"] == {"amount": "0.00", "currency": "EUR"} and b2b["reverse_charge"] is True
    assert b2b["lines"][0]["details"][0]["reverse_charge"] is True


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"ship_to": {"city": "San Francisco", "country": "US"}}, ["/ship_to/region", "/ship_to/postal_code"]),
        ({"ship_to": {"city": "Paris"}}, ["/ship_to/country"]),
        ({"ship_from": {"city": "Seattle", "region": "WA", "country": "US"}}, ["/ship_from/postal_code"]),
        ({"lines": [{"amount": {"amount": "1", "currency": "EUR"}}]}, ["/lines/0/amount/currency"]),
        ({"lines": [{"amount": usd("1"), "number": "A"}, {"amount": usd("2"), "number": "A"}]}, ["/lines/1/number"]),
        ({"company": "NOPE"}, ["/company"]),  # AvaTax: EntityNotFoundError, refersTo companyCode
        ({"ship_to": {"line1": "x" * 120, "country": "FR"}}, ["/ship_to/line1"]),  # AvaTax's own length check
        ({"lines": [{"amount": usd("99999999999999")}]}, ["/lines/0/amount"]),  # AvaTax's range check
    ],
)
async def test_what_cannot_be_taxed_is_a_422_naming_the_field(
    gw: Gateway, reader: dict[str, str], changes: dict[str, Any], expected: list[str]
) -> None:
    response = await gw.client.post(f"{TAX}/quotes", json=quote_body(**changes), headers=reader)
    assert pointers(response) == expected


async def test_contract_violations_are_refused_before_the_vendor(gw: Gateway, writer: dict[str, str]) -> None:
    body = quote_body()
    del body["ship_to"]
    assert (await gw.client.post(f"{TAX}/quotes", json=body, headers=writer)).status_code == 422
    unknown = await gw.client.post(f"{TAX}/quotes", json=quote_body(colour="red"), headers=writer)
    assert unknown.status_code == 422
    bad_code = await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "has space"}, headers=writer)
    assert bad_code.status_code == 422
    no_company = await gw.client.get(f"{TAX}/transactions/INV-1", headers=writer)
    assert no_company.status_code == 422
    assert sandbox_of(gw).faults.counts()["requests"] == 0


async def test_recording_a_transaction_is_exactly_once_by_its_code(
    gw: Gateway, reader: dict[str, str], writer: dict[str, str]
) -> None:
    body = {**quote_body(), "code": "INV-2026-0001"}
    refused = await gw.client.post(f"{TAX}/transactions", json=body, headers=reader)
    assert refused.status_code == 403 and 'scope="system:tax:write"' in refused.headers["www-authenticate"]
    created = await gw.client.post(f"{TAX}/transactions", json=body, headers=writer)
    assert created.status_code == 201, created.text
    transaction = created.json()
    assert (transaction["status"], transaction["version"], transaction["code"]) == ("committed", 1, "INV-2026-0001")
    fetched = await gw.client.get(created.headers["location"], headers=reader)
    assert fetched.status_code == 200 and fetched.json() == transaction
    again = await gw.client.post(f"{TAX}/transactions", json=body, headers=writer)
    assert again.status_code == 201 and again.json() == transaction
    keyed = {**writer, "Idempotency-Key": "tax-inv-1"}
    first = await gw.client.post(f"{TAX}/transactions", json=body, headers=keyed)
    replay = await gw.client.post(f"{TAX}/transactions", json=body, headers=keyed)
    assert replay.headers["idempotent-replayed"] == "true" and replay.json() == first.json()
    assert sandbox_of(gw).store.counts()["writes_applied"] == {"create": 1}
    changed = {**body, "lines": [{"amount": usd("500.00")}]}
    adjusted = await gw.client.post(f"{TAX}/transactions", json=changed, headers=writer)
    assert adjusted.status_code == 200 and adjusted.json()["version"] == 2
    assert adjusted.json()["adjustment_reason"] == "other" and adjusted.json()["total_tax"] == usd("43.13")


async def test_void_and_adjust(gw: Gateway, writer: dict[str, str]) -> None:
    await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "INV-V"}, headers=writer)
    doc = f"{TAX}/transactions/INV-V"
    adjustment = {"reason": "price_adjusted", "transaction": quote_body(lines=[{"amount": usd("100.00")}])}
    adjusted = await gw.client.post(f"{doc}/adjust", params=US, json=adjustment, headers=writer)
    assert adjusted.status_code == 200, adjusted.text
    assert (adjusted.json()["version"], adjusted.json()["adjustment_reason"]) == (2, "price_adjusted")
    vague = await gw.client.post(f"{doc}/adjust", params=US, json={**adjustment, "reason": "other"}, headers=writer)
    assert pointers(vague) == ["/description"]
    moved = {**adjustment, "transaction": quote_body(company="STRATA-DE")}
    assert pointers(await gw.client.post(f"{doc}/adjust", params=US, json=moved, headers=writer)) == [
        "/transaction/company"
    ]
    incomplete = {**adjustment, "transaction": quote_body(ship_to={"country": "US", "region": "CA"})}
    response = await gw.client.post(f"{doc}/adjust", params=US, json=incomplete, headers=writer)
    assert pointers(response) == ["/transaction/ship_to/postal_code"]
    voided = await gw.client.post(f"{doc}/void", params=US, json={"reason": "post_failed"}, headers=writer)
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    assert (await gw.client.post(f"{doc}/void", params=US, json={}, headers=writer)).json()["status"] == "voided"
    locked = await gw.client.post(f"{doc}/adjust", params=US, json=adjustment, headers=writer)
    assert locked.status_code == 409 and problem(locked)["type"].endswith("/conflict")
    recreated = await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "INV-V"}, headers=writer)
    assert recreated.status_code == 409


async def test_unknown_transactions_are_404(gw: Gateway, writer: dict[str, str]) -> None:
    for response in (
        await gw.client.get(f"{TAX}/transactions/NOPE", params=US, headers=writer),
        await gw.client.post(f"{TAX}/transactions/NOPE/void", params=US, json={}, headers=writer),
        await gw.client.post(
            f"{TAX}/transactions/NOPE/adjust",
            params=US,
            json={"reason": "bad_debt", "transaction": quote_body()},
            headers=writer,
        ),
        await gw.client.get(f"{TAX}/transactions/NOPE", params={"company": "NOWHERE"}, headers=writer),
    ):
        assert response.status_code == 404 and problem(response)["detail"].startswith("No tax transaction NOPE")


async def test_a_sale_and_a_return_under_one_code_are_told_apart_by_kind(gw: Gateway, writer: dict[str, str]) -> None:
    await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "INV-R"}, headers=writer)
    credit = {**quote_body(kind="return", lines=[{"amount": usd("-1000.00")}]), "code": "INV-R"}
    returned = await gw.client.post(f"{TAX}/transactions", json=credit, headers=writer)
    assert returned.status_code == 201 and returned.json()["total_tax"] == usd("-86.25")
    ambiguous = await gw.client.get(f"{TAX}/transactions/INV-R", params=US, headers=writer)
    assert ambiguous.status_code == 409
    one = await gw.client.get(f"{TAX}/transactions/INV-R", params={**US, "kind": "return"}, headers=writer)
    assert one.status_code == 200 and one.json()["kind"] == "return"


async def test_vendor_trouble_is_a_retryable_problem(gw: Gateway, writer: dict[str, str]) -> None:
    sandbox = sandbox_of(gw)
    sandbox.faults.add(FaultRule(kind="status", status=503, count=4))
    down = await gw.client.post(f"{TAX}/quotes", json=quote_body(), headers=writer)
    assert down.status_code == 503 and problem(down)["type"].endswith("/upstream-unavailable")
    assert int(down.headers["retry-after"]) >= 1
    sandbox.faults.add(FaultRule(kind="status", status=429, retry_after=7, count=1))
    throttled = await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "INV-T"}, headers=writer)
    assert throttled.status_code == 503 and throttled.headers["retry-after"] == "7"
    assert problem(throttled)["type"].endswith("/upstream-rate-limited")
    gw.app.state.tax.connector.config = AvalaraConfig(timeout_seconds=0.05, max_retries=1, backoff_base_seconds=0.001)
    sandbox.faults.add(FaultRule(kind="timeout", latency_seconds=0.3))
    slow = await gw.client.get(f"{TAX}/transactions/INV-T", params=US, headers=writer)
    assert slow.status_code == 504 and problem(slow)["type"].endswith("/upstream-timeout")


async def test_an_open_circuit_answers_at_once(gw: Gateway, writer: dict[str, str]) -> None:
    breaker = CircuitBreaker("avalara", CircuitBreakerConfig(failure_threshold=2, open_seconds=30))
    gw.app.state.tax.connector.breaker = gw.app.state.components.circuit_breakers["avalara"] = breaker
    sandbox_of(gw).faults.add(FaultRule(kind="status", status=500, count=2 * (1 + FAST.max_retries)))
    for _ in range(2):
        assert (await gw.client.post(f"{TAX}/quotes", json=quote_body(), headers=writer)).status_code == 503
    requests = sandbox_of(gw).faults.counts()["requests"]
    refused = await gw.client.post(f"{TAX}/quotes", json=quote_body(), headers=writer)
    assert refused.status_code == 503 and problem(refused)["type"].endswith("/upstream-circuit-open")
    assert int(refused.headers["retry-after"]) > 1 and sandbox_of(gw).faults.counts()["requests"] == requests
    ready = await gw.client.get("/health/ready")
    assert ready.json()["vendors"]["avalara"]["circuit"] == "open"


async def test_the_sandbox_is_mounted_and_keeps_its_state_across_a_restart(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        writer = await gw.bearer("system:tax:read system:tax:write")
        created = await gw.client.post(f"{TAX}/transactions", json={**quote_body(), "code": "INV-P"}, headers=writer)
        assert created.status_code == 201
        ping = await gw.client.get("/sandbox/avalara/api/v2/utilities/ping", auth=_account(gw))
        assert ping.json()["authenticated"] is True
    assert (tmp_path / "sandboxes" / "avalara" / "avalara.json").exists()
    async with running_gateway(tmp_path) as gw:
        reader = await gw.bearer("system:tax:read")
        again = await gw.client.get(f"{TAX}/transactions/INV-P", params=US, headers=reader)
        assert again.status_code == 200 and again.json()["total_tax"] == usd("86.25")
        vendor = await gw.client.get(
            "/sandbox/avalara/api/v2/companies/STRATA-US/transactions/INV-P", auth=_account(gw)
        )
        assert vendor.status_code == 200 and vendor.json()["status"] == "Committed"


def _account(gw: Any) -> tuple[str, str]:
    """The embedded AvaTax sandbox's account id and license key (random per state directory)."""
    avalara = gw.app.state.settings.avalara
    return avalara.account_id, avalara.license_key

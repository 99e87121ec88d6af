"""A burst of 200 committed tax transactions through the governed API while AvaTax misbehaves.

The sandbox fails 30% of its calls: 10% with a 500 before anything is applied, 10% with a 503
*after* the transaction was recorded (``lost_response``: the answer is lost), and 10% with a
429 carrying ``Retry-After``. The connector retries ``createoradjust`` (the document code is the
key); what still fails reaches the caller as a retryable problem, and the caller repeats the
same request with the same ``Idempotency-Key``. In the end every transaction is recorded exactly
once by the sandbox's own counts: 200 documents, 200 creates, no replacement, no adjustment.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import httpx

from apis.system.kit.circuit_breaker import CircuitBreaker, CircuitBreakerConfig
from apis.system.tax.connectors.avalara import AvalaraConfig
from sandboxes.avalara import AvalaraSandbox
from sandboxes.faults import FaultRule
from tests.support.avalara import quote_body
from tests.support.harness import running_gateway

BURST = 200
SOURCES = 8
"""Callers come from several addresses, as they would: one address may not send 200 requests a second."""
FAST = AvalaraConfig(timeout_seconds=1.0, max_retries=3, backoff_base_seconds=0.002, backoff_max_seconds=0.5)
DEADLINE_SECONDS = (1 + FAST.max_retries) * FAST.timeout_seconds + FAST.max_retries * FAST.backoff_max_seconds + 5.0
"""No request may take longer: every attempt and backoff at its ceiling, plus slack for the one event
loop that serves all 200 callers, the gateway and the sandbox at once on a shared machine."""
RETRYABLE = {503, 504}


def faults() -> list[FaultRule]:
    """10% 500 before the write, 10% 503 after it, 10% 429 (probabilities apply in turn)."""
    vendor = "/api/v2/"
    return [
        FaultRule(kind="status", status=500, probability=0.10, path_prefix=vendor),
        FaultRule(kind="lost_response", status=503, probability=0.10 / 0.90, path_prefix=vendor),
        FaultRule(kind="status", status=429, retry_after=0.01, probability=0.10 / 0.80, path_prefix=vendor),
    ]


async def test_a_burst_of_committed_transactions_is_recorded_exactly_once(tmp_path: Path) -> None:
    async with running_gateway(tmp_path) as gw:
        connector = gw.app.state.tax.connector
        connector.config = FAST
        connector.breaker = CircuitBreaker("avalara", CircuitBreakerConfig(failure_threshold=10, open_seconds=0.05))
        sandbox: AvalaraSandbox = gw.app.state.components.sandbox_apps["avalara"]
        client_id, secret = await gw.create_client("system:tax:write", tier="internal")
        headers = {"Authorization": f"Bearer {await gw.token(client_id, secret)}"}
        sandbox.faults.add(*faults())

        clients = [
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gw.app, client=(f"127.0.0.{n + 1}", 40000)),
                base_url="http://127.0.0.1:8080",
                timeout=30,
            )
            for n in range(SOURCES)
        ]
        first_statuses: Counter[int] = Counter()
        retried_statuses: Counter[int] = Counter()
        slowest = 0.0

        async def caller(number: int) -> dict[str, object]:
            nonlocal slowest
            code = f"BURST-{number:03d}"
            body = {**quote_body(customer_id=f"CUST-{number}"), "code": code}
            keyed = {**headers, "Idempotency-Key": f"burst-{number}"}
            client = clients[number % SOURCES]
            for attempt in range(30):
                started = time.perf_counter()
                response = await client.post("/system/tax/v1/transactions", json=body, headers=keyed)
                slowest = max(slowest, time.perf_counter() - started)
                (first_statuses if attempt == 0 else retried_statuses)[response.status_code] += 1
                if response.status_code == 201:
                    transaction: dict[str, object] = response.json()
                    return transaction
                assert response.status_code in RETRYABLE, response.text
                assert response.headers["content-type"].startswith("application/problem+json")
                if response.status_code == 503:
                    assert int(response.headers["retry-after"]) >= 1
                # A real caller waits Retry-After; the test retries after a moment to stay fast.
                await asyncio.sleep(0.005)
            raise AssertionError(f"{code} was never recorded")

        try:
            started = time.perf_counter()
            results = await asyncio.gather(*(caller(n) for n in range(BURST)))
            elapsed = time.perf_counter() - started
        finally:
            sandbox.faults.clear()
            for client in clients:
                await client.aclose()

        assert sorted(str(r["code"]) for r in results) == [f"BURST-{n:03d}" for n in range(BURST)]
        assert {(r["status"], r["version"]) for r in results} == {("committed", 1)}
        counts = sandbox.store.counts()
        assert counts["transactions"] == BURST
        assert counts["transactions_by_status"] == {"Committed": BURST}
        assert counts["writes_applied"] == {"create": BURST}  # no replacement, no adjustment, no duplicate
        injected = sandbox.faults.counts()["faults_injected"]
        assert injected.get("lost_response", 0) >= 5 and injected.get("status", 0) >= 20, injected
        assert set(first_statuses) <= {201, *RETRYABLE} and set(retried_statuses) <= {201, *RETRYABLE}
        assert slowest < DEADLINE_SECONDS, f"a request took {slowest:.2f}s"
        print(f"burst: {elapsed:.2f}s, first answers {dict(first_statuses)}, retries {dict(retried_statuses)}, "
              f"faults {injected}")  # fmt: skip

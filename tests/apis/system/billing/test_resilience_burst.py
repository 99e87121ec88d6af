"""Bursts of 200 concurrent writes through the billing and payments APIs while Stripe misbehaves.

The sandbox answers 20% of writes with a 5xx — half of them *after* applying the write (the
answer is lost) — and 10% with 429 + ``Retry-After``. Callers retry with their own
Idempotency-Key when told to (503/504/429, honouring a short ``Retry-After``); at the end the
sandbox holds every write exactly once and no caller ever saw anything but success or a
retryable problem. Settings are fast: millisecond backoffs, short deadlines, a breaker that
re-closes in 50 ms.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from apis.system.kit.circuit_breaker import CircuitBreakerConfig
from sandboxes.faults import FaultRule
from tests.support.harness import Gateway
from tests.support.stripe_gateway import speed_up, stripe_sandbox

BURST = 200
CALLER_ATTEMPTS = 12
RETRYABLE = frozenset({429, 503, 504})
FAULTS = [
    FaultRule(kind="status", status=500, method="POST", path_prefix="/v1/", probability=0.10),
    FaultRule(kind="lost_response", status=502, method="POST", path_prefix="/v1/", probability=0.10 / 0.90),
    FaultRule(kind="status", status=429, retry_after=0.01, method="POST", path_prefix="/v1/", probability=0.10 / 0.80),
]
"""In order, each fires on what the ones before let through: 10% 5xx before, 10% 5xx after the write, 10% 429."""


pytestmark = pytest.mark.asyncio(loop_scope="package")


@pytest.fixture
def burst_gw(gw: Gateway) -> Iterator[Gateway]:
    """The shared gateway with a breaker that re-closes in 50 ms and no webhook deliveries (less noise)."""
    speed_up(gw, breaker=CircuitBreakerConfig(failure_threshold=5, open_seconds=0.05))
    webhooks = stripe_sandbox(gw).webhooks
    url, secret = webhooks.url, webhooks.secret
    webhooks.configure("", "")
    yield gw
    webhooks.configure(url, secret)


async def _burst(
    gw: Gateway, path: str, body_for: Callable[[int], dict[str, Any]], scopes: str
) -> tuple[list[httpx.Response], Counter[int]]:
    """Send ``BURST`` writes at once (four source addresses); each caller retries what is retryable."""
    headers = await gw.bearer(scopes, tier="internal")
    seen: Counter[int] = Counter()
    clients = [
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=gw.app, client=(f"10.0.0.{n}", 40000)), base_url="http://gw"
        )
        for n in range(1, 5)
    ]

    async def caller(index: int) -> httpx.Response:
        client = clients[index % len(clients)]
        keyed = {**headers, "Idempotency-Key": f"burst-{index}"}
        for _ in range(CALLER_ATTEMPTS):
            response = await client.post(path, json=body_for(index), headers=keyed)
            seen[response.status_code] += 1
            if response.status_code not in RETRYABLE:
                return response
            await asyncio.sleep(min(float(response.headers.get("retry-after", "0.01")), 0.05))
        return response

    try:
        responses = await asyncio.gather(*(caller(i) for i in range(BURST)))
    finally:
        for client in clients:
            await client.aclose()
    return list(responses), seen


async def test_billing_burst_creates_every_customer_exactly_once(burst_gw: Gateway) -> None:
    gw = burst_gw
    sandbox = stripe_sandbox(gw)
    before = sandbox.counts()["writes_applied"].get("customer", 0)
    sandbox.faults.add(*FAULTS)
    responses, seen = await _burst(
        gw, "/system/billing/v1/customers", lambda i: {"name": f"Burst {i}", "external_id": f"cus_burst{i}"},
        "system:billing:write",
    )  # fmt: skip
    injected = sandbox.faults.counts()["faults_injected"]
    sandbox.faults.clear()
    assert {r.status_code for r in responses} == {201}, seen
    assert set(seen) <= {201} | RETRYABLE, seen
    assert injected.get("lost_response", 0) > 5 and injected.get("status", 0) > 10  # the faults really happened
    stored = [
        c
        for c in sandbox.store.objects["customer"].values()
        if c["metadata"].get("strata_id", "").startswith("cus_burst")
    ]
    assert Counter(c["metadata"]["strata_id"] for c in stored) == Counter(f"cus_burst{i}" for i in range(BURST))
    assert sandbox.counts()["writes_applied"]["customer"] - before == BURST
    assert len({r.json()["id"] for r in responses}) == BURST


async def test_payments_burst_charges_every_payment_exactly_once(burst_gw: Gateway) -> None:
    gw = burst_gw
    sandbox = stripe_sandbox(gw)
    sandbox.faults.add(*FAULTS)
    body = lambda i: {  # noqa: E731
        "amount": {"amount": "12.50", "currency": "EUR"}, "payment_method": "pm_card_visa", "confirm": True,
        "external_id": f"pay_burst{i}",
    }  # fmt: skip
    responses, seen = await _burst(gw, "/system/payments/v1/payment-intents", body, "system:payments:write")
    sandbox.faults.clear()
    assert {r.status_code for r in responses} == {201}, seen
    assert set(seen) <= {201} | RETRYABLE, seen
    intents = [
        p
        for p in sandbox.store.objects["payment_intent"].values()
        if p["metadata"].get("strata_id", "").startswith("pay_burst")
    ]
    assert Counter(p["metadata"]["strata_id"] for p in intents) == Counter(f"pay_burst{i}" for i in range(BURST))
    assert {p["status"] for p in intents} == {"succeeded"}
    charges = [c for c in sandbox.store.objects["charge"].values() if c["payment_intent"] in {p["id"] for p in intents}]
    assert len(charges) == BURST  # one charge per payment: nobody was charged twice

"""A steady mixed load on a cluster of gateways, recording what each request got, by phase.

Used by the fault suite (``tests/apis/process/test_faults.py``) and by ``make soak``
(``bench/soak.py``): governed reads of the operations API and governed writes with an
``Idempotency-Key`` that start quote-to-cash orders, spread over the live gateways.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field

import httpx

from tests.support.cluster import OPERATIONS, QUOTE_TO_CASH, Cluster


@dataclass
class Load:
    """The steady load and what it saw: one record per request, by phase."""

    cluster: Cluster
    deals: list[dict[str, str]]
    phase: str = "steady"
    submit_every_seconds: float = 0.2
    """Pause between two order submissions (governed writes with an ``Idempotency-Key``)."""
    read_every_seconds: float = 0.05
    """Pause between two governed reads (the operations API)."""
    accepted: dict[str, str] = field(default_factory=dict)
    """Opportunity → transaction id, for every submission answered 202."""
    seen: dict[str, list[tuple[str, str, float]]] = field(default_factory=lambda: defaultdict(list))
    """Phase → (kind, outcome, seconds) of each request."""
    _next: int = 0

    def _gateways(self) -> list[str]:
        return [g.url for g in self.cluster.gateways if g.process is not None and g.process.poll() is None]

    async def _request(self, kind: str, sending: Awaitable[httpx.Response]) -> httpx.Response | None:
        started = time.monotonic()
        response: httpx.Response | None
        try:
            response = await sending
            outcome = str(response.status_code)
        except httpx.HTTPError as exc:
            response, outcome = None, type(exc).__name__
        self.seen[self.phase].append((kind, outcome, time.monotonic() - started))
        return response

    async def submit_forever(self, client: httpx.AsyncClient) -> None:
        while self._next < len(self.deals):
            deal = self.deals[self._next]
            gateways = self._gateways()
            url = f"{gateways[self._next % len(gateways)]}{QUOTE_TO_CASH}"
            self._next += 1
            headers = {**self.cluster.headers, "Idempotency-Key": f"fault-{deal['opportunity_id']}"}
            body = {"opportunity_id": deal["opportunity_id"]}
            response = await self._request("write", client.post(url, json=body, headers=headers))
            if response is not None and response.status_code == 202:
                self.accepted[deal["opportunity_id"]] = response.json()["transaction"]["id"]
            elif response is not None and response.status_code == 503:
                self._next -= 1  # refused, nothing written: sent again (same key) on the next turn
            await asyncio.sleep(self.submit_every_seconds)

    async def read_forever(self, client: httpx.AsyncClient) -> None:
        turn = 0
        while True:
            gateways = self._gateways()
            url = f"{gateways[turn % len(gateways)]}{OPERATIONS}/transactions"
            turn += 1
            await self._request("read", client.get(url, params={"limit": 5}, headers=self.cluster.headers))
            await asyncio.sleep(self.read_every_seconds)

    def report(self) -> dict[str, dict[str, object]]:
        summary: dict[str, dict[str, object]] = {}
        for phase, records in self.seen.items():
            latencies = sorted(seconds for _, _, seconds in records)
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0.0
            summary[phase] = {
                "served": sum(outcome.startswith("2") for _, outcome, _ in records),
                "errors": dict(
                    Counter(f"{kind} {outcome}" for kind, outcome, _ in records if not outcome.startswith("2"))
                ),
                "p99_ms": round(p99 * 1000, 1),
            }
        return summary

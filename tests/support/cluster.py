"""One harness for the crash, storm and scale-out tests: vendors as their own process, gateway
processes with the workflow engine that a test can SIGKILL and restart, and the checks that
every order ended once at every vendor.

The vendors (``strata sandboxes serve``) outlive every gateway; deals are made through the CRM
sandbox's control API; what the vendors hold is read back in their own dialects (Stripe's
search and list API), not through the gateway under test.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.settings import load_settings
from gateway.vendors import VENDORS
from tests.support.procs import GatewayProcess, SandboxesProcess, provision_token, start_all

QUOTE_TO_CASH = "/process/quote-to-cash/v1/orders"
OPERATIONS = "/process/operations/v1"
SETTLED = {"completed", "needs_attention", "failed", "held", "compensated", "dismissed"}
GATEWAY_SETTINGS: dict[str, Any] = {
    "workflows_enabled": True,
    "workflow_step_attempts": 4,
    "reconciliation_schedule_hour": -1,  # no daily run in the middle of a test
    "workflow_backoff_base_ms": 20,
    "workflow_backoff_max_ms": 400,
    "netsuite_signing_algorithm": "ES256",
    "netsuite_backoff_base_ms": 5,
    "netsuite_max_retries": 2,
    "log_level": "warning",
    "executor_lease_seconds": 6,
}
"""Short durable backoffs and few attempts: a storm settles in seconds, not minutes; a process that
dies for good has its workflows taken over ~6-8 s later."""


@dataclass
class Cluster:
    """Gateway processes sharing one state (SQLite file, or PostgreSQL + Redis) and the vendors."""

    root: Path
    sandboxes: SandboxesProcess
    database_url: str = ""
    redis_url: str = ""
    gateways: list[GatewayProcess] = field(default_factory=list)
    token: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    """Settings of every gateway of this cluster, over :data:`GATEWAY_SETTINGS`."""

    def start(self, count: int = 1) -> Cluster:
        """Provision the state (schema, keys, one client with every process scope) and start ``count`` gateways."""
        settings = load_settings(self._settings(0), environ={})
        scopes = ["process:quote-to-cash:write", "process:operations:read", "process:operations:write"]
        # provision_token runs its own event loop: off this (the test's) loop's thread.
        with ThreadPoolExecutor(1) as pool:
            self.token = pool.submit(provision_token, settings, scopes, name="cluster-test").result()
        self.gateways = [self._gateway(number) for number in range(count)]
        start_all(*self.gateways)
        return self

    def stop(self) -> None:
        for gateway in self.gateways:
            gateway.stop()

    def crash(self, number: int = 0) -> None:
        """SIGKILL gateway ``number``."""
        self.gateways[number].stop(crash=True)

    def restart(self, number: int = 0, **settings: Any) -> None:
        """Start gateway ``number`` again with its executor id (it recovers its workflows); ``settings``
        override the cluster's (``release_version="1.1.0"``: a newer release on the same slot)."""
        self.gateways[number] = self._gateway(number, port=self.gateways[number].port, **settings).start()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def vendor_url(self, vendor: str) -> str:
        return f"{self.sandboxes.url}/sandbox/{vendor}"

    # -- the business -----------------------------------------------------------------------
    async def deals(self, client: httpx.AsyncClient, count: int, prefix: str) -> list[dict[str, str]]:
        """``count`` won deals, each on a new account (so every account has exactly one order)."""
        deals = [
            {
                "account": {"name": f"{prefix} {number:03d}"},
                "lines": [
                    {"product_code": "STRATA-CORE", "quantity": 1, "unit_price": 12000},
                    {"product_code": "STRATA-CRM-CONNECTOR", "quantity": 2, "unit_price": 1800},
                ],
            }
            for number in range(count)
        ]
        response = await client.post(
            f"{self.vendor_url('salesforce')}/_control/won-deals",
            json=deals,
            headers=self.sandboxes.admin_headers("salesforce"),
            timeout=60,
        )
        assert response.status_code == 201, response.text
        return list(response.json())

    async def submit_all(
        self, client: httpx.AsyncClient, deals: list[dict[str, str]], *, spread: bool = False
    ) -> dict[str, str]:
        """Submit every deal (round-robin over the gateways when ``spread``); opportunity → transaction id."""
        limit = asyncio.Semaphore(16)

        async def submit(number: int, deal: dict[str, str]) -> tuple[str, str]:
            gateway = self.gateways[number % len(self.gateways) if spread else 0]
            async with limit:
                response = await client.post(
                    f"{gateway.url}{QUOTE_TO_CASH}",
                    json={"opportunity_id": deal["opportunity_id"]},
                    headers={**self.headers, "Idempotency-Key": f"submit-{deal['opportunity_id']}"},
                )
            assert response.status_code == 202, response.text
            return deal["opportunity_id"], response.json()["transaction"]["id"]

        return dict(await asyncio.gather(*(submit(n, d) for n, d in enumerate(deals))))

    async def states(self, client: httpx.AsyncClient, transaction_ids: set[str]) -> dict[str, dict[str, Any]]:
        """The current view of each transaction (listing every quote-to-cash transaction, paged)."""
        found: dict[str, dict[str, Any]] = {}
        params: dict[str, Any] = {"workflow": "quote-to-cash", "limit": 200}
        gateway = next(g for g in self.gateways if g.process is not None and g.process.poll() is None)
        while True:
            page = await client.get(f"{gateway.url}{OPERATIONS}/transactions", params=params, headers=self.headers)
            assert page.status_code == 200, page.text
            body = page.json()
            found.update({t["id"]: t for t in body["items"] if t["id"] in transaction_ids})
            if body["next_cursor"] is None:
                return found
            params["cursor"] = body["next_cursor"]

    async def wait_until(
        self, client: httpx.AsyncClient, transaction_ids: set[str], *, settled: int, within: float
    ) -> dict[str, dict[str, Any]]:
        """Poll until at least ``settled`` of the transactions are in a final or exception state."""
        deadline = time.monotonic() + within
        while True:
            views = await self.states(client, transaction_ids)
            done = sum(v["state"] in SETTLED for v in views.values())
            if done >= settled:
                return views
            if time.monotonic() > deadline:
                counts = Counter(v["state"] for v in views.values())
                raise AssertionError(f"{done}/{len(transaction_ids)} settled after {within}s: {dict(counts)}")
            await asyncio.sleep(0.1)

    async def vendor_records(self, client: httpx.AsyncClient, account_id: str) -> tuple[int, int]:
        """(billing customers, billing subscriptions) the billing vendor holds for one CRM account."""
        stripe = self.vendor_url("stripe")
        key = {"Authorization": f"Bearer {self.sandboxes.credentials('stripe')['secret_key']}"}
        query = f"metadata['crm_account_id']:'{account_id}'"
        found = await client.get(f"{stripe}/v1/customers/search", params={"query": query}, headers=key)
        assert found.status_code == 200, found.text
        customers = found.json()["data"]
        subscriptions = 0
        for customer in customers:
            listed = await client.get(
                f"{stripe}/v1/subscriptions",
                params={"customer": customer["id"], "status": "all", "limit": 100},
                headers=key,
            )
            assert listed.status_code == 200, listed.text
            subscriptions += len(listed.json()["data"])
        return len(customers), subscriptions

    async def transaction(self, client: httpx.AsyncClient, transaction_id: str) -> dict[str, Any]:
        gateway = next(g for g in self.gateways if g.process is not None and g.process.poll() is None)
        response = await client.get(f"{gateway.url}{OPERATIONS}/transactions/{transaction_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def faults(self, client: httpx.AsyncClient, rules: list[dict[str, Any]] | None) -> None:
        """Put ``rules`` on every vendor (``None``: clear them)."""
        for vendor in VENDORS:
            url = f"{self.vendor_url(vendor.name)}/_control/faults"
            headers = self.sandboxes.admin_headers(vendor.name)
            response = await (
                client.delete(url, headers=headers) if rules is None else client.post(url, json=rules, headers=headers)
            )
            assert response.status_code in (201, 204), response.text

    # -- processes ------------------------------------------------------------------------------
    def _settings(self, number: int) -> dict[str, Any]:
        values: dict[str, Any] = {
            "state_dir": str(self.root / ("gateway" if not self.database_url else f"gateway-{number}")),
            "seed_demo": False,
            "public_url": "http://gateway.test",  # one issuer for every process of the cluster
            **GATEWAY_SETTINGS,
            **self.settings,
            **self.sandboxes.gateway_settings(),
            "executor_id": f"gw-{number}",
        }
        if self.database_url:
            values["database_url"] = self.database_url
            # Processes sharing a database share the key that encrypts its signing keys.
            values["master_key"] = "cluster-test-master-key-0123456789abcdef"
        if self.redis_url:
            values["redis_url"] = self.redis_url
        return values

    def _gateway(self, number: int, port: int = 0, **settings: Any) -> GatewayProcess:
        values = {**self._settings(number), **settings}
        state_dir = Path(values.pop("state_dir"))
        return GatewayProcess(state_dir, **values, **({"port": port} if port else {}))

"""Sync workflow tests in process: one gateway with the engine per module (see tests/apis/process/conftest.py)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, FINAL_STATES, OPERATIONS, SALESFORCE_CONTROL, run_ended
from tests.support.harness import Gateway, running_gateway

_NAMES = itertools.count(1)


def unique(text: str) -> str:
    """``text`` made unique in this test session (accounts and items outlive a test)."""
    return f"{text} {next(_NAMES):04d}"


@dataclass
class Sync:
    """The gateway and the bearer headers of the sync APIs and of an operations reader."""

    gw: Gateway
    writer: dict[str, str]
    reader: dict[str, str]

    @property
    def state(self) -> Any:
        """The app state: the system services (``erp``, ``billing``, ``crm``, ...) and ``process``."""
        return self.gw.app.state

    async def account(self, name: str, **account: Any) -> str:
        """A new CRM account (with one won deal, as a salesperson would leave it); its id."""
        deal = {"account": {"name": name, **account.pop("fields", {})}, "lines": [{"product_code": "STRATA-CORE"}]}
        response = await self.gw.client.post(f"{SALESFORCE_CONTROL}/won-deals", json=[{**deal, **account}])
        assert response.status_code == 201, response.text
        return str(response.json()[0]["account_id"])

    async def start(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST a run; the 202 body (its ``Location`` checked against the transaction)."""
        response = await self.gw.client.post(path, json=body, headers=self.writer)
        assert response.status_code == 202, response.text
        accepted = dict(response.json())
        assert response.headers["location"] == accepted["transaction"]["href"]
        return accepted

    async def settled(self, transaction_id: str, *, within: float = 5.0) -> dict[str, Any]:
        """The transaction (operations detail view) once final or an exception and its run has ended."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            # The run's end is read first: a view read before it may predate the last step's record.
            ended = await run_ended(self.state, transaction_id)
            response = await self.gw.client.get(f"{OPERATIONS}/transactions/{transaction_id}", headers=self.reader)
            assert response.status_code == 200, response.text
            found = dict(response.json())
            if found["state"] in FINAL_STATES and ended:
                return found
            assert asyncio.get_running_loop().time() < deadline, f"still {found['state']}: {found}"
            await asyncio.sleep(0.05)

    async def run(self, path: str, body: dict[str, Any], *, within: float = 5.0) -> dict[str, Any]:
        """Start a run and wait for it."""
        accepted = await self.start(path, body)
        return await self.settled(accepted["transaction"]["id"], within=within)


async def findings(sync: Sync, transaction_id: str, code: str) -> list[str]:
    """The details of the transaction's lineage findings of ``code``."""
    lineage = await sync.state.process.transactions.lineage(transaction_id)
    return [e.detail or "" for e in lineage if e.kind == "finding" and e.step == f"finding:{code}"]


async def events(sync: Sync, transaction_id: str) -> list[dict[str, Any]]:
    """The ``data`` of every event the transaction wrote, oldest first."""
    written = await sync.state.process.transactions.events(transaction_id)
    return [{"type": e.type, **e.data} for e in written]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sync(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Sync]:
    """One gateway with the workflow engine, shared by the module."""
    async with running_gateway(tmp_path_factory.mktemp("sync"), **FAST_PROCESS_SETTINGS) as gw:
        scopes = "process:customer-sync:write process:catalog-sync:write process:usage-to-billing:write"
        yield Sync(
            gw,
            writer=await gw.bearer(scopes, tier="internal"),
            reader=await gw.bearer("process:operations:read", tier="internal"),
        )

"""Process API tests in process: one gateway (engine on) per module, deals made in its CRM sandbox.

The workflow engine is one per process, so a module shares one gateway; every test makes
its own deals on new accounts, so tests don't see each other's records.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from tests.support.harness import Gateway, running_gateway

QUOTE_TO_CASH = "/process/quote-to-cash/v1"
OPERATIONS = "/process/operations/v1"
SALESFORCE_CONTROL = "/sandbox/salesforce/_control"
FINAL_STATES = {"completed", "needs_attention", "failed", "held", "compensated", "dismissed"}
FAST_PROCESS_SETTINGS: dict[str, Any] = {
    "workflows_enabled": True,
    "reconciliation_schedule_hour": -1,  # no daily run in the middle of a test
    "workflow_step_attempts": 3,
    "workflow_backoff_base_ms": 5,
    "workflow_backoff_max_ms": 100,
    "netsuite_signing_algorithm": "ES256",
    "netsuite_backoff_base_ms": 1,
    "netsuite_max_retries": 2,
}
"""Millisecond durable backoffs, few attempts: a vendor that stays down fails a step quickly."""
_KEYS = itertools.count()


def key() -> str:
    """A fresh Idempotency-Key."""
    return f"process-test-{next(_KEYS)}"


@dataclass
class Process:
    """The gateway plus the headers of a submitter, an operations reader and an operator."""

    gw: Gateway
    submitter: dict[str, str]
    reader: dict[str, str]
    operator: dict[str, str]

    async def deals(self, *deals: dict[str, Any]) -> list[dict[str, str]]:
        """Create Closed Won deals in the CRM sandbox: ``[{opportunity_id, account_id}]``."""
        response = await self.gw.client.post(f"{SALESFORCE_CONTROL}/won-deals", json=list(deals))
        assert response.status_code == 201, response.text
        return list(response.json())

    async def submit(self, opportunity_id: str) -> dict[str, Any]:
        """Submit an opportunity; the 202 body."""
        response = await self.gw.client.post(
            f"{QUOTE_TO_CASH}/orders",
            json={"opportunity_id": opportunity_id},
            headers={**self.submitter, "Idempotency-Key": key()},
        )
        assert response.status_code == 202, response.text
        return dict(response.json())

    async def transaction(self, transaction_id: str) -> dict[str, Any]:
        response = await self.gw.client.get(f"{OPERATIONS}/transactions/{transaction_id}", headers=self.reader)
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def settled(
        self, transaction_id: str, *, within: float = 20.0, not_state: str | None = None
    ) -> dict[str, Any]:
        """The transaction once it reached a final or exception state (other than ``not_state``) and
        its run has ended (see ``run_ended``)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            # The run's end is read first: a view read before it may predate the last step's record.
            ended = await run_ended(self.gw.app.state, transaction_id)
            found = await self.transaction(transaction_id)
            if found["state"] in FINAL_STATES and found["state"] != not_state and ended:
                return found
            assert asyncio.get_running_loop().time() < deadline, f"still {found['state']}: {found}"
            await asyncio.sleep(0.05)


async def run_ended(state: Any, transaction_id: str) -> bool:
    """Whether the transaction's workflow run has ended. Its last step writes the final state
    inside the step; the engine records that step a moment later, so a reader polling the state
    alone can see ``completed`` with the last step not yet in the lineage."""
    found = await state.process.engine.status(transaction_id)
    return found is None or found.status not in ("PENDING", "ENQUEUED")


def deal(name: str, *codes: str, **fields: Any) -> dict[str, Any]:
    """A won deal on a new US account buying ``codes`` (STRATA-CORE if none)."""
    lines = [{"product_code": code, "quantity": 2, "unit_price": 1000} for code in codes or ("STRATA-CORE",)]
    account = {"name": name, **fields.pop("account", {})}
    return {"account": account, "lines": lines, **fields}


async def _process(gw: Gateway) -> Process:
    return Process(
        gw,
        submitter=await gw.bearer("process:quote-to-cash:write", tier="internal"),
        reader=await gw.bearer("process:operations:read", tier="internal"),
        operator=await gw.bearer("process:operations:read process:operations:write", tier="internal"),
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def process(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Process]:
    """One gateway with the workflow engine, shared by the module."""
    async with running_gateway(tmp_path_factory.mktemp("process"), **FAST_PROCESS_SETTINGS) as gw:
        yield await _process(gw)

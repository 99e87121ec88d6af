"""Ledger tests in process: one gateway per module whose Stripe sandbox delivers webhooks to it.

A test sells a deal through quote-to-cash (customer in CRM, ERP and billing, linked in the
xref; a subscription with a draft invoice), then finalizes, pays, refunds or credits that
invoice at the billing system: the sandbox signs and delivers the webhooks to the gateway's
intake, which starts the ledger workflows before answering, and the test reads the outcome from
the operations API and the vendors.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from apis.canonical import BillingInvoice
from apis.process.runtime import runtime
from apis.process.transactions import Transaction
from sandboxes.stripe import StripeSandbox
from tests.apis.process.conftest import FAST_PROCESS_SETTINGS, Process, _process, deal
from tests.support.stripe_gateway import WEBHOOK_PATH, stripe_sandbox

STRIPE = "/sandbox/stripe"
CLOSED_DAY = dt.datetime(2024, 3, 15, 12, tzinfo=dt.UTC)
"""A moment in a closed accounting period (the NetSuite sandbox closed every month of 2024)."""
LEDGER_SETTINGS: dict[str, Any] = {**FAST_PROCESS_SETTINGS, "inbox_sweep_seconds": 3600}
"""Fast process settings; no sweep of the inbox after the one at start (the intake starts each
event's workflow before answering, so the tests wait for no poll)."""


@dataclass
class Ledger(Process):
    """The process fixture plus the Stripe sandbox and helpers to drive an invoice's life."""

    sandbox: StripeSandbox | None = None

    async def sold(self, name: str, *codes: str, strata_id: str | None = None, **fields: Any) -> dict[str, Any]:
        """A deal sold through quote-to-cash: ``{opportunity_id, account_id, subscription_id, invoice_id}``.

        ``strata_id``: the account carries this canonical id in the CRM (``Strata_Id__c``) before the sale.
        """
        [made] = await self.deals(deal(name, *codes, **fields))
        if strata_id is not None:
            patched = await self.gw.client.patch(
                f"/sandbox/salesforce/_control/records/Account/{made['account_id']}", json={"Strata_Id__c": strata_id}
            )
            assert patched.status_code == 204, patched.text
        done = await self.settled((await self.submit(made["opportunity_id"]))["transaction"]["id"])
        assert done["state"] == "completed", done
        subscription_id = next(r["id"] for s in done["steps"] for r in s["records"] if r["object"] == "subscription")
        subscription = await self.gw.app.state.billing.get_subscription(subscription_id)
        assert subscription.latest_invoice_id is not None
        return {**made, "subscription_id": subscription_id, "invoice_id": subscription.latest_invoice_id}

    async def finalize(self, invoice_id: str) -> BillingInvoice:
        """Finalize a draft invoice at billing (its ``invoice.finalized`` webhook follows)."""
        return await self.gw.app.state.billing.finalize_invoice(invoice_id, key=f"finalize-{invoice_id}")

    async def finalize_in_closed_period(self, invoice_id: str) -> BillingInvoice:
        """Finalize a draft invoice on 15 March 2024: a period the NetSuite sandbox closed."""
        assert self.sandbox is not None
        account = self.sandbox.account
        # The sandbox has no public clock control: its account's clock is swapped for the one call
        # that finalizes, so the invoice is dated like one finalized before the books were closed.
        clock, account._clock = account._clock, lambda: CLOSED_DAY.timestamp()
        try:
            return await self.finalize(invoice_id)
        finally:
            account._clock = clock

    async def stripe(self, path: str, **form: Any) -> dict[str, Any]:
        """POST to the Stripe sandbox's own API (what a customer's payment or a support agent does)."""
        response = await self.gw.client.post(
            f"{STRIPE}{path}",
            data=form,
            headers={"Authorization": f"Bearer {self.gw.app.state.settings.stripe.secret_key}"},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def pay(self, invoice_id: str) -> dict[str, Any]:
        """The customer pays the invoice by card (``invoice.paid`` follows)."""
        return await self.stripe(f"/v1/invoices/{invoice_id}/pay", payment_method="pm_card_visa")

    async def transaction_of(self, workflow: str, business_key: str, *, within: float = 5.0) -> Transaction:
        """The transaction the inbox consumer opened for ``business_key`` (waits for the webhook)."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            found = await runtime().transactions.find(workflow, business_key)
            if found is not None:
                return found
            assert asyncio.get_running_loop().time() < deadline, f"no {workflow} transaction for {business_key}"
            await asyncio.sleep(0.02)


@asynccontextmanager
async def running_ledger(state_dir: Path, **overrides: Any) -> AsyncIterator[Ledger]:
    """A gateway with the workflow engine (``LEDGER_SETTINGS`` and ``overrides``) whose Stripe sandbox
    delivers its webhooks to it, in process."""
    from tests.support.harness import running_gateway

    async with running_gateway(state_dir, **{**LEDGER_SETTINGS, **overrides}) as gw:
        sandbox = stripe_sandbox(gw)
        secret = gw.app.state.settings.stripe.webhook_secrets[0]  # the state's random sandbox secret
        sandbox.webhooks.configure(f"http://127.0.0.1:8080{WEBHOOK_PATH}", secret)
        sandbox.webhooks.transport = httpx.ASGITransport(app=gw.app, client=("127.0.0.1", 40002))
        sandbox.webhooks.backoff_seconds = 0.001
        sandbox.webhooks.enabled_events = (*sandbox.webhooks.enabled_events, "credit_note.created")
        base = await _process(gw)
        try:
            yield Ledger(base.gw, base.submitter, base.reader, base.operator, sandbox=sandbox)
        finally:
            await sandbox.webhooks.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ledger(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ledger]:
    """One gateway with the workflow engine whose Stripe sandbox delivers webhooks to it, in process."""
    async with running_ledger(tmp_path_factory.mktemp("ledger")) as ledger:
        yield ledger

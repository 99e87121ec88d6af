"""Records created through Strata (quote-to-cash) reconcile as consistent; a real duplicate does not.

Quote-to-cash links every customer it matches or creates in the xref store: a CRM account
without a canonical id gets one (its billing and ERP customers carry none of their own), and a
prospect gets a new billing customer. Reconciling after that finds the seed's documented
inconsistencies and nothing more; a second billing customer for one account is then found.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from apis.canonical import BillingCustomerCreate
from apis.process.runtime import runtime
from sandboxes.netsuite.seed import salesforce_org
from tests.apis.process.reconciliation.expected import DEFAULT_SEED, expected_mismatches, key_of
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished, reconciliation_gateway
from tests.support.harness import Gateway

ORDERS = "/process/quote-to-cash/v1/orders"
OPERATIONS = "/process/operations/v1"
OPEN_DAY = "2025-06-02"
"""An order date in an open accounting period (the prospect's deal closed in a closed one)."""


def _deals() -> tuple[str, str]:
    """A won deal of a customer account without a canonical id, and a won deal of a prospect."""
    org = salesforce_org(DEFAULT_SEED)
    accounts = {a["Id"]: a for a in org.all("Account")}
    won = [o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"]
    customer = next(
        o["Id"]
        for o in won
        if accounts[o["AccountId"]]["Type"] == "Customer"
        and not accounts[o["AccountId"]]["Strata_Id__c"]
        and o["CloseDate"] >= "2025-01-01"
    )
    prospect = next(
        o["Id"]
        for o in won
        if accounts[o["AccountId"]]["Type"] == "Prospect" and not accounts[o["AccountId"]]["Strata_Id__c"]
    )
    return customer, prospect


async def _settled(gateway: Gateway, transaction_id: str, headers: dict[str, str]) -> dict[str, object]:
    deadline = time.monotonic() + 60
    while True:
        found = (await gateway.client.get(f"{OPERATIONS}/transactions/{transaction_id}", headers=headers)).json()
        if found["state"] in ("completed", "needs_attention", "failed"):
            return dict(found)
        assert time.monotonic() < deadline, found
        await asyncio.sleep(0.2)


async def test_customers_created_through_strata_are_consistent(tmp_path: Path) -> None:
    customer_deal, prospect_deal = _deals()
    async with reconciliation_gateway(tmp_path) as gateway:
        headers = await gateway.bearer(
            f"{SCOPES} process:quote-to-cash:write process:operations:read process:operations:write"
        )
        for deal in (customer_deal, prospect_deal):
            submitted = await gateway.client.post(
                ORDERS, json={"opportunity_id": deal}, headers={**headers, "Idempotency-Key": deal}
            )
            assert submitted.status_code == 202, submitted.text
            transaction = await _settled(gateway, submitted.json()["transaction"]["id"], headers)
            if transaction["state"] == "needs_attention":  # the prospect's deal: closed period, replayed in an open one
                replay = await gateway.client.post(
                    f"{OPERATIONS}/exceptions/{transaction['id']}/replay",
                    json={"input": {"order_date": OPEN_DAY}},
                    headers=headers,
                )
                assert replay.status_code == 202, replay.text
                transaction = await _settled(gateway, str(transaction["id"]), headers)
            assert transaction["state"] == "completed", transaction
        links = await runtime().xref.links(
            "customer", (await runtime().xref.canonical_id("customer", "salesforce", _account(prospect_deal))) or ""
        )
        assert set(links) == {"salesforce", "netsuite", "stripe"}  # the prospect's new billing customer is linked

        expected = {k for k in expected_mismatches("netsuite", "2025-06")}
        started = await gateway.client.post(RUNS, json={"period": "2025-06"}, headers=headers)
        report = await finished(gateway, started.headers["Location"], headers)
        assert report["status"] == "completed", report["error"]
        assert {key_of(m) for m in report["mismatches"]} == expected

        account = _account(customer_deal)
        duplicate = await runtime().billing.create_customer(
            BillingCustomerCreate(name="Second billing customer", crm_account_id=account),
            key=f"test-duplicate-{account}",
        )
        again = await gateway.client.post(RUNS, json={"period": "2025-06"}, headers=headers)
        report = await finished(gateway, again.headers["Location"], headers)
        extra = [m for m in report["mismatches"] if key_of(m) not in expected]
        assert [(m["kind"], m["customer_id"]) for m in extra] == [("duplicate_customer", account)]
        assert duplicate.id in extra[0]["billing_ids"] and len(extra[0]["billing_ids"]) == 2


def _account(opportunity_id: str) -> str:
    org = salesforce_org(DEFAULT_SEED)
    return next(str(o["AccountId"]) for o in org.all("Opportunity") if o["Id"] == opportunity_id)

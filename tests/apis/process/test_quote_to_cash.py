"""Quote-to-cash end to end in process: the API, the workflow, the vendors' records, the lineage."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.apis.process.conftest import OPERATIONS, QUOTE_TO_CASH, Process, deal, key
from tests.support.harness import problem, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")
TRANSACTION_ID = re.compile(r"^txn_[0-9A-HJKMNP-TV-Z]{26}$")


async def vendor_records(process: Process, account_id: str) -> dict[str, int]:
    """How many customers and subscriptions the vendors hold for one account.

    (Sales orders and ERP customers are unique per external id at the ERP itself.)
    """
    state = process.gw.app.state
    erp_customers = (await state.erp.search_customers(external_id=account_id, limit=50)).items
    billing = await state.billing.connector.get(
        "/v1/customers/search", {"query": f"metadata['crm_account_id']:'{account_id}'", "limit": 100}
    )
    billing_customers = billing["data"]
    subscriptions = 0
    for customer in billing_customers:
        subscriptions += len((await state.billing.list_subscriptions(customer_id=customer["id"], limit=100)).items)
    return {
        "erp_customers": len(erp_customers),
        "billing_customers": len(billing_customers),
        "subscriptions": subscriptions,
    }


async def test_a_won_deal_becomes_customer_subscription_and_order_with_its_lineage(process: Process) -> None:
    [made] = await process.deals(deal("Lineage Corp", "STRATA-CORE", "STRATA-ERP-CONNECTOR"))
    accepted = await process.submit(made["opportunity_id"])
    transaction = accepted["transaction"]
    assert TRANSACTION_ID.match(transaction["id"])
    assert accepted["created"] is True
    assert transaction["state"] == "accepted"

    done = await process.settled(transaction["id"])
    assert done["state"] == "completed", done
    assert done["customer_id"] == made["account_id"]
    assert [s["name"] for s in done["steps"]] == [
        "validate",
        "quote_tax",
        "sync_erp_customer",
        "sync_billing_customer",
        "create_subscription",
        "create_sales_order",
        "activate_contract",
        "update_crm",
    ]
    assert all(s["attempts"] == 1 and s["error"] is None and s["duration_ms"] is not None for s in done["steps"])
    records = {(r["system"], r["object"]): r["id"] for s in done["steps"] for r in s["records"]}
    assert set(records) == {
        ("netsuite", "customer"),
        ("stripe", "customer"),
        ("stripe", "subscription"),
        ("netsuite", "sales_order"),
        ("salesforce", "opportunity"),
    }
    assert [e["type"] for e in done["events"]] == ["strata.contract.activated"]

    # The records exist at the vendors, as the lineage says.
    state = process.gw.app.state
    subscription = await state.billing.get_subscription(records[("stripe", "subscription")])
    assert subscription.customer_id == records[("stripe", "customer")]
    assert sorted(item.quantity or 0 for item in subscription.items) == [2, 2]
    order = await state.erp.get_sales_order(records[("netsuite", "sales_order")])
    assert order.external_id == made["opportunity_id"]
    assert order.customer_id == records[("netsuite", "customer")]
    assert order.total.amount.startswith("4000")
    opportunity = await state.crm.get_opportunity(made["opportunity_id"])
    assert opportunity.billing_status == "pending"


async def test_the_same_opportunity_any_number_of_times_is_one_transaction_and_one_of_each_record(
    process: Process,
) -> None:
    [made] = await process.deals(deal("Repeat Ltd"))
    results = await asyncio.gather(*(process.submit(made["opportunity_id"]) for _ in range(6)))
    ids = {r["transaction"]["id"] for r in results}
    assert len(ids) == 1
    assert sum(r["created"] for r in results) == 1
    [transaction_id] = ids
    assert (await process.settled(transaction_id))["state"] == "completed"
    again = await process.submit(made["opportunity_id"])
    assert again["transaction"]["id"] == transaction_id and again["created"] is False
    assert again["transaction"]["state"] == "completed"

    counts = await vendor_records(process, made["account_id"])
    assert counts == {"erp_customers": 1, "billing_customers": 1, "subscriptions": 1}


async def test_an_existing_account_reuses_its_customers(process: Process) -> None:
    [first] = await process.deals(deal("Returning Customer Inc"))
    done = await process.settled((await process.submit(first["opportunity_id"]))["transaction"]["id"])
    assert done["state"] == "completed"
    [second] = await process.deals({"account_id": first["account_id"], "lines": [{"product_code": "STRATA-CORE"}]})
    again = await process.settled((await process.submit(second["opportunity_id"]))["transaction"]["id"])
    assert again["state"] == "completed"

    def customers(t: dict[str, Any]) -> set[tuple[str, str]]:
        return {(r["system"], r["id"]) for s in t["steps"] for r in s["records"] if r["object"] == "customer"}

    assert customers(again) == customers(done)
    counts = await vendor_records(process, first["account_id"])
    assert counts == {"erp_customers": 1, "billing_customers": 1, "subscriptions": 2}


async def test_submitting_needs_a_key_a_crm_id_and_the_write_scope(process: Process) -> None:
    client = process.gw.client
    url = f"{QUOTE_TO_CASH}/orders"
    body = {"opportunity_id": "006000000000001AAA"}

    missing_key = await client.post(url, json=body, headers=process.submitter)
    assert missing_key.status_code == 400
    assert problem(missing_key)["errors"][0]["name"] == "Idempotency-Key"

    for wrong, pointer in (
        ({"opportunity_id": "not an id!"}, "/opportunity_id"),
        ({}, ""),
        ({"opportunity_id": "006000000000001AAA", "extra": 1}, ""),
    ):
        response = await client.post(url, json=wrong, headers={**process.submitter, "Idempotency-Key": key()})
        assert response.status_code == 422, response.text
        if pointer:
            assert any(e.get("pointer") == pointer for e in problem(response)["errors"])

    assert (await client.post(url, json=body, headers={"Idempotency-Key": key()})).status_code == 401
    forbidden = await client.post(url, json=body, headers={**process.reader, "Idempotency-Key": key()})
    assert forbidden.status_code == 403


async def test_an_opportunity_the_crm_does_not_have_is_an_exception_owned_by_the_crm(process: Process) -> None:
    accepted = await process.submit("006000000000404AAA")
    stopped = await process.settled(accepted["transaction"]["id"])
    assert stopped["state"] == "needs_attention"
    assert stopped["exception"]["reason_code"] == "opportunity_not_found"
    assert stopped["exception"]["owner_system"] == "salesforce"
    assert [e["type"] for e in stopped["events"]] == ["strata.transaction.needs_attention"]


async def test_a_gateway_without_the_engine_answers_503(tmp_path: Any) -> None:
    async with running_gateway(tmp_path) as gw:
        headers = await gw.bearer("process:quote-to-cash:write process:operations:read")
        response = await gw.client.post(
            f"{QUOTE_TO_CASH}/orders",
            json={"opportunity_id": "006000000000001AAA"},
            headers={**headers, "Idempotency-Key": "k"},
        )
        assert response.status_code == 503
        assert problem(response)["type"].endswith("/workflow-engine-off")
        listing = await gw.client.get(f"{OPERATIONS}/transactions", headers=headers)
        assert listing.status_code == 503


async def test_transactions_are_counted_by_workflow_and_state_in_the_metrics(process: Process) -> None:
    from apis.process.metrics import refresh

    stopped, completed = await process.deals(deal("Metrics Stopped Inc", "STRATA-NOT-A-PRODUCT"), deal("Metrics Done"))
    for made in (stopped, completed):  # one of each state this test checks, whichever tests ran before here
        await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    store = process.gw.app.state.process.transactions
    for _ in range(20):  # a transaction of another test may move between the reads: read until still
        before = await store.counts()
        await refresh(process.gw.app.state.process)
        body = (await process.gw.client.get("/metrics")).text
        if await store.counts() == before:
            break
    for state in ("completed", "needs_attention"):
        count = float(before[("quote-to-cash", state)])
        line = f'strata_process_transactions{{state="{state}",workflow="quote-to-cash"}} {count}'
        assert line in body, body[-2000:]

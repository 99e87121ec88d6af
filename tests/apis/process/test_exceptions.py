"""Exceptions and their repair: bad data stops before any write, then replay, compensate, dismiss."""

from __future__ import annotations

from typing import Any

import pytest

from apis.canonical import DocumentLineInput, InvoiceCreate
from tests.apis.process.conftest import OPERATIONS, SALESFORCE_CONTROL, Process, deal
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")
NETSUITE_CONTROL = "/sandbox/netsuite/_control"


async def no_downstream_writes(process: Process, account_id: str) -> None:
    """Neither the ERP nor billing has a customer for the account (so nothing else either)."""
    state = process.gw.app.state
    assert (await state.erp.search_customers(external_id=account_id, limit=5)).items == []
    assert await state.billing.find_customer_by_crm_account(account_id) is None


async def replay(process: Process, transaction_id: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{transaction_id}/replay", json=body or {}, headers=process.operator
    )
    assert response.status_code == 202, response.text
    assert response.headers["location"] == f"{OPERATIONS}/transactions/{transaction_id}"
    return dict(response.json())


async def test_bad_data_lands_in_exceptions_with_its_reason_and_no_write_then_replays_to_completion(
    process: Process,
) -> None:
    no_address, unmapped, closed = await process.deals(
        deal("No Address GmbH", account={"country": None, "state": None, "postal_code": None}),
        deal("Unmapped Products Inc", "STRATA-CORE", "STRATA-TELEPORTER"),
        deal("Closed Period LLC", close_date="2024-03-15"),
    )
    submitted = [await process.submit(d["opportunity_id"]) for d in (no_address, unmapped, closed)]
    stopped = [await process.settled(s["transaction"]["id"]) for s in submitted]
    reasons = [(t["state"], t["exception"]["reason_code"], t["exception"]["owner_system"]) for t in stopped]
    assert reasons == [
        ("needs_attention", "tax_address_incomplete", "salesforce"),
        ("needs_attention", "product_unmapped", "product-platform"),
        ("needs_attention", "period_closed", "netsuite"),
    ]
    assert "STRATA-TELEPORTER" in stopped[1]["exception"]["reason"]
    assert all(t["exception"]["failed_step"] == "validate" and t["exception"]["age_seconds"] >= 0 for t in stopped)
    for made in (no_address, unmapped, closed):
        await no_downstream_writes(process, made["account_id"])
    listed = await process.gw.client.get(f"{OPERATIONS}/exceptions", headers=process.reader, params={"limit": 200})
    assert {t["id"] for t in stopped} <= {t["id"] for t in listed.json()["items"]}

    # Fix each at its owner (or give corrected input) and replay.
    fixed = await process.gw.client.patch(
        f"/sandbox/salesforce/_control/records/Account/{no_address['account_id']}",
        json={"BillingCountryCode": "DE", "BillingPostalCode": "10115", "BillingCity": "Berlin"},
    )
    assert fixed.status_code == 204, fixed.text
    await replay(process, stopped[0]["id"])
    await replay(process, stopped[1]["id"], {"input": {"product_codes": {"STRATA-TELEPORTER": "STRATA-ONBOARDING"}}})
    await replay(process, stopped[2]["id"], {"input": {"order_date": "2026-06-01"}})
    done = [await process.settled(t["id"], not_state="needs_attention") for t in stopped]
    assert [t["state"] for t in done] == ["completed"] * 3, done
    assert all(t["exception"] is None for t in done)
    assert [a["action"] for a in done[1]["actions"]] == ["replay"]
    assert done[1]["actions"][0]["actor"]  # the operator's client id
    assert done[2]["overrides"] == {"order_date": "2026-06-01"}
    order_id = next(r["id"] for s in done[2]["steps"] for r in s["records"] if r["object"] == "sales_order")
    order = await process.gw.app.state.erp.get_sales_order(order_id)
    assert order.date.isoformat() == "2026-06-01"
    # The replay's steps replace the history from the replayed step; the action keeps why it had stopped.
    assert all(s["attempts"] == 1 and s["error"] is None for s in done[0]["steps"])
    assert "was needs_attention: tax_address_incomplete" in done[0]["actions"][0]["detail"]


async def test_a_write_refused_after_others_succeeded_is_compensated_in_reverse(process: Process) -> None:
    [made] = await process.deals(deal("Compensate Me BV"))
    rule = {"kind": "status", "status": 400, "method": "POST", "path_prefix": "/services/rest/record/v1/salesOrder"}
    added = await process.gw.client.post(f"{NETSUITE_CONTROL}/faults", json=rule)
    assert added.status_code == 201, added.text
    try:
        stopped = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    finally:
        await process.gw.client.delete(f"{NETSUITE_CONTROL}/faults")
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["failed_step"] == "create_sales_order"
    assert stopped["exception"]["owner_system"] == "netsuite"
    subscription_id = next(r["id"] for s in stopped["steps"] for r in s["records"] if r["object"] == "subscription")

    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/compensate",
        json={"reason": "customer withdrew"},
        headers=process.operator,
    )
    assert response.status_code == 202, response.text
    compensated = await process.settled(stopped["id"], not_state="needs_attention")
    assert compensated["state"] == "compensated", compensated
    subscription = await process.gw.app.state.billing.get_subscription(subscription_id)
    assert subscription.status == "canceled"
    assert [e["type"] for e in compensated["events"]][-1] == "strata.transaction.compensated"
    # No ERP order was made (its create was refused), so none is cancelled and none kept.
    events = await process.gw.app.state.process.transactions.events(stopped["id"])
    [data] = [e.data for e in events if e.type == "strata.transaction.compensated"]
    assert [u["object"] for u in data["undone"]] == ["subscription"] and data["kept"] == []
    assert "compensation:cancel_sales_order" not in {s["name"] for s in compensated["steps"]}
    assert [a["action"] for a in compensated["actions"]] == ["compensate"]
    # Compensated is final: no second compensation, no replay.
    again = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/replay", json={}, headers=process.operator
    )
    assert again.status_code == 409


async def _stopped_after_the_order(process: Process, name: str) -> dict[str, Any]:
    """A transaction stopped at ``update_crm`` (the CRM refuses the write-back), its ERP order made."""
    [made] = await process.deals(deal(name))
    rule = {"kind": "status", "status": 400, "method": "POST", "path_prefix": "/services/data/v62.0/composite"}
    added = await process.gw.client.post(f"{SALESFORCE_CONTROL}/faults", json=rule)
    assert added.status_code == 201, added.text
    try:
        stopped = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    finally:
        await process.gw.client.delete(f"{SALESFORCE_CONTROL}/faults")
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["failed_step"] == "update_crm"
    return stopped


async def _compensate(process: Process, stopped: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Compensate ``stopped``; (the compensated transaction, its strata.transaction.compensated event data)."""
    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/compensate", json={"reason": "customer withdrew"},
        headers=process.operator,
    )  # fmt: skip
    assert response.status_code == 202, response.text
    compensated = await process.settled(stopped["id"], not_state="needs_attention")
    assert compensated["state"] == "compensated", compensated
    events = await process.gw.app.state.process.transactions.events(stopped["id"])
    [event] = [e for e in events if e.type == "strata.transaction.compensated"]
    return compensated, event.data


async def test_compensation_cancels_the_erp_sales_order(process: Process) -> None:
    stopped = await _stopped_after_the_order(process, "Cancel My Order AG")
    order_id = next(r["id"] for s in stopped["steps"] for r in s["records"] if r["object"] == "sales_order")
    erp = process.gw.app.state.erp
    assert (await erp.get_sales_order(order_id)).status == "open"
    before = (await process.gw.client.get(f"{NETSUITE_CONTROL}/counts")).json()
    lost_before = before["faults_injected"].get("lost_response", 0)
    # NetSuite applies the cancel but its answer is lost: the step must still close the order once.
    lost = {"kind": "lost_response", "status": 503, "method": "PATCH", "count": 1}
    assert (await process.gw.client.post(f"{NETSUITE_CONTROL}/faults", json=lost)).status_code == 201
    try:
        compensated, data = await _compensate(process, stopped)
    finally:
        await process.gw.client.delete(f"{NETSUITE_CONTROL}/faults")
    # The ERP order reads back cancelled (NetSuite closes its lines: status closed), written once.
    assert (await erp.get_sales_order(order_id)).status == "closed"
    counts = (await process.gw.client.get(f"{NETSUITE_CONTROL}/counts")).json()
    assert counts["faults_injected"]["lost_response"] == lost_before + 1
    assert counts["writes"]["salesOrder"] == before["writes"].get("salesOrder", 0) + 1
    assert {"system": "netsuite", "object": "sales_order", "id": order_id} in data["undone"]
    assert data["kept"] == []
    steps = {s["name"]: s for s in compensated["steps"]}
    assert steps["compensation:cancel_sales_order"]["attempts"] == 1


async def test_compensation_keeps_an_order_the_erp_refuses_to_cancel_with_its_reason(process: Process) -> None:
    stopped = await _stopped_after_the_order(process, "Invoiced Meanwhile SARL")
    order_id = next(r["id"] for s in stopped["steps"] for r in s["records"] if r["object"] == "sales_order")
    erp = process.gw.app.state.erp
    order = await erp.get_sales_order(order_id)
    # Finance invoiced the order before the compensation ran: NetSuite no longer closes its lines.
    invoice, _ = await erp.create_invoice(
        InvoiceCreate(
            external_id=f"inv-{order_id}", customer_id=order.customer_id, date=order.date, currency=order.currency,
            sales_order_id=order_id,
            lines=[DocumentLineInput(item_id=line.item_id, quantity=line.quantity, unit_price=line.unit_price.amount)
                   for line in order.lines],
        )
    )  # fmt: skip
    assert invoice.sales_order_id == order_id

    _, data = await _compensate(process, stopped)
    assert (await erp.get_sales_order(order_id)).status == "billed"
    [kept] = data["kept"]
    assert (kept["object"], kept["id"]) == ("sales_order", order_id)
    assert "billed" in kept["reason"]
    assert all(u["object"] != "sales_order" for u in data["undone"])


async def test_dismiss_closes_an_exception_with_the_reason_and_the_operator(process: Process) -> None:
    [made] = await process.deals(deal("Dismiss Me SA", "STRATA-WARP-DRIVE"))
    stopped = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    url = f"{OPERATIONS}/exceptions/{stopped['id']}/dismiss"
    empty = await process.gw.client.post(url, json={"reason": "  "}, headers=process.operator)
    assert empty.status_code == 422
    read_only = await process.gw.client.post(url, json={"reason": "duplicate deal"}, headers=process.reader)
    assert read_only.status_code == 403
    dismissed = await process.gw.client.post(url, json={"reason": "duplicate deal"}, headers=process.operator)
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["state"] == "dismissed"
    detail = await process.transaction(stopped["id"])
    assert detail["actions"][0]["action"] == "dismiss" and detail["actions"][0]["detail"] == "duplicate deal"
    listed = await process.gw.client.get(f"{OPERATIONS}/exceptions", headers=process.reader, params={"limit": 200})
    assert stopped["id"] not in {t["id"] for t in listed.json()["items"]}


async def test_operations_refuses_what_it_cannot_do_with_a_problem_naming_the_field(process: Process) -> None:
    client, reader, operator = process.gw.client, process.reader, process.operator
    unknown = "txn_01JD2ZQ5X3M4N5P6Q7R8S9T0VW"
    assert (await client.get(f"{OPERATIONS}/transactions/{unknown}", headers=reader)).status_code == 404
    missing = await client.post(f"{OPERATIONS}/exceptions/{unknown}/replay", json={}, headers=operator)
    assert missing.status_code == 404
    bad_id = await client.get(f"{OPERATIONS}/transactions/not-a-txn", headers=reader)
    assert bad_id.status_code == 422
    bad_cursor = await client.get(f"{OPERATIONS}/transactions", params={"cursor": "bogus"}, headers=reader)
    assert bad_cursor.status_code == 422
    assert problem(bad_cursor)["errors"][0]["name"] == "cursor"
    bad_workflow = await client.get(f"{OPERATIONS}/transactions", params={"workflow": "teleport"}, headers=reader)
    assert bad_workflow.status_code == 422
    assert (await client.get(f"{OPERATIONS}/transactions")).status_code == 401
    no_scope = await process.gw.bearer("process:quote-to-cash:write")
    assert (await client.get(f"{OPERATIONS}/transactions", headers=no_scope)).status_code == 403

    [made] = await process.deals(deal("Completed Already Oy"))
    done = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    assert done["state"] == "completed"
    for action, body in (("replay", {}), ("compensate", {"reason": "x"}), ("dismiss", {"reason": "x"})):
        response = await client.post(f"{OPERATIONS}/exceptions/{done['id']}/{action}", json=body, headers=operator)
        assert response.status_code == 409, (action, response.text)
    bad_step = await client.post(
        f"{OPERATIONS}/exceptions/{done['id']}/replay", json={"from_step": "teleport"}, headers=operator
    )
    assert bad_step.status_code == 422
    bad_input = await client.post(
        f"{OPERATIONS}/exceptions/{done['id']}/replay", json={"input": {"order_date": "yesterday"}}, headers=operator
    )
    assert bad_input.status_code == 422


async def test_transactions_filter_by_workflow_state_and_customer_and_page_with_cursors(process: Process) -> None:
    made = await process.deals(*(deal(f"Paging Co {i}") for i in range(3)))
    ids = [(await process.submit(d["opportunity_id"]))["transaction"]["id"] for d in made]
    for transaction_id in ids:
        await process.settled(transaction_id)
    client, reader = process.gw.client, process.reader
    by_customer = await client.get(
        f"{OPERATIONS}/transactions", params={"customer_id": made[1]["account_id"]}, headers=reader
    )
    assert [t["id"] for t in by_customer.json()["items"]] == [ids[1]]
    seen: list[str] = []
    params: dict[str, Any] = {"workflow": "quote-to-cash", "state": "completed", "limit": 2}
    while True:
        page = await client.get(f"{OPERATIONS}/transactions", params=params, headers=reader)
        assert page.status_code == 200, page.text
        body = page.json()
        assert all(t["state"] == "completed" for t in body["items"])
        seen += [t["id"] for t in body["items"]]
        if body["next_cursor"] is None:
            break
        params["cursor"] = body["next_cursor"]
    assert len(seen) == len(set(seen))
    assert set(ids) <= set(seen)
    assert seen == sorted(seen, reverse=True)  # newest first (ids are ULIDs)

    # A cursor pages its own list with its own filters only: the same position (a transaction) is
    # refused by the exception list, and by the transaction list filtered otherwise.
    first = await client.get(f"{OPERATIONS}/transactions", params={"limit": 1}, headers=reader)
    cursor = first.json()["next_cursor"]
    assert cursor
    for path, other in (("exceptions", {}), ("transactions", {"workflow": "quote-to-cash"})):
        response = await client.get(f"{OPERATIONS}/{path}", params={**other, "cursor": cursor}, headers=reader)
        assert response.status_code == 422, (path, response.text)
        assert problem(response)["errors"][0]["name"] == "cursor"

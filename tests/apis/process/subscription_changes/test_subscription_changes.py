"""Subscription changes end to end in process: the API, the workflow, the vendors' records, the lineage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import pytest_asyncio
import yaml

from apis.canonical import EntitlementGrant
from core.settings import PROJECT_ROOT
from tests.apis.process.conftest import OPERATIONS, Process, deal, key

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHANGES = "/process/subscription-changes/v1/changes"


class Changes:
    """A submitter of changes beside the quote-to-cash one."""

    def __init__(self, process: Process, headers: dict[str, str]) -> None:
        self.process = process
        self.headers = headers

    async def subscribed(self, name: str, *codes: str) -> dict[str, Any]:
        """A won deal through quote-to-cash: ``{account_id, opportunity_id, subscription_id, sales_order_id}``."""
        [made] = await self.process.deals(deal(name, *codes))
        done = await self.process.settled((await self.process.submit(made["opportunity_id"]))["transaction"]["id"])
        assert done["state"] == "completed", done
        records = {r["object"]: r["id"] for s in done["steps"] for r in s["records"]}
        return {**made, "subscription_id": records["subscription"], "sales_order_id": records["sales_order"]}

    async def submit(self, body: dict[str, Any], *, expect: int = 202) -> dict[str, Any]:
        response = await self.process.gw.client.post(
            CHANGES, json=body, headers={**self.headers, "Idempotency-Key": key()}
        )
        assert response.status_code == expect, response.text
        return dict(response.json())

    async def run(self, body: dict[str, Any]) -> dict[str, Any]:
        """Submit and wait: the settled transaction."""
        accepted = await self.submit(body)
        return await self.process.settled(accepted["transaction"]["id"])


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def changes(process: Process) -> Changes:
    return Changes(process, await process.gw.bearer("process:subscription-changes:write", tier="internal"))


def _records(transaction: dict[str, Any]) -> dict[str, str]:
    return {r["object"]: r["id"] for s in transaction["steps"] for r in s["records"]}


async def writes(process: Process) -> dict[str, Any]:
    """Writes applied at billing and at the ERP so far."""
    client = process.gw.client
    stripe = (await client.get("/sandbox/stripe/_control/counts")).json()["writes_applied"]
    netsuite = (await client.get("/sandbox/netsuite/_control/counts")).json()["writes"]
    return {"stripe": stripe, "netsuite": netsuite}


async def test_more_seats_change_the_subscription_at_once_with_a_change_order_of_the_added_seats(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Seats Up Inc", "STRATA-CORE")
    done = await changes.run(
        {
            "account_id": sub["account_id"],
            "subscription_id": sub["subscription_id"],
            "kind": "quantity_change",
            "items": [{"product_code": "STRATA-CORE", "quantity": 5}],
        }
    )
    assert done["state"] == "completed", done
    assert [s["name"] for s in done["steps"]] == [
        "validate",
        "change_billing",
        "change_entitlements",
        "create_change_order",
        "record_change",
        "update_crm",
    ]
    state = process.gw.app.state
    subscription = await state.billing.get_subscription(sub["subscription_id"])
    assert [i.quantity for i in subscription.items] == [5]
    assert subscription.schedule_id is None
    order = await state.erp.get_sales_order(_records(done)["sales_order"])
    assert order.external_id == done["id"]
    assert [line.quantity for line in order.lines] in (["3"], ["3.0"])
    assert [e["type"] for e in done["events"]] == ["strata.subscription.changed"]
    events = await state.process.transactions.events(done["id"])
    [data] = [e.data for e in events if e.type == "strata.subscription.changed"]
    assert data["rule"] == "quantity_increase" and data["effective"] == "immediately"
    assert data["proration"] == "prorate"
    assert data["items_before"] == [{"product_code": "STRATA-CORE", "quantity": 2}]
    assert data["items_after"] == [{"product_code": "STRATA-CORE", "quantity": 5}]


async def test_an_upgrade_is_invoiced_at_once_and_a_downgrade_waits_for_the_period_end_in_a_schedule(
    process: Process, changes: Changes
) -> None:
    state = process.gw.app.state
    up = await changes.subscribed("Upgrade Co", "STRATA-ERP-CONNECTOR")
    before = await state.billing.get_subscription(up["subscription_id"])
    upgraded = await changes.run(
        {
            "account_id": up["account_id"],
            "subscription_id": up["subscription_id"],
            "kind": "upgrade",
            "items": [{"product_code": "STRATA-CORE", "quantity": 2}],
        }
    )
    assert upgraded["state"] == "completed", upgraded
    after = await state.billing.get_subscription(up["subscription_id"])
    assert [i.price_id for i in after.items] != [i.price_id for i in before.items]
    # prorate_and_invoice (the governance rule of upgrades): a new invoice for the difference, now.
    assert after.latest_invoice_id != before.latest_invoice_id
    invoice = await state.billing.get_invoice(after.latest_invoice_id or "")
    assert any(line.proration for line in invoice.lines)

    down = await changes.subscribed("Downgrade Co", "STRATA-CORE", "STRATA-ERP-CONNECTOR")
    downgraded = await changes.run(
        {
            "account_id": down["account_id"],
            "subscription_id": down["subscription_id"],
            "kind": "downgrade",
            "items": [{"product_code": "STRATA-CORE", "quantity": 2}],
        }
    )
    assert downgraded["state"] == "completed", downgraded
    subscription = await state.billing.get_subscription(down["subscription_id"])
    assert len(subscription.items) == 2  # nothing changes before the period ends
    assert subscription.schedule_id == _records(downgraded)["subscription_schedule"]
    schedule = await state.billing.get_schedule(subscription.schedule_id or "")
    assert [len(phase.items) for phase in schedule.phases] == [2, 1]
    assert schedule.phases[1].start == subscription.items[0].current_period_end
    assert "sales_order" not in _records(downgraded)  # a change that only takes away orders nothing

    # A second change while one is scheduled is refused before any write.
    pending = await changes.run(
        {
            "account_id": down["account_id"],
            "subscription_id": down["subscription_id"],
            "kind": "quantity_change",
            "items": [
                {"product_code": "STRATA-CORE", "quantity": 4},
                {"product_code": "STRATA-ERP-CONNECTOR", "quantity": 2},
            ],
        }
    )
    assert pending["exception"]["reason_code"] == "subscription_change_pending"


async def test_cancellations_at_the_period_end_and_at_once_and_no_change_after(
    process: Process, changes: Changes
) -> None:
    state = process.gw.app.state
    later = await changes.subscribed("Cancel Later GmbH", "STRATA-CORE")
    done = await changes.run(
        {"account_id": later["account_id"], "subscription_id": later["subscription_id"], "kind": "cancel_at_period_end"}
    )
    assert done["state"] == "completed", done
    subscription = await state.billing.get_subscription(later["subscription_id"])
    assert subscription.cancel_at_period_end is True and subscription.status == "active"

    now = await changes.subscribed("Cancel Now SA", "STRATA-CORE")
    body = {"account_id": now["account_id"], "subscription_id": now["subscription_id"], "kind": "cancel_immediately"}
    assert (await changes.run(body))["state"] == "completed"
    assert (await state.billing.get_subscription(now["subscription_id"])).status == "canceled"

    after = await changes.run(
        {**body, "kind": "quantity_change", "items": [{"product_code": "STRATA-CORE", "quantity": 3}]}
    )
    assert after["state"] == "needs_attention"
    assert after["exception"]["reason_code"] == "subscription_canceled"


async def test_a_renewal_opportunity_renews_for_a_new_term_and_writes_back_to_the_crm(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Renewal Ltd", "STRATA-CORE")
    [renewal] = await process.deals(
        {"account_id": sub["account_id"], "type": "Renewal", "lines": [{"product_code": "STRATA-CORE", "quantity": 2}]}
    )
    first = await changes.submit({"opportunity_id": renewal["opportunity_id"]})
    again = await changes.submit({"opportunity_id": renewal["opportunity_id"]})
    assert again["transaction"]["id"] == first["transaction"]["id"] and again["created"] is False
    done = await process.settled(first["transaction"]["id"])
    assert done["state"] == "completed", done
    state = process.gw.app.state
    order = await state.erp.get_sales_order(_records(done)["sales_order"])
    assert order.external_id == renewal["opportunity_id"]  # the next term's order, whole
    assert [line.quantity for line in order.lines] in (["2"], ["2.0"])
    opportunity = await state.crm.get_opportunity(renewal["opportunity_id"])
    assert opportunity.billing_status == "pending"

    # A new-business opportunity is not a change.
    [new] = await process.deals({"account_id": sub["account_id"], "lines": [{"product_code": "STRATA-CORE"}]})
    refused = await process.settled(
        (await changes.submit({"opportunity_id": new["opportunity_id"]}))["transaction"]["id"]
    )
    assert refused["exception"]["reason_code"] == "opportunity_not_a_change"


async def test_the_same_direct_change_twice_is_one_transaction(process: Process, changes: Changes) -> None:
    sub = await changes.subscribed("Twice Inc", "STRATA-CORE")
    body = {
        "account_id": sub["account_id"],
        "subscription_id": sub["subscription_id"],
        "kind": "quantity_change",
        "items": [{"product_code": "STRATA-CORE", "quantity": 3}],
    }
    first, second = await changes.submit(body), await changes.submit(body)
    assert first["transaction"]["id"] == second["transaction"]["id"]
    assert (first["created"], second["created"]) == (True, False)
    assert (await process.settled(first["transaction"]["id"]))["state"] == "completed"
    subscription = await process.gw.app.state.billing.get_subscription(sub["subscription_id"])
    assert [i.quantity for i in subscription.items] == [3]


async def test_a_subscription_of_another_account_is_refused_before_any_write(
    process: Process, changes: Changes
) -> None:
    victim = await changes.subscribed("Victim Corp", "STRATA-CORE")
    attacker = await changes.subscribed("Attacker Corp", "STRATA-CORE")
    before = await writes(process)
    stopped = await changes.run(
        {
            "account_id": attacker["account_id"],
            "subscription_id": victim["subscription_id"],
            "kind": "cancel_immediately",
        }
    )
    assert stopped["state"] == "needs_attention"
    assert stopped["exception"]["reason_code"] == "subscription_not_of_account"
    assert stopped["exception"]["failed_step"] == "validate"
    assert await writes(process) == before
    subscription = await process.gw.app.state.billing.get_subscription(victim["subscription_id"])
    assert subscription.status == "active"


async def test_submitting_needs_the_scope_and_a_well_formed_change(process: Process, changes: Changes) -> None:
    client = process.gw.client
    body = {"account_id": "001000000000001AAA", "subscription_id": "sub_abc", "kind": "cancel_immediately"}
    assert (await client.post(CHANGES, json=body, headers={"Idempotency-Key": key()})).status_code == 401
    # A partner- or customer-bound client never reaches a process API, whatever scopes it holds.
    partner = await process.gw.bearer("process:subscription-changes:write", partner_id="partner-northwind")
    customer = await process.gw.bearer("process:subscription-changes:write", customer_id="cus_01JBOUND0000000000000000")
    for headers in (process.submitter, process.reader, partner, customer):  # quote-to-cash's scope is not this API's
        forbidden = await client.post(CHANGES, json=body, headers={**headers, "Idempotency-Key": key()})
        assert forbidden.status_code == 403, forbidden.text
    for wrong, pointer in (
        ({**body, "kind": "teleport"}, "/kind"),
        ({**body, "subscription_id": "cus_123"}, "/subscription_id"),
        ({"opportunity_id": "006000000000001AAA", "kind": "upgrade"}, "/kind"),
        ({**body, "kind": "upgrade"}, "/items"),
        ({**body, "kind": "quantity_change", "items": [{"product_code": "A", "quantity": 0}]}, "/items/0/quantity"),
        ({"account_id": "001000000000001AAA"}, "/subscription_id"),
    ):
        response = await changes.submit(wrong, expect=422)
        found = problem_pointers(response)
        assert pointer in found, (wrong, response)


def problem_pointers(body: dict[str, Any]) -> set[str]:
    return {e.get("pointer", "") for e in body.get("errors", [])}


async def test_a_closed_period_stops_the_change_and_a_replay_with_an_open_date_completes_it(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Closed Period Oy", "STRATA-CORE")
    stopped = await changes.run(
        {
            "account_id": sub["account_id"],
            "subscription_id": sub["subscription_id"],
            "kind": "quantity_change",
            "items": [{"product_code": "STRATA-CORE", "quantity": 4}],
            "effective_date": "2024-06-03",
        }
    )
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["reason_code"] == "period_closed"
    today = dt.datetime.now(dt.UTC).date().isoformat()
    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/replay",
        json={"input": {"effective_date": today}},
        headers=process.operator,
    )
    assert response.status_code == 202, response.text
    done = await process.settled(stopped["id"], not_state="needs_attention")
    assert done["state"] == "completed", done
    subscription = await process.gw.app.state.billing.get_subscription(sub["subscription_id"])
    assert [i.quantity for i in subscription.items] == [4]


async def test_a_refused_change_order_is_compensated_back_to_the_old_subscription(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Undo Upgrade AB", "STRATA-ERP-CONNECTOR")
    state = process.gw.app.state
    before = await state.billing.get_subscription(sub["subscription_id"])
    rule = {"kind": "status", "status": 400, "method": "POST", "path_prefix": "/services/rest/record/v1/salesOrder"}
    assert (await process.gw.client.post("/sandbox/netsuite/_control/faults", json=rule)).status_code == 201
    try:
        stopped = await changes.run(
            {
                "account_id": sub["account_id"],
                "subscription_id": sub["subscription_id"],
                "kind": "upgrade",
                "items": [{"product_code": "STRATA-CORE", "quantity": 2}],
            }
        )
    finally:
        await process.gw.client.delete("/sandbox/netsuite/_control/faults")
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["failed_step"] == "create_change_order"
    changed = await state.billing.get_subscription(sub["subscription_id"])
    assert [i.price_id for i in changed.items] != [i.price_id for i in before.items]

    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/compensate",
        json={"reason": "order refused"},
        headers=process.operator,
    )
    assert response.status_code == 202, response.text
    compensated = await process.settled(stopped["id"], not_state="needs_attention")
    assert compensated["state"] == "compensated", compensated
    restored = await state.billing.get_subscription(sub["subscription_id"])
    assert [(i.price_id, i.quantity) for i in restored.items] == [(i.price_id, i.quantity) for i in before.items]


async def test_an_onboarding_fee_is_on_the_first_billing_invoice(process: Process, changes: Changes) -> None:
    sub = await changes.subscribed("Onboarded Inc", "STRATA-CORE", "STRATA-ONBOARDING")
    state = process.gw.app.state
    subscription = await state.billing.get_subscription(sub["subscription_id"])
    assert len(subscription.items) == 1  # the fee is no subscription item
    invoice = await state.billing.get_invoice(subscription.latest_invoice_id or "")
    fees = [line for line in invoice.lines if line.description and "Onboarding" in line.description]
    assert len(fees) == 1 and fees[0].amount.amount.startswith("7000")  # 2 × 3,500
    order = await state.erp.get_sales_order(sub["sales_order_id"])
    assert len(order.lines) == 2  # and on the ERP order, as before


async def test_the_tenants_entitlements_follow_the_change_and_its_other_ones_stay(
    process: Process, changes: Changes
) -> None:
    state = process.gw.app.state
    tenants = await state.product.list_customers(crm_account_id=None, limit=50, position=None)
    tenant = next(t for t in tenants.items if t.crm_account_id)
    account = await state.crm.get_account(tenant.crm_account_id or "")
    [made] = await process.deals(
        {
            "account_id": account.id,
            "currency": account.currency or "USD",
            "lines": [{"product_code": "STRATA-CRM-CONNECTOR", "quantity": 2}],
        }
    )
    ordered = await process.settled((await process.submit(made["opportunity_id"]))["transaction"]["id"])
    assert ordered["state"] == "completed", ordered["exception"]
    subscription_id = _records(ordered)["subscription"]
    entitled = await state.product.grant_entitlement(
        tenant.id,
        EntitlementGrant(sku_code="STRATA-CRM-CONNECTOR", quantity=2),
        idempotency_key=f"test-{subscription_id}",
    )
    others = {
        e.id: e.quantity
        for e in (await state.product.list_entitlements(tenant.id, status="active", limit=100, position=None)).items
        if e.sku_code != "STRATA-CRM-CONNECTOR"
    }

    done = await changes.run(
        {
            "account_id": tenant.crm_account_id,
            "subscription_id": subscription_id,
            "kind": "quantity_change",
            "items": [{"product_code": "STRATA-CRM-CONNECTOR", "quantity": 6}],
        }
    )
    assert done["state"] == "completed", done
    assert (await state.product.get_entitlement(entitled.id)).quantity == 6
    after = await state.product.list_entitlements(tenant.id, status="active", limit=100, position=None)
    assert {e.id: e.quantity for e in after.items if e.sku_code != "STRATA-CRM-CONNECTOR"} == others

    cancelled = await changes.run(
        {"account_id": tenant.crm_account_id, "subscription_id": subscription_id, "kind": "cancel_at_period_end"}
    )
    assert cancelled["state"] == "completed", cancelled
    ending = await state.product.get_entitlement(entitled.id)
    period_end = (await state.billing.get_subscription(subscription_id)).items[0].current_period_end
    assert ending.status == "active" and ending.ends_at == period_end


async def test_changes_that_are_not_what_they_say_or_name_unknown_products_stop_before_any_write(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Bad Changes Ltd", "STRATA-CORE", "STRATA-ERP-CONNECTOR")
    base = {"account_id": sub["account_id"], "subscription_id": sub["subscription_id"]}
    before = await writes(process)
    for kind, items, code in (
        ("upgrade", [("STRATA-CORE", 2)], "change_not_an_upgrade"),
        (
            "downgrade",
            [("STRATA-CORE", 2), ("STRATA-ERP-CONNECTOR", 2), ("STRATA-CRM-CONNECTOR", 1)],
            "change_not_a_downgrade",
        ),
        ("quantity_change", [("STRATA-CORE", 2), ("STRATA-ERP-CONNECTOR", 2)], "change_changes_nothing"),
        ("quantity_change", [("STRATA-CORE", 3)], "change_not_a_quantity_change"),
        ("upgrade", [("STRATA-TELEPORTER", 1)], "product_unmapped"),
        ("upgrade", [("STRATA-ONBOARDING", 1)], "product_unmapped"),
    ):
        body = {**base, "kind": kind, "items": [{"product_code": c, "quantity": q} for c, q in items]}
        stopped = await changes.run(body)
        assert stopped["state"] == "needs_attention", (kind, stopped)
        assert stopped["exception"]["reason_code"] == code, (kind, stopped["exception"])
    assert await writes(process) == before


async def test_the_governance_rule_decides_when_a_change_takes_effect_and_reloads(
    process: Process, changes: Changes
) -> None:
    gw = process.gw
    admin = await gw.bearer("gateway:governance:admin", tier="internal")
    document = dict(yaml.safe_load((PROJECT_ROOT / "contracts" / "governance.yaml").read_text()))
    wrong = {**document, "subscription_changes": {"downgrade": {"effective": "period_end", "proration": "prorate"}}}
    refused = await gw.client.put("/gateway/v1/governance", json=wrong, headers=admin)
    assert refused.status_code == 422, refused.text
    assert "subscription_changes.downgrade" in refused.text

    sub = await changes.subscribed("Fewer Seats Now Inc", "STRATA-CORE")
    at_once = {**document, "subscription_changes": {"quantity_decrease": {"effective": "immediately"}}}
    assert (await gw.client.put("/gateway/v1/governance", json=at_once, headers=admin)).status_code == 200
    try:
        done = await changes.run(
            {
                "account_id": sub["account_id"],
                "subscription_id": sub["subscription_id"],
                "kind": "quantity_change",
                "items": [{"product_code": "STRATA-CORE", "quantity": 1}],
            }
        )
    finally:
        restored = await gw.client.put("/gateway/v1/governance", json=document, headers=admin)
        assert restored.status_code == 200, restored.text
    assert done["state"] == "completed", done
    subscription = await gw.app.state.billing.get_subscription(sub["subscription_id"])
    assert [i.quantity for i in subscription.items] == [1] and subscription.schedule_id is None


async def test_a_schedule_left_by_a_failed_billing_change_is_released_by_compensation(
    process: Process, changes: Changes
) -> None:
    sub = await changes.subscribed("Half Scheduled Ltd", "STRATA-CORE", "STRATA-ERP-CONNECTOR")
    rule = {"kind": "status", "status": 400, "method": "POST", "path_prefix": "/v1/subscription_schedules/"}
    assert (await process.gw.client.post("/sandbox/stripe/_control/faults", json=rule)).status_code == 201
    try:
        stopped = await changes.run(
            {
                "account_id": sub["account_id"],
                "subscription_id": sub["subscription_id"],
                "kind": "downgrade",
                "items": [{"product_code": "STRATA-CORE", "quantity": 2}],
            }
        )
    finally:
        await process.gw.client.delete("/sandbox/stripe/_control/faults")
    assert stopped["state"] == "needs_attention", stopped
    assert stopped["exception"]["failed_step"] == "change_billing"
    billing = process.gw.app.state.billing
    assert (await billing.get_subscription(sub["subscription_id"])).schedule_id is not None  # created, phases refused

    response = await process.gw.client.post(
        f"{OPERATIONS}/exceptions/{stopped['id']}/compensate", json={"reason": "retry later"}, headers=process.operator
    )
    assert response.status_code == 202, response.text
    compensated = await process.settled(stopped["id"], not_state="needs_attention")
    assert compensated["state"] == "compensated", compensated
    assert (await billing.get_subscription(sub["subscription_id"])).schedule_id is None

"""Subscription schedules and one-time invoice items, in Stripe's dialect: what they refuse and what they leave."""

from __future__ import annotations

from typing import Any

import httpx


async def _subscription(http: httpx.AsyncClient, **extra: str) -> dict[str, Any]:
    customer = (await http.get("/v1/customers", params={"limit": 1})).json()["data"][0]
    price = (await http.get("/v1/prices", params={"lookup_keys[]": "STRATA-CORE-usd"})).json()["data"][0]
    response = await http.post("/v1/subscriptions", data={
        "customer": customer["id"], "items[0][price]": price["id"], "items[0][quantity]": "2",
        "collection_method": "send_invoice", "days_until_due": "30", **extra,
    })  # fmt: skip
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_schedule_holds_the_next_phase_and_release_leaves_the_subscription_as_it_is(
    http: httpx.AsyncClient,
) -> None:
    subscription = await _subscription(http)
    assert subscription["schedule"] is None
    both = await http.post("/v1/subscription_schedules", data={
        "from_subscription": subscription["id"], "phases[0][items][0][price]": "price_x",
    })  # fmt: skip
    assert both.status_code == 400 and both.json()["error"]["param"] == "phases"
    schedule = (await http.post("/v1/subscription_schedules", data={"from_subscription": subscription["id"]})).json()
    assert schedule["id"].startswith("sub_sched_") and schedule["status"] == "active"
    item = subscription["items"]["data"][0]
    assert [(p["start_date"], p["end_date"]) for p in schedule["phases"]] == [
        (item["current_period_start"], item["current_period_end"])
    ]
    again = await http.post("/v1/subscription_schedules", data={"from_subscription": subscription["id"]})
    assert again.status_code == 400 and again.json()["error"]["param"] == "from_subscription"

    moved = await http.post(f"/v1/subscription_schedules/{schedule['id']}", data={
        "phases[0][items][0][price]": item["price"]["id"], "phases[0][start_date]": "1",
    })  # fmt: skip
    assert moved.status_code == 400 and moved.json()["error"]["param"] == "phases[0][start_date]"
    updated = await http.post(f"/v1/subscription_schedules/{schedule['id']}", data={
        "end_behavior": "release",
        "phases[0][items][0][price]": item["price"]["id"], "phases[0][items][0][quantity]": "2",
        "phases[0][end_date]": str(item["current_period_end"]),
        "phases[1][items][0][price]": item["price"]["id"], "phases[1][items][0][quantity]": "1",
        "phases[1][iterations]": "1",
    })  # fmt: skip
    assert updated.status_code == 200, updated.text
    phases = updated.json()["phases"]
    assert phases[1]["start_date"] == item["current_period_end"] and phases[1]["items"][0]["quantity"] == 1
    linked = (await http.get(f"/v1/subscriptions/{subscription['id']}")).json()
    assert linked["schedule"] == schedule["id"]
    assert linked["items"]["data"][0]["quantity"] == 2  # nothing changes before the phase starts

    released = (await http.post(f"/v1/subscription_schedules/{schedule['id']}/release")).json()
    assert released["status"] == "released" and released["released_subscription"] == subscription["id"]
    after = (await http.get(f"/v1/subscriptions/{subscription['id']}")).json()
    assert after["schedule"] is None and after["status"] == "active"
    late = await http.post(f"/v1/subscription_schedules/{schedule['id']}/release")
    assert late.status_code == 400


async def test_cancelling_a_schedule_cancels_its_subscription(http: httpx.AsyncClient) -> None:
    subscription = await _subscription(http)
    schedule = (await http.post("/v1/subscription_schedules", data={"from_subscription": subscription["id"]})).json()
    canceled = (await http.post(f"/v1/subscription_schedules/{schedule['id']}/cancel")).json()
    assert canceled["status"] == "canceled"
    assert (await http.get(f"/v1/subscriptions/{subscription['id']}")).json()["status"] == "canceled"


async def test_add_invoice_items_put_one_time_prices_on_the_first_invoice_only(http: httpx.AsyncClient) -> None:
    fee = (await http.get("/v1/prices", params={"lookup_keys[]": "STRATA-ONBOARDING-usd"})).json()["data"][0]
    recurring = (await http.get("/v1/prices", params={"lookup_keys[]": "STRATA-CORE-usd"})).json()["data"][0]
    subscription = await _subscription(
        http, **{"add_invoice_items[0][price]": fee["id"], "add_invoice_items[0][quantity]": "1"}
    )
    invoice = (await http.get(f"/v1/invoices/{subscription['latest_invoice']}")).json()
    amounts = sorted(line["amount"] for line in invoice["lines"]["data"])
    assert amounts == sorted([fee["unit_amount"], 2 * recurring["unit_amount"]])
    assert invoice["total"] == sum(amounts)
    customer = subscription["customer"]
    refused = await http.post("/v1/subscriptions", data={
        "customer": customer, "items[0][price]": recurring["id"], "add_invoice_items[0][price]": recurring["id"],
    })  # fmt: skip
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "add_invoice_items[0][price]"

"""The Stripe sandbox speaks Stripe's wire dialect: auth, version, forms, lists, errors, idempotency."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from sandboxes.faults import FaultRule
from sandboxes.stripe import StripeSandbox
from tests.support.sandbox_access import STRIPE_KEY, operator_hooks


async def test_no_key_and_a_wrong_key_are_401_in_stripes_error_object(http: httpx.AsyncClient) -> None:
    bare = await http.get("/v1/customers", headers={"Authorization": ""})
    assert bare.status_code == 401
    assert bare.json()["error"]["type"] == "invalid_request_error"
    assert "did not provide an API key" in bare.json()["error"]["message"]
    wrong = await http.get("/v1/customers", headers={"Authorization": "Bearer sk_test_wrong_key_1234"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "api_key_invalid"
    assert "sk_test_" in wrong.json()["error"]["message"] and "wrong_key" not in wrong.json()["error"]["message"]


async def test_stripe_version_is_echoed_and_a_malformed_one_refused(http: httpx.AsyncClient) -> None:
    answer = await http.get("/v1/products", headers={"Stripe-Version": "2024-06-20"})
    assert answer.headers["stripe-version"] == "2024-06-20" and answer.headers["request-id"].startswith("req_")
    bad = await http.get("/v1/products", headers={"Stripe-Version": "latest please"})
    assert bad.status_code == 400 and "Invalid Stripe API version" in bad.json()["error"]["message"]


async def test_lists_page_with_limit_and_starting_after(http: httpx.AsyncClient) -> None:
    first = (await http.get("/v1/customers", params={"limit": 3})).json()
    assert first["object"] == "list" and first["url"] == "/v1/customers" and first["has_more"] is True
    second = (await http.get("/v1/customers", params={"limit": 3, "starting_after": first["data"][-1]["id"]})).json()
    assert {c["id"] for c in first["data"]}.isdisjoint(c["id"] for c in second["data"])
    assert all(c["id"].startswith("cus_") for c in first["data"] + second["data"])
    too_big = await http.get("/v1/customers", params={"limit": 101})
    assert too_big.status_code == 400 and too_big.json()["error"]["param"] == "limit"
    unknown = await http.get("/v1/customers", params={"starting_after": "cus_nope"})
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "resource_missing"


async def test_bracket_notation_and_unknown_parameters(http: httpx.AsyncClient) -> None:
    created = await http.post(
        "/v1/customers", data={"name": "Acme", "metadata[strata_id]": "cus_01", "address[city]": "Berlin"}
    )
    body = created.json()
    assert body["metadata"] == {"strata_id": "cus_01"} and body["address"]["city"] == "Berlin"
    wrong = await http.post("/v1/customers", data={"nmae": "typo"})
    assert wrong.status_code == 400
    error = wrong.json()["error"]
    assert (error["code"], error["param"]) == ("parameter_unknown", "nmae")
    assert error["doc_url"] == "https://stripe.com/docs/error-codes/parameter-unknown"
    missing = await http.get("/v1/customers/cus_doesnotexist")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"


async def test_idempotency_key_replays_refuses_other_params_and_concurrent_use(
    http: httpx.AsyncClient, sandbox: StripeSandbox
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = await http.post("/v1/customers", data={"name": "Once"}, headers=headers)
    again = await http.post("/v1/customers", data={"name": "Once"}, headers=headers)
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert sandbox.counts()["writes_applied"]["customer"] == 1
    other = await http.post("/v1/customers", data={"name": "Other"}, headers=headers)
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    sandbox.write_latency_seconds = 0.2
    one, two = await asyncio.gather(
        http.post("/v1/customers", data={"name": "Race"}, headers={"Idempotency-Key": "race"}),
        http.post("/v1/customers", data={"name": "Race"}, headers={"Idempotency-Key": "race"}),
    )
    assert sorted([one.status_code, two.status_code]) == [200, 409]
    conflict = one if one.status_code == 409 else two
    assert conflict.headers["stripe-should-retry"] == "true"


async def test_a_lost_response_is_replayed_by_the_same_key(http: httpx.AsyncClient, sandbox: StripeSandbox) -> None:
    sandbox.faults.add(FaultRule(kind="lost_response", status=500, method="POST", count=1))
    lost = await http.post("/v1/customers", data={"name": "Lost"}, headers={"Idempotency-Key": "lost-1"})
    assert lost.status_code == 500 and lost.json()["error"]["type"] == "api_error"
    assert lost.headers["stripe-should-retry"] == "true"
    retry = await http.post("/v1/customers", data={"name": "Lost"}, headers={"Idempotency-Key": "lost-1"})
    assert retry.status_code == 200 and retry.headers["idempotent-replayed"] == "true"
    assert sandbox.counts()["writes_applied"]["customer"] == 1


async def test_rate_limit_answers_429_with_should_retry() -> None:
    from sandboxes.stripe import create_stripe_sandbox

    limited = create_stripe_sandbox(rate_limit_per_second=2, secret_key=STRIPE_KEY)
    transport = httpx.ASGITransport(app=limited)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://s", headers={"Authorization": "Bearer sk_test_strata_sandbox"}
    ) as client:
        statuses = [(await client.get("/v1/products")).status_code for _ in range(3)]
        last = await client.get("/v1/products")
    assert statuses == [200, 200, 429] and last.status_code == 429
    assert last.json()["error"]["code"] == "rate_limit" and last.headers["stripe-should-retry"] == "true"


async def test_seed_matches_the_crm_companies_and_product_codes(http: httpx.AsyncClient) -> None:
    from sandboxes.salesforce import create_salesforce_sandbox
    from sandboxes.salesforce.seed import PRODUCTS

    crm = create_salesforce_sandbox(client_id="strata-sandbox", client_secret="sandbox-secret")
    crm_names = {a["Name"] for a in crm.store.records["Account"].values() if a.get("Type") == "Customer"}
    customers = []
    after = None
    while True:
        page = (
            await http.get("/v1/customers", params={"limit": 100, **({"starting_after": after} if after else {})})
        ).json()
        customers += page["data"]
        if not page["has_more"]:
            break
        after = page["data"][-1]["id"]
    names = {c["name"] for c in customers if "crm_account_id" in c["metadata"]}
    assert names < crm_names and len(crm_names - names) == 1  # one CRM customer never synced, on purpose
    prices = (await http.get("/v1/prices", params={"limit": 100, "currency": "usd"})).json()["data"]
    assert {p["lookup_key"].removesuffix("-usd") for p in prices} == {code for code, *_ in PRODUCTS}


async def test_subscription_update_prorates_and_emits_signed_webhooks() -> None:
    import hashlib
    import hmac

    from sandboxes.stripe import create_stripe_sandbox

    received: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(500 if len(received) == 1 else 200)

    sandbox = create_stripe_sandbox(
        secret_key=STRIPE_KEY,
        webhook_url="http://hooks.test/stripe", webhook_secret="whsec_test",
        webhook_transport=httpx.MockTransport(endpoint), webhook_backoff_seconds=0.001,
    )  # fmt: skip
    auth = {"Authorization": "Bearer sk_test_strata_sandbox"}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox),
        base_url="http://s",
        headers=auth,
        event_hooks=operator_hooks(sandbox),
    ) as http:
        customer = (await http.get("/v1/customers", params={"limit": 1})).json()["data"][0]
        price = (await http.get("/v1/prices", params={"lookup_keys[]": "STRATA-CORE-usd"})).json()["data"][0]
        sub = (await http.post("/v1/subscriptions", data={
            "customer": customer["id"], "items[0][price]": price["id"], "items[0][quantity]": "1",
            "collection_method": "send_invoice", "days_until_due": "30",
        })).json()  # fmt: skip
        item = sub["items"]["data"][0]["id"]
        updated = await http.post(f"/v1/subscriptions/{sub['id']}", data={
            "items[0][id]": item, "items[0][quantity]": "2", "proration_behavior": "create_prorations",
        })  # fmt: skip
        assert updated.json()["items"]["data"][0]["quantity"] == 2
        await sandbox.webhooks.drain(5)
        events = (await http.get("/_control/events")).json()
    assert [r.headers["stripe-signature"][:2] for r in received] == ["t=", "t="]  # first failed, retried
    body = received[-1].content
    header = dict(part.split("=", 1) for part in received[-1].headers["stripe-signature"].split(","))
    expected = hmac.new(b"whsec_test", f"{header['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert header["v1"] == expected
    event = httpx.Response(200, content=body).json()
    assert event["type"] == "customer.subscription.updated"
    assert event["data"]["previous_attributes"]["items"]["data"][0]["quantity"] == 1
    delivered = next(e for e in events if e["id"] == event["id"])
    assert delivered["delivered"] is True and len(delivered["attempts"]) == 2


async def test_state_and_idempotency_survive_a_restart_and_reset_reseeds(tmp_path: Path) -> None:
    from sandboxes.stripe import create_stripe_sandbox

    auth = {"Authorization": "Bearer sk_test_strata_sandbox", "Idempotency-Key": "persist-1"}
    first = create_stripe_sandbox(tmp_path, secret_key=STRIPE_KEY)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://s") as http:
        created = (await http.post("/v1/customers", data={"name": "Durable"}, headers=auth)).json()
    second = create_stripe_sandbox(tmp_path, secret_key=STRIPE_KEY)  # a restart: same state directory
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=second), base_url="http://s", event_hooks=operator_hooks(second)
    ) as http:
        assert (await http.get(f"/v1/customers/{created['id']}", headers=auth)).json()["name"] == "Durable"
        replay = await http.post("/v1/customers", data={"name": "Durable"}, headers=auth)
        assert replay.json()["id"] == created["id"] and replay.headers["idempotent-replayed"] == "true"
        counts = (await http.get("/_control/counts")).json()
        assert counts["writes_applied"] == {"customer": 1} and counts["objects"]["customer"] == 45
        assert (await http.post("/_control/reset")).status_code == 204
        assert (await http.get(f"/v1/customers/{created['id']}", headers=auth)).status_code == 404
        assert (await http.get("/_control/counts")).json()["writes_applied"] == {}


async def test_expand_replaces_ids_by_objects(http: httpx.AsyncClient) -> None:
    form = {"amount": "1000", "currency": "usd", "payment_method": "pm_card_visa", "confirm": "true"}
    intent = (await http.post("/v1/payment_intents", data={**form, "expand[]": "latest_charge"})).json()
    assert intent["latest_charge"]["object"] == "charge" and intent["latest_charge"]["amount"] == 1000
    listed = (await http.get("/v1/payment_intents", params={"expand[]": "data.latest_charge", "limit": 1})).json()
    assert listed["data"][0]["latest_charge"]["id"] == intent["latest_charge"]["id"]
    wrong = await http.get(f"/v1/payment_intents/{intent['id']}", params={"expand[]": "amount"})
    assert wrong.status_code == 400 and wrong.json()["error"]["param"] == "expand"

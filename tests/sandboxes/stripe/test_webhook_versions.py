"""Stripe renders a webhook in the endpoint's API version (or the account's default), not the request's."""

from __future__ import annotations

import httpx

from sandboxes.stripe import create_stripe_sandbox
from sandboxes.stripe.account import API_VERSION
from tests.support.sandbox_access import STRIPE_KEY, operator_hooks

AUTH = {"Authorization": f"Bearer {STRIPE_KEY}"}
OLD = "2024-06-20"


async def _finalize_one_invoice(http: httpx.AsyncClient, version: str) -> None:
    """A request in ``version`` that makes Stripe emit ``invoice.finalized``."""
    headers = {"Stripe-Version": version}
    customer = (await http.get("/v1/customers", params={"limit": 1})).json()["data"][0]
    await http.post("/v1/invoiceitems", data={"customer": customer["id"], "amount": "500", "currency": "usd"})
    invoice = (await http.post("/v1/invoices", data={"customer": customer["id"]}, headers=headers)).json()
    finalized = await http.post(f"/v1/invoices/{invoice['id']}/finalize", headers=headers)
    assert finalized.status_code == 200 and finalized.headers["stripe-version"] == version


async def test_webhooks_are_rendered_in_the_endpoints_version_not_the_requests() -> None:
    received: list[dict[str, object]] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        received.append(httpx.Response(200, content=request.content).json())
        return httpx.Response(200)

    sandbox = create_stripe_sandbox(
        secret_key=STRIPE_KEY, webhook_url="http://hooks.test/stripe", webhook_secret="whsec_test",
        webhook_transport=httpx.MockTransport(endpoint), webhook_backoff_seconds=0.001,
    )  # fmt: skip
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox),
        base_url="http://s",
        headers=AUTH,
        event_hooks=operator_hooks(sandbox),
    ) as http:
        await _finalize_one_invoice(http, OLD)
        await sandbox.webhooks.drain(5)
        assert received and {e["api_version"] for e in received} == {API_VERSION}
        listed = (await http.get("/v1/events", params={"type": "invoice.finalized"})).json()["data"]
        assert listed[0]["api_version"] == API_VERSION  # the account's default, not the request's

        configured = await http.post(
            "/_control/webhook_endpoint",
            json={"url": "http://hooks.test/stripe", "secret": "whsec_test", "api_version": "2025-03-31.basil"},
        )
        assert configured.json()["api_version"] == "2025-03-31.basil"
        before = len(received)
        await _finalize_one_invoice(http, API_VERSION)
        await sandbox.webhooks.drain(5)
        assert received[before:] and {e["api_version"] for e in received[before:]} == {"2025-03-31.basil"}

        await http.post(
            "/_control/webhook_endpoint",
            json={"url": "http://hooks.test/stripe", "secret": "whsec_test", "api_version": None},
        )
        before = len(received)
        await _finalize_one_invoice(http, OLD)
        await sandbox.webhooks.drain(5)
        # no endpoint version: the account's default
        assert received[before:] and {e["api_version"] for e in received[before:]} == {API_VERSION}


async def test_webhook_endpoints_carry_their_version_fixed_at_creation() -> None:
    sandbox = create_stripe_sandbox(
        secret_key=STRIPE_KEY, webhook_url="http://hooks.test/stripe", webhook_secret="whsec_test"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox),
        base_url="http://s",
        headers=AUTH,
        event_hooks=operator_hooks(sandbox),
    ) as http:
        listed = (await http.get("/v1/webhook_endpoints")).json()
        assert listed["object"] == "list"
        assert [(e["url"], e["api_version"]) for e in listed["data"]] == [("http://hooks.test/stripe", API_VERSION)]
        created = await http.post(
            "/v1/webhook_endpoints",
            data={"url": "https://example.com/hook", "enabled_events[0]": "invoice.paid", "api_version": OLD},
        )
        body = created.json()
        assert body["id"].startswith("we_") and body["api_version"] == OLD and body["secret"].startswith("whsec_")
        fetched = (await http.get(f"/v1/webhook_endpoints/{body['id']}")).json()
        assert fetched["api_version"] == OLD and "secret" not in fetched
        refused = await http.post(f"/v1/webhook_endpoints/{body['id']}", data={"api_version": API_VERSION})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "api_version"
        gone = await http.delete(f"/v1/webhook_endpoints/{body['id']}")
        assert gone.json() == {"id": body["id"], "object": "webhook_endpoint", "deleted": True}

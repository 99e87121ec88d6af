"""The webhook subscriptions API: secrets shown once and sealed at rest, partners confined, bad input named."""

from __future__ import annotations

import base64
import re

import pytest
from sqlalchemy import select

from core.db import partner_webhook_subscriptions
from tests.apis.experience.partner_webhooks.portal import BOTH, NORTHWIND, PORTAL, READ, Hooks, local_host_name
from tests.support.harness import problem

pytestmark = pytest.mark.asyncio(loop_scope="module")
URL = "https://hooks.northwind.example/strata"


async def test_create_shows_the_secret_once_and_stores_it_sealed(api: Hooks) -> None:
    gw, a = api.gw, api.a
    body = {"url": URL, "event_types": ["strata.invoice.posted", "strata.payment.applied"], "description": "ERP"}
    created = await gw.client.post(f"{PORTAL}/webhooks", json=body, headers=a.headers)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert created.headers["location"] == f"{PORTAL}/webhooks/{answer['id']}"
    assert answer["url"] == URL and answer["event_types"] == body["event_types"]
    assert answer["description"] == "ERP" and answer["previous_secret_expires_at"] is None
    secret = answer["secret"]
    assert secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(secret.removeprefix("whsec_"))) <= 64

    shown = await gw.client.get(f"{PORTAL}/webhooks/{answer['id']}", headers=a.headers)
    assert shown.status_code == 200
    assert "secret" not in shown.json()
    assert {k: v for k, v in answer.items() if k != "secret"} == shown.json()
    listed = await gw.client.get(f"{PORTAL}/webhooks", headers=a.headers)
    assert answer["id"] in [s["id"] for s in listed.json()["items"]]
    assert all("secret" not in s for s in listed.json()["items"])

    async with gw.app.state.components.engine.connect() as connection:
        row = (
            await connection.execute(
                select(partner_webhook_subscriptions).where(partner_webhook_subscriptions.c.id == answer["id"])
            )
        ).one()
    stored = " ".join(str(value) for value in row)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert row.partner_id == NORTHWIND


async def test_rotation_gives_a_new_secret_and_a_grace_period(api: Hooks) -> None:
    gw, a = api.gw, api.a
    created = (
        await gw.client.post(
            f"{PORTAL}/webhooks", json={"url": URL, "event_types": ["strata.usage.billed"]}, headers=a.headers
        )
    ).json()
    rotated = await gw.client.post(f"{PORTAL}/webhooks/{created['id']}/rotate-secret", headers=a.headers)
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["secret"] != created["secret"]
    shown = (await gw.client.get(f"{PORTAL}/webhooks/{created['id']}", headers=a.headers)).json()
    assert shown["previous_secret_expires_at"] is not None
    assert shown["previous_secret_expires_at"] > shown["created_at"]


async def test_another_partners_subscription_is_404_for_every_operation(api: Hooks) -> None:
    gw, a, b = api.gw, api.a, api.b
    mine = (
        await gw.client.post(
            f"{PORTAL}/webhooks", json={"url": URL, "event_types": ["strata.customer.synced"]}, headers=a.headers
        )
    ).json()
    base = f"{PORTAL}/webhooks/{mine['id']}"
    delivery = f"{base}/deliveries/whd_01JDQ8Z5W4V3Q2N1M0K9J8H7G6"
    calls = [
        ("GET", base),
        ("DELETE", base),
        ("POST", f"{base}/rotate-secret"),
        ("GET", f"{base}/deliveries"),
        ("GET", delivery),
        ("POST", f"{delivery}/redeliver"),
    ]
    for method, url in calls:
        response = await gw.client.request(method, url, headers=b.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert problem(response)["type"].endswith("/not-found")
    # ... the same 404 as an id that does not exist
    unknown = await gw.client.get(f"{PORTAL}/webhooks/whs_01JDQ8Z5W4V3Q2N1M0K9J8H7G6", headers=a.headers)
    assert unknown.status_code == 404
    listed = await gw.client.get(f"{PORTAL}/webhooks", headers=b.headers)
    assert mine["id"] not in [s["id"] for s in listed.json()["items"]]
    # B's attempts changed nothing
    still = await gw.client.get(base, headers=a.headers)
    assert still.status_code == 200 and still.json() == {k: v for k, v in mine.items() if k != "secret"}


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"url": "http://hooks.northwind.example/x", "event_types": ["strata.usage.billed"]}, "/url"),
        ({"url": "https://10.1.2.3/x", "event_types": ["strata.usage.billed"]}, "/url"),
        ({"url": "https://169.254.169.254/latest", "event_types": ["strata.usage.billed"]}, "/url"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["strata.usage.billed"]}, "/url"),  # off by default
        ({"url": "https://user:pw@hooks.northwind.example/", "event_types": ["strata.usage.billed"]}, "/url"),
        ({"url": URL, "event_types": ["strata.reconciliation.completed"]}, "/event_types/0"),
        ({"url": URL, "event_types": []}, "/event_types"),
        ({"event_types": ["strata.usage.billed"]}, ""),
        ({"url": URL, "event_types": ["strata.usage.billed"], "secret": "whsec_mine"}, ""),
    ],
)
async def test_bad_subscriptions_are_422_naming_the_field(api: Hooks, body: dict[str, object], pointer: str) -> None:
    response = await api.gw.client.post(f"{PORTAL}/webhooks", json=body, headers=api.a.headers)
    assert response.status_code == 422, response.text
    errors = problem(response)["errors"]
    assert errors and all(e["in"] == "body" for e in errors)
    if pointer:
        assert pointer in [e["pointer"] for e in errors], errors


async def test_a_url_whose_name_resolves_to_this_machine_is_422(api: Hooks) -> None:
    body = {"url": f"https://{local_host_name()}/hooks", "event_types": ["strata.usage.billed"]}
    response = await api.gw.client.post(f"{PORTAL}/webhooks", json=body, headers=api.a.headers)
    assert response.status_code == 422, response.text
    [error] = problem(response)["errors"]
    assert error["pointer"] == "/url" and error["detail"].startswith("destination not allowed: not a public address")
    assert not re.search(r"\d+\.\d+\.\d+\.\d+|::", error["detail"]), "a refusal never says what the name resolved to"


async def test_a_client_not_bound_to_a_partner_is_refused(api: Hooks) -> None:
    gw = api.gw
    unbound = await gw.bearer(BOTH, tier="internal")
    for method, url in (("GET", f"{PORTAL}/webhooks"), ("POST", f"{PORTAL}/webhooks")):
        json = {"url": URL, "event_types": ["strata.usage.billed"]} if method == "POST" else None
        response = await gw.client.request(method, url, json=json, headers=unbound)
        assert response.status_code == 403, response.text
        # The authorization policy refuses it before the handler (whose own check stays as a backstop).
        assert problem(response)["type"].endswith("/audience-confined")


async def test_scopes_and_confinement(api: Hooks) -> None:
    gw = api.gw
    reader = await gw.bearer(READ, partner_id=NORTHWIND)
    listed = await gw.client.get(f"{PORTAL}/webhooks", headers=reader)
    assert listed.status_code == 200
    denied = await gw.client.post(
        f"{PORTAL}/webhooks", json={"url": URL, "event_types": ["strata.usage.billed"]}, headers=reader
    )
    assert denied.status_code == 403
    assert problem(denied)["type"].endswith("/insufficient-scope")
    # a partner token reaches this API only, whatever its scopes
    broad = await gw.bearer(f"{BOTH} system:crm:read", partner_id=NORTHWIND)
    elsewhere = await gw.client.get("/system/crm/v1/accounts", headers=broad)
    assert elsewhere.status_code == 403
    assert problem(elsewhere)["type"].endswith("/audience-confined")


async def test_lists_are_paged_and_a_forged_cursor_is_422(api: Hooks) -> None:
    gw, b = api.gw, api.b
    made = []
    for n in range(3):
        body = {"url": f"https://hooks.contoso.example/{n}", "event_types": ["strata.usage.billed"]}
        made.append((await gw.client.post(f"{PORTAL}/webhooks", json=body, headers=b.headers)).json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await gw.client.get(f"{PORTAL}/webhooks", params=params, headers=b.headers)
        assert page.status_code == 200, page.text
        seen += [s["id"] for s in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
        assert 'rel="next"' in page.headers["link"]
    assert [i for i in seen if i in made] == made  # oldest first, each once
    forged = await gw.client.get(f"{PORTAL}/webhooks", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=b.headers)
    assert forged.status_code == 422
    assert problem(forged)["errors"][0]["name"] == "cursor"
    deliveries = await gw.client.get(f"{PORTAL}/webhooks/{made[0]}/deliveries", headers=b.headers)
    assert deliveries.status_code == 200 and deliveries.json() == {"items": [], "next_cursor": None}

"""The CRM system API through the whole gateway: governance, connector and sandbox together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import Gateway, problem, running_gateway

CRM = "/system/crm/v1"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path) as gateway:
        yield gateway


async def test_pages_follow_their_cursor_and_link(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    first = await gw.client.get(f"{CRM}/accounts", params={"limit": 20}, headers=headers)
    assert first.status_code == 200
    body = first.json()
    assert len(body["items"]) == 20 and body["next_cursor"]
    assert first.headers["link"].endswith('rel="next"')
    second = await gw.client.get(
        f"{CRM}/accounts", params={"limit": 20, "cursor": body["next_cursor"]}, headers=headers
    )
    ids = {item["id"] for item in body["items"]} & {item["id"] for item in second.json()["items"]}
    assert ids == set()


async def test_a_forged_cursor_is_a_422_naming_the_cursor(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    response = await gw.client.get(f"{CRM}/accounts", params={"cursor": "Zm9yZ2Vk"}, headers=headers)
    assert response.status_code == 422
    assert problem(response)["errors"] == [
        {"in": "query", "name": "cursor", "detail": "cursor is not a cursor this API issued"}
    ]


async def test_writing_needs_the_write_scope(gw: Gateway) -> None:
    reader = await gw.bearer("system:crm:read")
    body = {"name": "Acme GmbH", "domain": "acme.de"}
    response = await gw.client.put(f"{CRM}/accounts/by-external-id/cus_acme", json=body, headers=reader)
    assert response.status_code == 403
    assert 'scope="system:crm:write"' in response.headers["www-authenticate"]


async def test_an_upsert_retried_with_its_key_is_replayed_not_repeated(gw: Gateway) -> None:
    writer = await gw.bearer("system:crm:read system:crm:write")
    body = {"name": "Acme GmbH", "domain": "acme.de"}
    headers = {**writer, "Idempotency-Key": "upsert-acme-1"}
    first = await gw.client.put(f"{CRM}/accounts/by-external-id/cus_acme", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = await gw.client.put(f"{CRM}/accounts/by-external-id/cus_acme", json=body, headers=headers)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    without_key = await gw.client.put(f"{CRM}/accounts/by-external-id/cus_acme", json=body, headers=writer)
    assert without_key.status_code == 200  # a real second upsert: it updates, it does not duplicate
    found = await gw.client.get(f"{CRM}/accounts/{first.json()['id']}", headers=writer)
    assert found.json()["external_id"] == "cus_acme"


async def test_an_unknown_account_is_a_404_problem(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    response = await gw.client.get(f"{CRM}/accounts/001000000000000AAA", headers=headers)
    assert response.status_code == 404
    problem(response)

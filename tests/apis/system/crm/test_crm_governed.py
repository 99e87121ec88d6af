"""The CRM system API through the whole gateway: governance, connector and sandbox together."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.cursors import CursorCodec
from core.master_key import resolve_master_key
from tests.support.harness import Gateway, problem, running_gateway

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


async def _first_page_cursor(gw: Gateway, headers: dict[str, str], path: str, **params: str) -> str:
    response = await gw.client.get(f"{CRM}{path}", params={"limit": "2", **params}, headers=headers)
    assert response.status_code == 200, response.text
    cursor: str = response.json()["next_cursor"]
    assert cursor
    return cursor


def _refused(response: Any) -> bool:
    return response.status_code == 422 and problem(response)["errors"] == [
        {"in": "query", "name": "cursor", "detail": "cursor is not a cursor this API issued"}
    ]


async def test_a_cursor_works_only_in_the_list_it_came_from(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    accounts = await _first_page_cursor(gw, headers, "/accounts")
    assert (await gw.client.get(f"{CRM}/accounts", params={"cursor": accounts}, headers=headers)).status_code == 200
    # the same position (an account id sorts like any CRM id) read by another list: refused
    contacts = await gw.client.get(f"{CRM}/contacts", params={"cursor": accounts}, headers=headers)
    assert _refused(contacts), contacts.text
    opportunities = await gw.client.get(f"{CRM}/opportunities", params={"cursor": accounts}, headers=headers)
    assert _refused(opportunities), opportunities.text


async def test_a_cursor_works_only_with_the_filters_it_came_from(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    since = "2000-01-01T00:00:00Z"
    cursor = await _first_page_cursor(gw, headers, "/accounts", updated_since=since)
    same = {"updated_since": since, "cursor": cursor, "limit": "5"}  # the page size may change
    assert (await gw.client.get(f"{CRM}/accounts", params=same, headers=headers)).status_code == 200
    for other in (
        {"updated_since": since, "name_prefix": "A"},  # a filter added
        {"updated_since": "2000-01-02T00:00:00Z"},  # a filter changed
        {},  # a filter dropped
    ):
        response = await gw.client.get(f"{CRM}/accounts", params={**other, "cursor": cursor}, headers=headers)
        assert _refused(response), (other, response.text)


async def test_a_cursor_signed_under_another_master_key_or_changed_is_refused(gw: Gateway) -> None:
    headers = await gw.bearer("system:crm:read")
    issued = await _first_page_cursor(gw, headers, "/accounts")
    own = CursorCodec(resolve_master_key(gw.app.state.settings))
    list_id = "GET /system/crm/v1/accounts"
    after = own.decode(issued, str, list_id=list_id, filters={})  # the gateway's own codec opens it
    made_here = own.encode(after, list_id=list_id)
    assert made_here == issued
    foreign = CursorCodec("another master key, 32 characters").encode(after, list_id=list_id)
    response = await gw.client.get(f"{CRM}/accounts", params={"cursor": foreign}, headers=headers)
    assert _refused(response), response.text
    # A cursor nobody signed, shaped as the old unsigned ones were (base64url of {"after": <id>}):
    # it names a real account, so only a signature can tell that this API did not issue it.
    unsigned = base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")
    response = await gw.client.get(f"{CRM}/accounts", params={"cursor": unsigned}, headers=headers)
    assert _refused(response), response.text
    middle = len(issued) // 2
    changed = issued[:middle] + ("A" if issued[middle] != "A" else "B") + issued[middle + 1 :]
    response = await gw.client.get(f"{CRM}/accounts", params={"cursor": changed}, headers=headers)
    assert _refused(response), response.text

"""``/experience/operations/v1``: the API catalogue with client usage, rate-limit denials, refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from tests.support.harness import Gateway, problem, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")
BASE = "/experience/operations/v1"
READ = "experience:operations:read"


@dataclass
class Ops:
    gw: Gateway
    reader: dict[str, str]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ops(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Ops]:
    async with running_gateway(tmp_path_factory.mktemp("ops-catalogue")) as gw:
        yield Ops(gw, await gw.bearer(READ))


async def test_catalogue_lists_every_served_api(ops: Ops) -> None:
    response = await ops.gw.client.get(f"{BASE}/catalogue", headers=ops.reader)
    assert response.status_code == 200, response.text
    apis = {api["api_id"]: api for api in response.json()["apis"]}
    served = {api.api_id for api in ops.gw.app.state.route_table.apis}
    assert set(apis) == served
    assert {"system/crm/v1", "process/quote-to-cash/v1", "experience/operations/v1", "gateway/gateway/v1"} <= served
    mine = apis["experience/operations/v1"]
    assert mine["lifecycle"]["state"] == "active" and mine["owner"] == "operations"
    assert mine["links"]["docs"] == "/docs/experience/operations/v1"
    docs = await ops.gw.client.get(mine["links"]["docs"])
    assert docs.status_code == 200
    # The same views as the management API's catalogue.
    admin = await ops.gw.bearer("gateway:catalog:read")
    managed = (await ops.gw.client.get("/gateway/v1/catalogue", headers=admin)).json()["apis"]
    assert {api["api_id"]: api for api in managed} == apis


async def test_catalogue_shows_each_client_tier_and_usage_today(ops: Ops) -> None:
    client_id, secret = await ops.gw.create_client("system:crm:read", tier="silver")
    token = await ops.gw.token(client_id, secret)
    for _ in range(3):
        await ops.gw.client.get("/system/crm/v1/accounts", headers={"Authorization": f"Bearer {token}"})
    response = await ops.gw.client.get(f"{BASE}/catalogue", headers=ops.reader)
    assert response.status_code == 200, response.text
    clients = {client["client_id"]: client for client in response.json()["clients"]}
    silver = clients[client_id]
    assert silver["tier"] == "silver" and silver["status"] == "active" and silver["name"] == "test-silver"
    assert [limit["name"] for limit in silver["limits"]] == [
        limit["name"] for limit in (await _usage(ops, client_id))["limits"]
    ]
    assert {limit["quota"] for limit in silver["limits"]} == {20, 20000}  # silver: 20/second, 20000/day
    assert silver["today"]["units_admitted"] == 3


async def _usage(ops: Ops, client_id: str) -> dict[str, object]:
    admin = await ops.gw.bearer("gateway:clients:admin")
    response = await ops.gw.client.get(f"/gateway/v1/clients/{client_id}/usage", headers=admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_rate_limit_denials_per_client(ops: Ops) -> None:
    client_id, secret = await ops.gw.create_client(READ, tier="bronze")  # 5/second
    headers = {"Authorization": f"Bearer {await ops.gw.token(client_id, secret)}"}
    answers = await asyncio.gather(*(ops.gw.client.get(f"{BASE}/catalogue", headers=headers) for _ in range(12)))
    denied = sum(1 for answer in answers if answer.status_code == 429)
    assert denied >= 2, [answer.status_code for answer in answers]  # at most 5 + 5 over two windows
    await ops.gw.app.state.components.audit.flush()
    response = await ops.gw.client.get(f"{BASE}/dashboard", params={"hours": 1}, headers=ops.reader)
    assert response.status_code == 200, response.text
    denials = response.json()["rate_limit_denials"]
    by_client = {entry["client_id"]: entry for entry in denials["clients"]}
    assert by_client[client_id] == {"client_id": client_id, "name": "test-bronze", "denials": denied}
    assert denials["total"] >= denied


async def test_no_token_is_401(ops: Ops) -> None:
    for path in ("/dashboard", "/catalogue"):
        response = await ops.gw.client.get(f"{BASE}{path}")
        assert response.status_code == 401
        assert problem(response)["status"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_missing_scope_is_403(ops: Ops) -> None:
    headers = await ops.gw.bearer("process:operations:read")
    for path in ("/dashboard", "/catalogue"):
        response = await ops.gw.client.get(f"{BASE}{path}", headers=headers)
        assert response.status_code == 403
        assert "experience:operations:read" in problem(response).get("detail", "") + response.headers.get(
            "WWW-Authenticate", ""
        )


@pytest.mark.parametrize("hours", ["0", "169", "abc", "-1", "1.5"])
async def test_bad_hours_is_422_naming_it(ops: Ops, hours: str) -> None:
    response = await ops.gw.client.get(f"{BASE}/dashboard", params={"hours": hours}, headers=ops.reader)
    assert response.status_code == 422, response.text
    assert [(error["in"], error["name"]) for error in problem(response)["errors"]] == [("query", "hours")]

"""The grant rule of ``/gateway/v1/clients``, from the attacker's side (issue 12, finding 1).

The attacker is a clients-admin with few scopes (``gateway:clients:admin system:crm:read``).
Every escalation it tries — granting ``gateway:governance:admin``, a ``gateway:*`` scope it
lacks, another API's scopes, a ``grantable_scopes`` ceiling beyond its own, editing, rotating,
disabling or deleting itself, acting on a client that outranks it — is a 403 problem whose
type names the rule broken, changes nothing, and is audited as a denial. What the rule
allows still works, and every grant is audited (who, which scopes, to which client).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from tests.support.harness import Gateway, problem, running_gateway

pytestmark = pytest.mark.asyncio(loop_scope="module")

CLIENTS = "/gateway/v1/clients"
ADMIN = "gateway:clients:admin"
GOVERNANCE_ADMIN = "gateway:governance:admin"
ATTACKER_SCOPES = [ADMIN, "system:crm:read"]


@dataclass
class World:
    """One gateway, the attacker's token and a way to make clients as the operator (no limits)."""

    gw: Gateway
    attacker_id: str
    attacker: dict[str, str]

    async def client(self, scopes: list[str], **fields: Any) -> str:
        """A client made by the operator (the store, as the CLI does)."""
        record, _ = await self.gw.oauth.clients.create("target", scopes, "gold", **fields)
        return str(record.client_id)

    async def admin_token(self, scopes: list[str], **fields: Any) -> tuple[str, dict[str, str]]:
        record, secret = await self.gw.oauth.clients.create("admin", scopes, "internal", **fields)
        return record.client_id, {"Authorization": f"Bearer {await self.gw.token(record.client_id, secret)}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with running_gateway(tmp_path_factory.mktemp("grants")) as gw:
        attacker_id, attacker = await World(gw, "", {}).admin_token(ATTACKER_SCOPES)
        yield World(gw, attacker_id, attacker)


Attempt = Callable[[World], Any]
"""Builds ``(method, path, json body, headers)`` for one attempt (awaitable: it may make targets)."""


async def _create(world: World, scopes: list[str], **fields: Any) -> tuple[str, str, Any, dict[str, str]]:
    return "POST", CLIENTS, {"name": "escalated", "scopes": scopes, "tier": "gold", **fields}, world.attacker


async def _on_target(
    world: World, method: str, suffix: str, body: Any, scopes: list[str] | None = None, **fields: Any
) -> tuple[str, str, Any, dict[str, str]]:
    target = await world.client(scopes or ["system:crm:read"], **fields)
    return method, f"{CLIENTS}/{target}{suffix}", body, world.attacker


async def _on_self(world: World, method: str, suffix: str, body: Any) -> tuple[str, str, Any, dict[str, str]]:
    return method, f"{CLIENTS}/{world.attacker_id}{suffix}", body, world.attacker


async def _capped_admin(world: World, body_scopes: list[str]) -> tuple[str, str, Any, dict[str, str]]:
    """An admin whose ceiling is system:crm:read only: it lacks gateway:clients:admin as a grant."""
    _, headers = await world.admin_token([ADMIN], grantable_scopes=["system:crm:read"])
    return "POST", CLIENTS, {"name": "escalated", "scopes": body_scopes, "tier": "gold"}, headers


async def _ceiling_with_gateway_scope(world: World) -> tuple[str, str, Any, dict[str, str]]:
    """A ceiling naming gateway:governance:admin does not let a client that lacks it grant it."""
    _, headers = await world.admin_token([ADMIN], grantable_scopes=[GOVERNANCE_ADMIN, "system:crm:read"])
    return "POST", CLIENTS, {"name": "escalated", "scopes": [GOVERNANCE_ADMIN], "tier": "gold"}, headers


REFUSED: dict[str, tuple[Attempt, str, str]] = {
    # name: (attempt, problem type suffix, field the problem points at)
    "create with gateway:governance:admin": (
        lambda w: _create(w, [GOVERNANCE_ADMIN]),
        "grant-exceeds-granter",
        "/scopes/0",
    ),
    "create with a gateway:* scope it lacks": (
        lambda w: _create(w, ["gateway:audit:read"]),
        "grant-exceeds-granter",
        "/scopes/0",
    ),
    "create a clients-admin beyond its ceiling": (
        lambda w: _capped_admin(w, [ADMIN]),
        "grant-exceeds-granter",
        "/scopes/0",
    ),
    "create with a ceiling naming a gateway scope it lacks": (
        _ceiling_with_gateway_scope,
        "grant-exceeds-granter",
        "/scopes/0",
    ),
    "create with another API's scopes": (
        lambda w: _create(w, ["system:crm:read", "system:erp:write"]),
        "grant-exceeds-granter",
        "/scopes/1",
    ),
    "create with grantable_scopes beyond its own": (
        lambda w: _create(w, ["system:crm:read"], grantable_scopes=["system:erp:read"]),
        "grant-exceeds-granter",
        "/grantable_scopes/0",
    ),
    "update a client to gateway:governance:admin": (
        lambda w: _on_target(w, "PATCH", "", {"scopes": ["system:crm:read", GOVERNANCE_ADMIN]}),
        "grant-exceeds-granter",
        "/scopes/1",
    ),
    "update a client's grantable_scopes beyond its own": (
        lambda w: _on_target(w, "PATCH", "", {"grantable_scopes": [GOVERNANCE_ADMIN]}),
        "grant-exceeds-granter",
        "/grantable_scopes/0",
    ),
    "edit itself (even to fewer scopes)": (
        lambda w: _on_self(w, "PATCH", "", {"scopes": [ADMIN]}),
        "self-management",
        "client_id",
    ),
    "raise its own ceiling": (
        lambda w: _on_self(w, "PATCH", "", {"grantable_scopes": [GOVERNANCE_ADMIN]}),
        "self-management",
        "client_id",
    ),
    "rotate its own secret": (lambda w: _on_self(w, "POST", "/secret", {}), "self-management", "client_id"),
    "disable itself": (lambda w: _on_self(w, "POST", "/disable", None), "self-management", "client_id"),
    "delete itself": (lambda w: _on_self(w, "DELETE", "", None), "self-management", "client_id"),
    "rotate the secret of a governance admin": (
        lambda w: _on_target(w, "POST", "/secret", {}, [GOVERNANCE_ADMIN]),
        "client-outranks-caller",
        "client_id",
    ),
    "disable a governance admin": (
        lambda w: _on_target(w, "POST", "/disable", None, [GOVERNANCE_ADMIN]),
        "client-outranks-caller",
        "client_id",
    ),
    "delete a governance admin": (
        lambda w: _on_target(w, "DELETE", "", None, [GOVERNANCE_ADMIN]),
        "client-outranks-caller",
        "client_id",
    ),
    "rename a client with another API's scopes": (
        lambda w: _on_target(w, "PATCH", "", {"name": "mine now"}, ["system:erp:write"]),
        "client-outranks-caller",
        "client_id",
    ),
    "reduce a client whose ceiling reaches beyond it": (
        lambda w: _on_target(w, "PATCH", "", {"scopes": ["system:crm:read"]}, grantable_scopes=["system:erp:write"]),
        "client-outranks-caller",
        "client_id",
    ),
}


async def _send(world: World, attempt: Attempt) -> tuple[httpx.Response, str, str]:
    method, path, body, headers = await attempt(world)
    before = (await world.gw.client.get(CLIENTS, params={"limit": 200}, headers=world.attacker)).json()["items"]
    response = await world.gw.client.request(method, path, json=body, headers=headers)
    after = (await world.gw.client.get(CLIENTS, params={"limit": 200}, headers=world.attacker)).json()["items"]
    return response, repr(before), repr(after)


@pytest.mark.parametrize("case", list(REFUSED))
async def test_escalations_are_refused_naming_the_rule(world: World, case: str) -> None:
    attempt, rule, field = REFUSED[case]
    response, before, after = await _send(world, attempt)
    assert response.status_code == 403, response.text
    body = problem(response)
    assert body["type"].endswith("/" + rule), body
    assert any(error.get("pointer", error.get("name")) == field for error in body["errors"]), body
    assert after == before  # nothing created or changed


async def test_refusals_are_audited_as_denials(world: World) -> None:
    response, _, _ = await _send(world, REFUSED["create with gateway:governance:admin"][0])
    assert response.status_code == 403
    await world.gw.app.state.components.audit.flush()
    auditor = await world.gw.bearer("gateway:audit:read")
    events = await world.gw.client.get(
        "/gateway/v1/audit/events",
        params={"client_id": world.attacker_id, "route": CLIENTS, "outcome": "denied"},
        headers=auditor,
    )
    [event, *_] = events.json()["items"]
    assert event["policy"] == "client_grants" and event["status"] == 403
    assert GOVERNANCE_ADMIN in event["reason"]


async def test_what_the_rule_allows_still_works_and_every_grant_is_audited(world: World) -> None:
    gw = world.gw
    created = await gw.client.post(
        CLIENTS, json={"name": "crm-reader", "scopes": ["system:crm:read"], "tier": "gold"}, headers=world.attacker
    )
    assert created.status_code == 201, created.text
    new_id = created.json()["client_id"]
    assert created.json()["grantable_scopes"] is None
    token = await gw.token(new_id, created.json()["client_secret"])
    reads = await gw.client.get("/system/crm/v1/accounts", headers={"Authorization": f"Bearer {token}"})
    assert reads.status_code == 200, reads.text
    path = f"{CLIENTS}/{new_id}"
    assert (await gw.client.patch(path, json={"name": "renamed"}, headers=world.attacker)).status_code == 200
    capped = await gw.client.patch(path, json={"grantable_scopes": ["system:crm:read"]}, headers=world.attacker)
    assert capped.status_code == 200 and capped.json()["grantable_scopes"] == ["system:crm:read"]
    assert (await gw.client.post(f"{path}/secret", json={}, headers=world.attacker)).status_code == 200
    assert (await gw.client.post(f"{path}/disable", headers=world.attacker)).status_code == 200
    assert (await gw.client.post(f"{path}/enable", headers=world.attacker)).status_code == 200
    assert (await gw.client.delete(path, headers=world.attacker)).status_code == 204

    # An admin with a ceiling grants what it does not use itself, and nothing beyond.
    ceiling_id, ceiling_admin = await world.admin_token([ADMIN], grantable_scopes=["system:erp:read", ADMIN])
    shown = await gw.client.get(f"{CLIENTS}/{ceiling_id}", headers=world.attacker)
    assert shown.json()["grantable_scopes"] == ["system:erp:read", ADMIN]
    erp = await gw.client.post(
        CLIENTS, json={"name": "erp-reader", "scopes": ["system:erp:read"], "tier": "gold"}, headers=ceiling_admin
    )
    assert erp.status_code == 201, erp.text
    beyond = await gw.client.post(
        CLIENTS, json={"name": "crm", "scopes": ["system:crm:read"], "tier": "gold"}, headers=ceiling_admin
    )
    assert beyond.status_code == 403  # its own scopes do not count once a ceiling is set

    await gw.app.state.components.audit.flush()
    auditor = await gw.bearer("gateway:audit:read")
    events = await gw.client.get(
        "/gateway/v1/audit/events", params={"route": CLIENTS, "outcome": "allowed"}, headers=auditor
    )
    grants = {(event["client_id"], event["reason"]) for event in events.json()["items"]}
    assert (
        world.attacker_id,
        f"created client {new_id} (tier gold); granted scopes: system:crm:read; grantable_scopes: (its own scopes)",
    ) in grants
    assert (
        ceiling_id,
        f"created client {erp.json()['client_id']} (tier gold); granted scopes: system:erp:read;"
        " grantable_scopes: (its own scopes)",
    ) in grants
    updates = await gw.client.get(
        "/gateway/v1/audit/events", params={"route": f"{CLIENTS}/{{client_id}}", "outcome": "allowed"}, headers=auditor
    )
    assert f"updated client {new_id}: grantable_scopes; grantable_scopes: system:crm:read" in [
        event["reason"] for event in updates.json()["items"]
    ]


async def test_a_grant_of_many_scopes_is_audited_whole(world: World) -> None:
    """A note longer than one audit record continues in more records of the same request."""
    scopes = [f"system:api-number-{index:02d}-with-a-long-name:read" for index in range(20)]
    _, admin = await world.admin_token([ADMIN], grantable_scopes=scopes)
    created = await world.gw.client.post(
        CLIENTS, json={"name": "wide", "scopes": scopes, "tier": "gold"}, headers=admin
    )
    assert created.status_code == 201, created.text
    await world.gw.app.state.components.audit.flush()
    auditor = await world.gw.bearer("gateway:audit:read")
    request_id = created.headers["x-request-id"]
    events = await world.gw.client.get("/gateway/v1/audit/events", params={"limit": 200}, headers=auditor)
    mine = sorted(
        (int(event["id"]), event["reason"]) for event in events.json()["items"] if event["request_id"] == request_id
    )
    [first] = [reason for _, reason in mine if not reason.startswith("(continued) ")]  # the request's own record
    rest = [reason.removeprefix("(continued) ") for _, reason in mine if reason.startswith("(continued) ")]
    assert rest
    text = first + "".join(rest)
    assert all(scope in text for scope in scopes)


async def test_the_reported_exploit_no_longer_works(world: World) -> None:
    """Issue 12: POST with ["gateway:governance:admin"] answered 201 and the token read /gateway/v1/governance."""
    response = await world.gw.client.post(
        CLIENTS, json={"name": "x", "scopes": [GOVERNANCE_ADMIN], "tier": "gold"}, headers=world.attacker
    )
    assert response.status_code == 403
    assert "client_secret" not in response.text

"""Introspection and the gateway's own pipeline decide alike, token by token (one decision function).

For each case a client holding two scopes gets a token; the case is then applied (disable,
delete, re-enable, revoke, scope reduction, expiry). The token is introspected and presented
to two governed routes, one per scope: ``active`` must be false exactly when both routes answer
401, and when active, a route answers 200 exactly when its scope is in the introspected
``scope`` (403 otherwise). Each case also says what the answer must be, so agreement on a
wrong answer fails too; every case is checked before the one assertion, which lists them all.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import time_machine

from tests.support.clock import movable_clock
from tests.support.harness import Gateway, running_gateway

CATALOG_READ, AUDIT_READ = "gateway:catalog:read", "gateway:audit:read"
ROUTES = {CATALOG_READ: "/gateway/v1/catalogue", AUDIT_READ: "/gateway/v1/audit/events"}
INTROSPECTOR_SCOPE = "gateway:oauth:read"

EXPECTED: dict[str, str | None] = {
    # case -> the scope the token still holds (space-separated), or None: inactive / 401
    "active": f"{CATALOG_READ} {AUDIT_READ}",
    "disabled": None,
    "deleted": None,
    "re-enabled after a disable": None,
    "revoked jti": None,
    "scopes reduced": AUDIT_READ,
    "scopes reduced then restored": f"{CATALOG_READ} {AUDIT_READ}",
}


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


async def _introspect(gw: Gateway, introspector: tuple[str, str], token: str) -> dict[str, object]:
    response = await gw.client.post("/oauth/introspect", data={"token": token}, auth=introspector)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def _pipeline(gw: Gateway, token: str) -> dict[str, int]:
    headers = {"Authorization": f"Bearer {token}"}
    return {scope: (await gw.client.get(path, headers=headers)).status_code for scope, path in ROUTES.items()}


def _decisions(introspected: dict[str, object], statuses: dict[str, int]) -> tuple[str | None, str | None]:
    """(what introspection grants, what the pipeline grants): the scopes held, or None for a refused token."""
    by_introspection = str(introspected.get("scope")) if introspected["active"] is True else None
    if statuses == dict.fromkeys(ROUTES, 401):
        return by_introspection, None
    if set(statuses.values()) <= {200, 403}:
        return by_introspection, " ".join(scope for scope in ROUTES if statuses[scope] == 200)
    return by_introspection, f"unexpected statuses {statuses}"


async def _apply(gw: Gateway, case: str, client_id: str, secret: str, token: str) -> None:
    clients = gw.oauth.clients
    if case == "disabled":
        await clients.disable(client_id)
    elif case == "deleted":
        await clients.delete(client_id)
    elif case == "re-enabled after a disable":
        await clients.disable(client_id)
        await clients.enable(client_id)
    elif case == "revoked jti":
        revoked = await gw.client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
        assert revoked.status_code == 200
    elif case == "scopes reduced":
        await clients.update(client_id, scopes=[AUDIT_READ])
    elif case == "scopes reduced then restored":
        await clients.update(client_id, scopes=[AUDIT_READ])
        await clients.update(client_id, scopes=[CATALOG_READ, AUDIT_READ])


async def test_introspection_answers_as_the_pipeline_decides(gw: Gateway) -> None:
    introspector = await gw.create_client(INTROSPECTOR_SCOPE)
    tokens: dict[str, tuple[str, str, str]] = {}
    seen: dict[str, tuple[str | None, str | None]] = {}
    with movable_clock() as clock:
        for case in EXPECTED:
            client_id, secret = await gw.create_client(f"{CATALOG_READ} {AUDIT_READ}")
            token = await gw.token(client_id, secret)
            tokens[case] = (client_id, secret, token)
        clock.shift(1.05)  # iat is whole seconds: the changes come in a later second than the tokens
        for case, (client_id, secret, token) in tokens.items():
            await _apply(gw, case, client_id, secret, token)
            seen[case] = _decisions(await _introspect(gw, introspector, token), await _pipeline(gw, token))
    # Expired: past exp and the pipeline's leeway, the live token of the "active" case.
    _, _, token = tokens["active"]
    leeway = gw.app.state.governance.authentication.leeway_seconds
    later = time.time() + gw.app.state.settings.token_ttl_seconds + leeway + 1
    with time_machine.travel(later, tick=False):
        seen["expired"] = _decisions(await _introspect(gw, introspector, token), await _pipeline(gw, token))

    expected = {case: (held, held) for case, held in {**EXPECTED, "expired": None}.items()}
    assert seen == expected


async def test_within_the_leeway_an_expired_token_is_active_for_both(gw: Gateway) -> None:
    """The pipeline accepts a token up to ``leeway_seconds`` past ``exp``: introspection says so too."""
    introspector = await gw.create_client(INTROSPECTOR_SCOPE)
    client_id, secret = await gw.create_client(f"{CATALOG_READ} {AUDIT_READ}")
    token = await gw.token(client_id, secret)
    leeway = gw.app.state.governance.authentication.leeway_seconds
    assert leeway >= 2
    just_expired = time.time() + gw.app.state.settings.token_ttl_seconds + leeway / 2
    with time_machine.travel(just_expired, tick=False):
        decisions = _decisions(await _introspect(gw, introspector, token), await _pipeline(gw, token))
    assert decisions == (EXPECTED["active"], EXPECTED["active"])

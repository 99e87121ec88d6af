"""``/gateway/v1/clients``: lifecycle, secret rotation, live tokens, limits, and the unhappy paths."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support.clock import movable_clock
from tests.support.harness import Gateway, problem, running_gateway

CLIENTS = "/gateway/v1/clients"
CATALOGUE = "/gateway/v1/catalogue"


@pytest.fixture
async def gw(tmp_path: Path) -> AsyncIterator[Gateway]:
    async with running_gateway(tmp_path / "state") as gateway:
        yield gateway


@pytest.fixture
async def admin(gw: Gateway) -> dict[str, str]:
    # It holds the scope these tests give clients: a caller grants only scopes within its grantable set.
    return await gw.bearer("gateway:clients:admin gateway:audit:read gateway:catalog:read", tier="internal")


async def _create(gw: Gateway, admin: dict[str, str], **fields: object) -> dict[str, object]:
    body = {"name": "acme-erp-sync", "scopes": ["gateway:catalog:read"], "tier": "bronze", **fields}
    response = await gw.client.post(CLIENTS, json=body, headers=admin)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def _token(gw: Gateway, client_id: object, secret: object) -> httpx.Response:
    return await gw.client.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(str(client_id), str(secret))
    )


async def _bearer(gw: Gateway, client: dict[str, object]) -> dict[str, str]:
    response = await _token(gw, client["client_id"], client["client_secret"])
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_create_shows_the_secret_once_and_never_again(gw: Gateway, admin: dict[str, str]) -> None:
    created = await _create(gw, admin, partner_id="P-1")
    assert created["client_secret"] and created["status"] == "active" and created["partner_id"] == "P-1"
    shown = await gw.client.get(f"{CLIENTS}/{created['client_id']}", headers=admin)
    assert shown.status_code == 200
    assert "client_secret" not in shown.json() and str(created["client_secret"]) not in shown.text
    listed = await gw.client.get(CLIENTS, headers=admin)
    assert created["client_id"] in [item["client_id"] for item in listed.json()["items"]]
    assert str(created["client_secret"]) not in listed.text
    assert (await _token(gw, created["client_id"], created["client_secret"])).status_code == 200


async def test_every_wrong_field_is_listed(gw: Gateway, admin: dict[str, str]) -> None:
    body = {"name": "x", "scopes": ["system:crm:read"], "tier": "platinum", "partner_id": "P", "customer_id": "C"}
    response = await gw.client.post(CLIENTS, json=body, headers=admin)
    assert response.status_code == 422
    pointers = {error["pointer"] for error in problem(response)["errors"]}
    assert pointers == {"/tier", "/customer_id"}
    assert "bronze" in str(problem(response)["errors"])  # the allowed tiers are named


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "x", "scopes": ["crm-read"], "tier": "gold"}, "/scopes/0"),
        ({"name": "x", "scopes": [], "tier": "gold"}, "/scopes"),
        ({"name": "x", "scopes": ["system:crm:read"], "tier": "gold", "secret": "mine"}, ""),
        ({"name": "x", "scopes": ["system:crm:read"], "tier": "gold", "rate_limits": ["lots"]}, "/rate_limits/0"),
        ({"scopes": ["system:crm:read"], "tier": "gold"}, ""),
    ],
)
async def test_malformed_bodies_are_422_naming_the_field(
    gw: Gateway, admin: dict[str, str], body: dict[str, object], pointer: str
) -> None:
    response = await gw.client.post(CLIENTS, json=body, headers=admin)
    assert response.status_code == 422, response.text
    assert pointer in {error.get("pointer") for error in problem(response)["errors"]}
    names = [item["name"] for item in (await gw.client.get(CLIENTS, headers=admin)).json()["items"]]
    assert names == ["test-internal"]  # only the admin: nothing half-written


async def test_scopes_and_credentials_are_enforced(gw: Gateway, admin: dict[str, str]) -> None:
    assert (await gw.client.get(CLIENTS)).status_code == 401
    auditor = await gw.bearer("gateway:audit:read")
    denied = await gw.client.get(CLIENTS, headers=auditor)
    assert denied.status_code == 403
    assert 'scope="gateway:clients:admin"' in denied.headers["www-authenticate"]
    admin_only = await gw.bearer("gateway:clients:admin")
    assert (await gw.client.get(CATALOGUE, headers=admin_only)).status_code == 403  # catalog:read is its own scope


async def test_unknown_clients_and_forged_cursors(gw: Gateway, admin: dict[str, str]) -> None:
    for method, path in (
        ("GET", f"{CLIENTS}/cli_nobody"),
        ("PATCH", f"{CLIENTS}/cli_nobody"),
        ("DELETE", f"{CLIENTS}/cli_nobody"),
        ("POST", f"{CLIENTS}/cli_nobody/disable"),
        ("POST", f"{CLIENTS}/cli_nobody/secret"),
        ("GET", f"{CLIENTS}/cli_nobody/usage"),
    ):
        response = await gw.client.request(method, path, headers=admin, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path, response.text)
        assert problem(response)["request_id"]
    forged = await gw.client.get(CLIENTS, params={"cursor": "bm90LWEtY2xpZW50"}, headers=admin)
    assert forged.status_code == 422
    assert problem(forged)["errors"][0]["name"] == "cursor"


async def test_pages_follow_their_cursor(gw: Gateway, admin: dict[str, str]) -> None:
    ids = [str((await _create(gw, admin, name=f"c{index}"))["client_id"]) for index in range(3)]
    first = await gw.client.get(CLIENTS, params={"limit": 2, "tier": "bronze"}, headers=admin)
    assert [item["client_id"] for item in first.json()["items"]] == ids[:2]
    assert 'rel="next"' in first.headers["link"]
    # A cursor pages the list it came from, filters included (core.cursors): the tier filter goes along.
    following = {"limit": 2, "tier": "bronze", "cursor": first.json()["next_cursor"]}
    second = await gw.client.get(CLIENTS, params=following, headers=admin)
    assert [item["client_id"] for item in second.json()["items"] if item["tier"] == "bronze"] == ids[2:]


async def test_disabling_refuses_live_tokens_and_enabling_does_not_revive_them(
    gw: Gateway, admin: dict[str, str]
) -> None:
    client = await _create(gw, admin)
    with movable_clock() as clock:
        old = await _bearer(gw, client)
        assert (await gw.client.get(CATALOGUE, headers=old)).status_code == 200
        clock.shift(1.05)  # iat is whole seconds: the disabling must come in a later second
        disabled = await gw.client.post(f"{CLIENTS}/{client['client_id']}/disable", headers=admin)
        assert disabled.status_code == 200 and disabled.json()["status"] == "disabled"
        refused = await gw.client.get(CATALOGUE, headers=old)
        assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
        assert (await _token(gw, client["client_id"], client["client_secret"])).json()["error"] == "invalid_client"
        listed = await gw.client.get(CLIENTS, params={"status": "disabled"}, headers=admin)
        assert [item["client_id"] for item in listed.json()["items"]] == [client["client_id"]]

        clock.shift(1.05)
        enabled = await gw.client.post(f"{CLIENTS}/{client['client_id']}/enable", headers=admin)
        assert enabled.json()["status"] == "active" and enabled.json()["disabled_at"] is None
        assert (await gw.client.get(CATALOGUE, headers=old)).status_code == 401
        assert (await gw.client.get(CATALOGUE, headers=await _bearer(gw, client))).status_code == 200


async def test_deleting_is_for_good(gw: Gateway, admin: dict[str, str]) -> None:
    client = await _create(gw, admin)
    token = await _bearer(gw, client)
    path = f"{CLIENTS}/{client['client_id']}"
    assert (await gw.client.delete(path, headers=admin)).status_code == 204
    assert (await gw.client.get(path, headers=admin)).status_code == 404
    assert (await gw.client.delete(path, headers=admin)).status_code == 404
    assert (await gw.client.post(f"{path}/enable", headers=admin)).status_code == 404
    assert (await gw.client.get(CATALOGUE, headers=token)).status_code == 401
    assert (await _token(gw, client["client_id"], client["client_secret"])).json()["error"] == "invalid_client"
    assert client["client_id"] not in (await gw.client.get(CLIENTS, headers=admin)).text


async def test_rotation_keeps_the_old_secret_for_the_overlap_only(gw: Gateway, admin: dict[str, str]) -> None:
    client = await _create(gw, admin)
    path = f"{CLIENTS}/{client['client_id']}/secret"
    with movable_clock() as clock:
        rotated = await gw.client.post(path, json={"previous_secret_valid_for": 1}, headers=admin)
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["client_secret"]
        assert new_secret and new_secret != client["client_secret"] and rotated.json()["previous_secret_expires_at"]
        assert (await _token(gw, client["client_id"], client["client_secret"])).status_code == 200
        assert (await _token(gw, client["client_id"], new_secret)).status_code == 200
        clock.shift(1.1)
        assert (await _token(gw, client["client_id"], client["client_secret"])).status_code == 401
        assert (await _token(gw, client["client_id"], new_secret)).status_code == 200

    immediate = await gw.client.post(path, json={"previous_secret_valid_for": 0}, headers=admin)
    assert (await _token(gw, client["client_id"], new_secret)).status_code == 401
    assert (await _token(gw, client["client_id"], immediate.json()["client_secret"])).status_code == 200
    too_long = await gw.client.post(path, json={"previous_secret_valid_for": 40 * 86400}, headers=admin)
    assert too_long.status_code == 422
    assert problem(too_long)["errors"][0]["pointer"] == "/previous_secret_valid_for"


async def test_private_key_jwt_clients_have_no_secret_to_rotate(gw: Gateway, admin: dict[str, str]) -> None:
    from joserfc.jwk import ECKey

    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    client = await _create(gw, admin, jwks=jwks)
    assert client["client_secret"] is None and client["auth_method"] == "private_key_jwt"
    response = await gw.client.post(f"{CLIENTS}/{client['client_id']}/secret", headers=admin)
    assert response.status_code == 422
    assert problem(response)["errors"][0]["name"] == "client_id"
    symmetric = {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}  # a shared secret is not a public key
    refused = await gw.client.post(
        CLIENTS,
        json={"name": "x", "scopes": ["gateway:catalog:read"], "tier": "gold", "jwks": symmetric},
        headers=admin,
    )
    assert refused.status_code == 422
    assert any(error["pointer"].startswith("/jwks") for error in problem(refused)["errors"])


async def test_tier_and_limits_changes_apply_to_live_tokens(gw: Gateway, admin: dict[str, str]) -> None:
    client = await _create(gw, admin)  # bronze: 5/second, 2000/day
    token = await _bearer(gw, client)
    path = f"{CLIENTS}/{client['client_id']}"
    assert '"5-per-second"' in (await gw.client.get(CATALOGUE, headers=token)).headers["ratelimit-policy"]

    changed = await gw.client.patch(path, json={"rate_limits": ["2/second", "1000/day"]}, headers=admin)
    assert changed.status_code == 200 and changed.json()["rate_limits"] == ["2/second", "1000/day"]
    policy = (await gw.client.get(CATALOGUE, headers=token)).headers["ratelimit-policy"]
    assert policy == '"2-per-second";q=2;w=1, "1000-per-day";q=1000;w=86400'

    await gw.client.patch(path, json={"rate_limits": None, "tier": "gold"}, headers=admin)
    policy = (await gw.client.get(CATALOGUE, headers=token)).headers["ratelimit-policy"]
    assert '"2-per-second"' not in policy and '"5-per-second"' not in policy

    wrong = await gw.client.patch(path, json={"tier": "platinum", "name": ""}, headers=admin)
    assert wrong.status_code == 422
    assert (await gw.client.get(path, headers=admin)).json()["tier"] == "gold"  # nothing half-written


async def test_usage_reports_windows_today_and_denials(gw: Gateway, admin: dict[str, str]) -> None:
    client = await _create(gw, admin, rate_limits=["1000/day"])
    token = await _bearer(gw, client)
    for _ in range(3):
        assert (await gw.client.get(CATALOGUE, headers=token)).status_code == 200
    assert (await gw.client.get(CLIENTS, headers=token)).status_code == 403  # a denial by authorization
    await gw.app.state.components.audit.flush()
    usage = await gw.client.get(f"{CLIENTS}/{client['client_id']}/usage", headers=admin)
    assert usage.status_code == 200, usage.text
    body = usage.json()
    # Reading the usage consumes nothing; the refused request was admitted by the limiter
    # (authorization runs first and refused it, so it never reached the limiter).
    assert [(item["name"], item["used"], item["remaining"]) for item in body["limits"]] == [("1000-per-day", 3, 997)]
    assert body["today"]["units_admitted"] == 3
    assert body["today"]["denials_by_policy"] == {"authorization": 1}
    again = await gw.client.get(f"{CLIENTS}/{client['client_id']}/usage", headers=admin)
    assert again.json()["today"]["units_admitted"] == 3


async def test_private_key_jwt_clients_may_register_a_jwks_uri(gw: Gateway, admin: dict[str, str]) -> None:
    from joserfc.jwk import ECKey

    created = await _create(gw, admin, jwks_uri="https://keys.acme.example/jwks.json")
    assert created["auth_method"] == "private_key_jwt" and created["client_secret"] is None
    assert created["jwks_uri"] == "https://keys.acme.example/jwks.json" and created["jwks"] is None
    jwks = {"keys": [ECKey.generate_key("P-256").as_dict(private=False)]}
    both = await gw.client.post(
        CLIENTS,
        json={"name": "x", "scopes": ["gateway:catalog:read"], "tier": "gold", "jwks": jwks, "jwks_uri": "https://a/b"},
        headers=admin,
    )
    assert both.status_code == 422 and [e["pointer"] for e in problem(both)["errors"]] == ["/jwks_uri"]
    plain = await gw.client.post(
        CLIENTS,
        json={"name": "x", "scopes": ["gateway:catalog:read"], "tier": "gold", "jwks_uri": "http://keys.acme.example/"},
        headers=admin,
    )
    assert plain.status_code == 422 and "https" in problem(plain)["errors"][0]["detail"]


async def test_removing_a_scope_applies_to_live_tokens_at_once(gw: Gateway, admin: dict[str, str]) -> None:
    audit_events = "/gateway/v1/audit/events"
    client = await _create(gw, admin, scopes=["gateway:catalog:read", "gateway:audit:read"])
    token = await _bearer(gw, client)
    assert (await gw.client.get(CATALOGUE, headers=token)).status_code == 200
    path = f"{CLIENTS}/{client['client_id']}"

    reduced = await gw.client.patch(path, json={"scopes": ["gateway:audit:read"]}, headers=admin)
    assert reduced.status_code == 200, reduced.text
    refused = await gw.client.get(CATALOGUE, headers=token)  # the same live token, at once
    assert refused.status_code == 403 and problem(refused)["type"].endswith("/insufficient-scope")
    assert (await gw.client.get(audit_events, headers=token)).status_code == 200  # what it still has
    fresh = await _token(gw, client["client_id"], client["client_secret"])
    assert fresh.json()["scope"] == "gateway:audit:read"

    # A token holds what it was issued with that its client still has: given back, it is back.
    await gw.client.patch(path, json={"scopes": ["gateway:catalog:read", "gateway:audit:read"]}, headers=admin)
    assert (await gw.client.get(CATALOGUE, headers=token)).status_code == 200

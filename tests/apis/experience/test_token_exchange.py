"""RFC 8693 token exchange at /oauth/token: a portal back end's token → a customer-bound one."""

from __future__ import annotations

import time
from typing import Any

import pytest
from joserfc import jwt

from tests.apis.experience.conftest import ACCESS_TOKEN_TYPE, ACT, EXCHANGE, PORTAL, READ, Portal

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def _portal_client(portal: Portal, scopes: str = f"{READ} {ACT}") -> tuple[str, str, str]:
    client_id, secret = await portal.gw.create_client(scopes, tier="internal")
    return client_id, secret, await portal.gw.token(client_id, secret)


async def _exchange(portal: Portal, client_id: str, secret: str, **form: str) -> Any:
    body = {"grant_type": EXCHANGE, "subject_token_type": ACCESS_TOKEN_TYPE, **form}
    body = {k: v for k, v in body.items() if v != ""}
    return await portal.gw.client.post("/oauth/token", data=body, auth=(client_id, secret))


def _claims(portal: Portal, token: str) -> dict[str, Any]:
    """The claims of a token, its signature checked against the published keys."""
    return dict(jwt.decode(token, portal.gw.oauth.keys.public_keyset(), algorithms=["RS256"]).claims)


async def test_exchange_issues_a_short_lived_customer_bound_token(portal: Portal) -> None:
    client_id, secret, own = await _portal_client(portal)
    response = await _exchange(portal, client_id, secret, subject_token=own, customer_id=portal.a.crm_account_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["scope"] == READ
    assert 0 < body["expires_in"] <= 300
    claims = _claims(portal, body["access_token"])
    assert claims["act"] == {"sub": client_id}
    assert claims["customer_id"] == portal.a.crm_account_id
    assert claims["client_id"] == client_id
    assert claims["scope"] == READ
    assert claims["exp"] - int(time.time()) <= 300
    assert claims["exp"] - claims["iat"] <= 300

    # The exchanged token is confined like a customer-bound one.
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    a, b = portal.a, portal.b
    for path in (f"/customers/{a.crm_account_id}/overview", f"/invoices/{a.invoice_id}"):
        assert (await portal.gw.client.get(PORTAL + path, headers=headers)).status_code == 200
    for path in (
        f"/customers/{b.crm_account_id}/overview",
        f"/customers/{b.crm_account_id}/invoices",
        f"/invoices/{b.invoice_id}",
        f"/subscriptions/{b.subscription_id}/usage",
    ):
        assert (await portal.gw.client.get(PORTAL + path, headers=headers)).status_code == 404, path
    # ... and it reaches no other API.
    assert (await portal.gw.client.get("/system/crm/v1/accounts", headers=headers)).status_code == 403


async def test_metadata_advertises_token_exchange(portal: Portal) -> None:
    document = (await portal.gw.client.get("/.well-known/oauth-authorization-server")).json()
    assert EXCHANGE in document["grant_types_supported"]
    assert "client_credentials" in document["grant_types_supported"]


async def test_lifetime_never_exceeds_the_subject_token(tmp_path: Any) -> None:
    from tests.support.harness import running_gateway

    async with running_gateway(tmp_path, token_ttl_seconds=60, token_exchange_ttl_seconds=600) as gw:
        client_id, secret = await gw.create_client(f"{READ} {ACT}", tier="internal")
        own = await gw.token(client_id, secret)
        response = await gw.client.post(
            "/oauth/token",
            data={
                "grant_type": EXCHANGE,
                "subject_token": own,
                "subject_token_type": ACCESS_TOKEN_TYPE,
                "customer_id": "001ABC",
            },
            auth=(client_id, secret),
        )
        assert response.status_code == 200, response.text
        assert response.json()["expires_in"] <= 60


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("no_subject_token", "invalid_request"),
        ("no_subject_token_type", "invalid_request"),
        ("wrong_subject_token_type", "invalid_request"),
        ("no_customer_id", "invalid_request"),
        ("bad_customer_id", "invalid_request"),
        ("actor_token", "invalid_request"),
        ("garbage_subject_token", "invalid_grant"),
        ("someone_elses_subject_token", "invalid_grant"),
        ("exchanged_token_as_subject", "invalid_grant"),
        ("revoked_subject_token", "invalid_grant"),
        ("scope_beyond_portal", "invalid_scope"),
        ("act_scope_requested", "invalid_scope"),
    ],
)
async def test_refusals(portal: Portal, case: str, error: str) -> None:
    client_id, secret, own = await _portal_client(portal)
    form: dict[str, str] = {"subject_token": own, "customer_id": portal.a.crm_account_id}
    if case == "no_subject_token":
        form["subject_token"] = ""
    elif case == "no_subject_token_type":
        form["subject_token_type"] = ""
    elif case == "wrong_subject_token_type":
        form["subject_token_type"] = "urn:ietf:params:oauth:token-type:id_token"
    elif case == "no_customer_id":
        form["customer_id"] = ""
    elif case == "bad_customer_id":
        form["customer_id"] = "a b/c"
    elif case == "actor_token":
        form["actor_token"] = own
    elif case == "garbage_subject_token":
        form["subject_token"] = "not.a.token"
    elif case == "someone_elses_subject_token":
        _other_id, _other_secret, other = await _portal_client(portal)
        form["subject_token"] = other
    elif case == "exchanged_token_as_subject":
        first = await _exchange(portal, client_id, secret, **form)
        form["subject_token"] = first.json()["access_token"]
    elif case == "revoked_subject_token":
        revoked = await portal.gw.client.post("/oauth/revoke", data={"token": own}, auth=(client_id, secret))
        assert revoked.status_code == 200
    elif case == "scope_beyond_portal":
        form["scope"] = f"{READ} system:crm:read"
    elif case == "act_scope_requested":
        form["scope"] = ACT
    response = await _exchange(portal, client_id, secret, **form)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == error, body
    assert set(body) == {"error", "error_description"}
    assert response.headers["cache-control"] == "no-store"


async def test_a_client_without_the_act_scope_is_unauthorized(portal: Portal) -> None:
    client_id, secret, own = await _portal_client(portal, READ)
    response = await _exchange(portal, client_id, secret, subject_token=own, customer_id=portal.a.crm_account_id)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"
    # A customer-bound client cannot exchange either, even holding the act scope.
    bound_id, bound_secret = await portal.gw.create_client(f"{READ} {ACT}", customer_id=portal.a.crm_account_id)
    bound_token = await portal.gw.token(bound_id, bound_secret)
    response = await _exchange(portal, bound_id, bound_secret, subject_token=bound_token, customer_id="x")
    assert response.json()["error"] == "unauthorized_client"


async def test_wrong_client_credentials_are_invalid_client(portal: Portal) -> None:
    client_id, _secret, own = await _portal_client(portal)
    response = await _exchange(portal, client_id, "wrong", subject_token=own, customer_id=portal.a.crm_account_id)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_an_exchanged_token_holds_what_its_acting_client_holds_now(portal: Portal) -> None:
    """Whose scopes bound an exchanged token: the acting portal client's, as they are now."""
    client_id, secret, own = await _portal_client(portal)
    response = await _exchange(portal, client_id, secret, subject_token=own, customer_id=portal.a.crm_account_id)
    assert response.status_code == 200, response.text
    exchanged = response.json()["access_token"]
    headers = {"Authorization": f"Bearer {exchanged}"}
    overview = f"{PORTAL}/customers/{portal.a.crm_account_id}/overview"
    assert (await portal.gw.client.get(overview, headers=headers)).status_code == 200
    clients = portal.gw.oauth.clients

    async def introspected() -> dict[str, Any]:
        answer = await portal.gw.client.post("/oauth/introspect", data={"token": exchanged}, auth=(client_id, secret))
        return dict(answer.json())

    await clients.update(client_id, scopes=[ACT])  # the portal client loses the read scope
    assert (await portal.gw.client.get(overview, headers=headers)).status_code == 403
    assert (await introspected())["scope"] == ""

    await clients.update(client_id, scopes=[READ, ACT])
    assert (await portal.gw.client.get(overview, headers=headers)).status_code == 200

    await clients.update(client_id, scopes=[READ])  # it may no longer act for customers
    assert (await portal.gw.client.get(overview, headers=headers)).status_code == 401
    assert (
        await portal.gw.client.post("/oauth/introspect", data={"token": exchanged}, auth=(client_id, secret))
    ).json() == {"active": False}

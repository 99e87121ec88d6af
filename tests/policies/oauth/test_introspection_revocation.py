"""Introspection (RFC 7662) and revocation (RFC 7009), and the shared jti denylist."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import time_machine
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from policies.oauth import OAuthService, RevocationList, request_token
from tests.policies.oauth.conftest import basic

Client = AsyncTestClient[Litestar]


async def eventually(predicate: Callable[[], bool], *, within: float, step: float = 0.02) -> bool:
    """Whether ``predicate`` becomes true within ``within`` seconds."""
    for _ in range(int(within / step) + 1):
        if predicate():
            return True
        await asyncio.sleep(step)
    return predicate()


async def _client(service: OAuthService, scopes: list[str] | None = None) -> tuple[str, str]:
    record, secret = await service.clients.create("I", scopes or ["system:crm:read"], "gold")
    assert secret is not None
    return record.client_id, secret


async def _introspect(http: Client, creds: tuple[str, str], token: str) -> dict[str, object]:
    response = await http.post("/oauth/introspect", headers=basic(*creds), data={"token": token})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body: dict[str, object] = response.json()
    return body


async def test_introspection_active_and_inactive(service: OAuthService, http: Client) -> None:
    creds = await _client(service)
    token = await request_token(service, *creds, None)
    body = await _introspect(http, creds, token)
    assert body["active"] is True
    assert body["client_id"] == creds[0] and body["scope"] == "system:crm:read" and body["token_type"] == "Bearer"
    for junk in ["", "abc", token[:-4] + "AAAA", "a.b.c", "x" * 10000]:
        assert await _introspect(http, creds, junk) == {"active": False}
    with time_machine.travel(time.time() + 301, tick=False):
        assert await _introspect(http, creds, token) == {"active": False}


async def test_introspection_of_other_clients_tokens(service: OAuthService, http: Client) -> None:
    owner = await _client(service)
    token = await request_token(service, *owner, None)
    stranger = await _client(service)
    assert await _introspect(http, stranger, token) == {"active": False}
    resource_server = await _client(service, ["gateway:oauth:read"])
    assert (await _introspect(http, resource_server, token))["active"] is True


async def test_introspection_requires_client_authentication(service: OAuthService, http: Client) -> None:
    creds = await _client(service)
    token = await request_token(service, *creds, None)
    response = await http.post("/oauth/introspect", headers=basic(creds[0], "bad"), data={"token": token})
    assert response.status_code == 401
    response = await http.post("/oauth/introspect", headers=basic(*creds), data={})
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


async def test_revoke_own_token(service: OAuthService, http: Client) -> None:
    creds = await _client(service)
    token = await request_token(service, *creds, None)
    response = await http.post(
        "/oauth/revoke", headers=basic(*creds), data={"token": token, "token_type_hint": "access_token"}
    )
    assert response.status_code == 200
    assert len(service.revocations) == 1
    assert await _introspect(http, creds, token) == {"active": False}
    again = await http.post("/oauth/revoke", headers=basic(*creds), data={"token": token})
    assert again.status_code == 200


async def test_revoke_unknown_token_is_200_and_others_token_refused(service: OAuthService, http: Client) -> None:
    owner = await _client(service)
    token = await request_token(service, *owner, None)
    other = await _client(service)
    response = await http.post("/oauth/revoke", headers=basic(*other), data={"token": "not-a-token"})
    assert response.status_code == 200
    response = await http.post("/oauth/revoke", headers=basic(*other), data={"token": token})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert await _introspect(http, owner, token) != {"active": False}
    response = await http.post("/oauth/revoke", headers=basic(*owner), data={"token": token, "token_type_hint": "x"})
    assert response.json()["error"] == "unsupported_token_type"


async def test_revocation_reaches_another_process_through_the_table(engine: AsyncEngine) -> None:
    one, two = RevocationList(engine), RevocationList(engine)
    await one.start()
    await two.start()
    try:
        await one.revoke("jti-1", time.time() + 60)
        assert one.is_revoked("jti-1")
        assert await eventually(lambda: two.is_revoked("jti-1"), within=1.5)
        three = RevocationList(engine)  # a process started later loads unexpired rows
        await three.start()
        assert three.is_revoked("jti-1")
        await three.stop()
    finally:
        await one.stop()
        await two.stop()


async def test_expired_revocations_are_dropped(engine: AsyncEngine) -> None:
    revocations = RevocationList(engine)
    await revocations.revoke("old", time.time() - 1)
    assert not revocations.is_revoked("old")
    await revocations.revoke("soon", time.time() + 5)
    with time_machine.travel(time.time() + 10, tick=False):
        revocations.purge_expired()
    assert not revocations.is_revoked("soon")


async def test_revocation_reaches_another_process_through_redis(engine: AsyncEngine, any_redis_url: str) -> None:
    one, two = RevocationList(engine, any_redis_url), RevocationList(engine, any_redis_url)
    await one.start()
    await two.start()
    try:
        await one.revoke("jti-redis", time.time() + 60)
        # pub/sub: well under the 1 s polling interval
        assert await eventually(lambda: two.is_revoked("jti-redis"), within=0.5)
    finally:
        await one.stop()
        await two.stop()

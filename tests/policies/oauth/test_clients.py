"""Client store and secret handling."""

from __future__ import annotations

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import oauth_clients
from policies.oauth import ClientStore, OAuthService
from policies.oauth.secrets import generate_salt, generate_secret, hash_secret, verify_secret
from tests.policies.oauth.conftest import FORM, basic


def test_secret_hashing() -> None:
    secret, salt = generate_secret(), generate_salt()
    assert len(secret) >= 43 and len(salt) == 32
    stored = hash_secret(secret, salt)
    assert verify_secret(secret, salt, stored)
    assert not verify_secret(secret + "x", salt, stored)
    assert not verify_secret(secret, generate_salt(), stored)
    assert not verify_secret("\ud800", salt, stored)
    assert not verify_secret(secret, "not-hex", stored)


async def test_secret_never_stored_or_shown(engine: AsyncEngine) -> None:
    store = ClientStore(engine)
    record, secret = await store.create("Acme", ["system:crm:read"], "gold")
    assert secret is not None and record.client_id.startswith("cli_")
    shown = repr(record) + msgspec.json.encode(record).decode()
    assert secret not in shown and "hash" not in shown and "salt" not in shown
    async with engine.connect() as connection:
        row = (await connection.execute(select(oauth_clients))).one()
    assert secret not in str(tuple(row))
    assert row.secret_hash == hash_secret(secret, row.secret_salt)
    assert store.check_secret(record.client_id, secret)
    assert [c.client_id for c in await store.list()] == [record.client_id]
    assert await store.get(record.client_id) == record
    assert await store.get("cli_missing") is None
    assert await store.disable("cli_missing") is None


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        (["crm:read"], "<layer>:<api>:<access>"),
        (["system:crm:delete"], "access must be one of"),
        (["billing:crm:read"], "layer must be one of"),
        (["System:CRM:read"], "<layer>:<api>:<access>"),
        ([], "at least one scope"),
    ],
)
async def test_scope_validation(engine: AsyncEngine, scopes: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await ClientStore(engine).create("Acme", scopes, "gold")


@pytest.mark.parametrize("field", ["tier", "partner_id", "customer_id"])
async def test_id_validation(engine: AsyncEngine, field: str) -> None:
    kwargs = {"tier": "gold", field: "has space"}
    with pytest.raises(ValueError, match=field):
        await ClientStore(engine).create("Acme", ["system:crm:read"], **kwargs)  # type: ignore[arg-type]


async def test_oversized_body_is_invalid_request(service: OAuthService, http: AsyncTestClient[Litestar]) -> None:
    record, secret = await service.clients.create("Acme", ["system:crm:read"], "gold")
    assert secret is not None
    body = b"grant_type=client_credentials&pad=" + b"a" * 20000
    response = await http.post("/oauth/token", headers=basic(record.client_id, secret), content=body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    response = await http.post("/oauth/token", headers=FORM, content=b"")
    assert response.status_code == 400

"""Signing keys: creation, rotation, publication window (RFC 7517 JWKS)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import signing_keys
from policies.oauth import OAuthService, SigningKeyStore, request_token
from policies.oauth.keys import RETIRED_KEY_GRACE_SECONDS, SigningKeyUnreadable
from tests.policies.oauth.conftest import decode


async def _token(service: OAuthService) -> str:
    record, secret = await service.clients.create("K", ["system:crm:read"], "gold")
    assert secret is not None
    return await request_token(service, record.client_id, secret, None)


async def test_first_start_creates_one_rs256_key(service: OAuthService) -> None:
    keys = service.keys.list()
    assert len(keys) == 1
    assert keys[0].alg == "RS256" and keys[0].status == "current" and keys[0].retired_at is None
    jwks = service.jwks()
    assert [key["kid"] for key in jwks["keys"]] == [keys[0].kid]
    assert jwks["keys"][0]["kty"] == "RSA" and jwks["keys"][0]["use"] == "sig"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(jwks["keys"][0])


async def test_restart_reuses_the_key(service: OAuthService, engine: AsyncEngine) -> None:
    again = SigningKeyStore(engine, 300)
    await again.start()
    assert again.current()[0] == service.keys.current()[0]


async def test_rotation_keeps_old_tokens_verifiable_then_drops_the_key(service: OAuthService) -> None:
    old_token = await _token(service)
    old_kid = service.keys.current()[0]
    new_kid = await service.keys.rotate()
    assert new_kid != old_kid
    new_token = await _token(service)
    assert decode(service, new_token).header["kid"] == new_kid
    assert decode(service, old_token).header["kid"] == old_kid  # still published
    statuses = {info.kid: info.status for info in service.keys.list()}
    assert statuses == {old_kid: "previous", new_kid: "current"}

    later = time.time() + 300 + RETIRED_KEY_GRACE_SECONDS + 1
    with time_machine.travel(later, tick=False):
        assert [key["kid"] for key in service.jwks()["keys"]] == [new_kid]
        assert {info.kid: info.status for info in service.keys.list()}[old_kid] == "expired"


async def test_another_process_sees_rotation_after_refresh(service: OAuthService, engine: AsyncEngine) -> None:
    other = SigningKeyStore(engine, 300)
    await other.start()
    new_kid = await other.rotate()
    assert not service.keys.has_kid(new_kid)
    await service.keys.refresh()
    assert service.keys.has_kid(new_kid)
    assert service.keys.current()[0] == new_kid


async def test_start_on_fresh_db_in_other_dir(tmp_path: Path, engine: AsyncEngine) -> None:
    store = SigningKeyStore(engine, 60)
    await store.start()
    await store.start()  # idempotent
    assert len(store.list()) == 1


async def test_keys_encrypted_at_rest(engine: AsyncEngine) -> None:
    store = SigningKeyStore(engine, 300, key_encryption_secret="s3cret-from-a-file")
    await store.start()
    async with engine.connect() as connection:
        stored = (await connection.execute(select(signing_keys.c.private_jwk))).scalar_one()
    assert stored.startswith("eyJ") and '"d"' not in stored
    again = SigningKeyStore(engine, 300, key_encryption_secret="s3cret-from-a-file")
    await again.start()
    assert again.current()[0] == store.current()[0]
    with pytest.raises(SigningKeyUnreadable, match="a master key is needed"):
        await SigningKeyStore(engine, 300).start()
    with pytest.raises(SigningKeyUnreadable, match=r"cannot be decrypted.*same STRATA_MASTER_KEY"):
        await SigningKeyStore(engine, 300, key_encryption_secret="wrong").start()

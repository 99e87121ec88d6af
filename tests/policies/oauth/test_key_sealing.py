"""Signing keys at rest are sealed like every other secret (core.sealing), bound to their kid;
keys sealed the pre-unification way (a JWE under SHA-256 of the master key) still load and are
re-sealed the current way at start."""

from __future__ import annotations

import hashlib
import json

import pytest
from joserfc import jwe
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import signing_keys
from core.sealing import Sealer
from policies.oauth import SigningKeyStore
from policies.oauth.keys import SEALING_PURPOSE, SigningKeyUnreadable

MASTER = "a-master-key-for-the-sealing-tests-0123456789"


async def _stored(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(signing_keys.c.kid, signing_keys.c.private_jwk))).all()
    return {row.kid: row.private_jwk for row in rows}


async def test_a_new_key_is_sealed_for_its_purpose_and_bound_to_its_kid(engine: AsyncEngine) -> None:
    store = SigningKeyStore(engine, 300, MASTER)
    await store.start()
    kid, key = store.current()
    sealed = (await _stored(engine))[kid]
    opened = json.loads(Sealer(MASTER, SEALING_PURPOSE).open(sealed, aad=kid))
    assert opened["d"] == key.as_dict(private=True)["d"]
    with pytest.raises(ValueError, match="another record"):
        Sealer(MASTER, SEALING_PURPOSE).open(sealed, aad="another-kid")


async def test_a_sealed_key_copied_onto_another_kid_does_not_load(engine: AsyncEngine) -> None:
    store = SigningKeyStore(engine, 300, MASTER)
    await store.start()
    first = store.current()[0]
    second = await store.rotate()
    stored = await _stored(engine)
    async with engine.begin() as connection:
        await connection.execute(
            update(signing_keys).where(signing_keys.c.kid == second).values(private_jwk=stored[first])
        )
    with pytest.raises(SigningKeyUnreadable):
        await SigningKeyStore(engine, 300, MASTER).start()


async def test_a_key_sealed_the_legacy_way_loads_and_is_resealed(engine: AsyncEngine) -> None:
    key = RSAKey.generate_key(2048, private=True)
    kid = key.thumbprint()
    private = dict(
        RSAKey.import_key(key.as_dict(private=True), {"kid": kid, "alg": "RS256", "use": "sig"}).as_dict(private=True)
    )
    legacy_key = OctKey.import_key(hashlib.sha256(MASTER.encode()).digest())
    legacy = jwe.encrypt_compact(
        {"alg": "dir", "enc": "A256GCM"}, json.dumps(private).encode(), legacy_key, algorithms=["dir", "A256GCM"]
    )
    async with engine.begin() as connection:
        await connection.execute(
            signing_keys.insert().values(kid=kid, alg="RS256", private_jwk=legacy, created_at=1_000.0)
        )
    store = SigningKeyStore(engine, 300, MASTER)
    await store.start()
    assert store.current()[0] == kid  # the legacy key was read, not replaced by a new one
    resealed = (await _stored(engine))[kid]
    assert resealed != legacy
    assert json.loads(Sealer(MASTER, SEALING_PURPOSE).open(resealed, aad=kid))["d"] == private["d"]


async def test_without_the_master_key_a_sealed_key_is_unreadable(engine: AsyncEngine) -> None:
    await SigningKeyStore(engine, 300, MASTER).start()
    with pytest.raises(SigningKeyUnreadable, match="master key is needed"):
        await SigningKeyStore(engine, 300, None).start()
    with pytest.raises(SigningKeyUnreadable, match="cannot be decrypted"):
        await SigningKeyStore(engine, 300, "another-master-key-0123456789abcdef").start()

"""Signing keys of the authorization server and the JWK set it publishes (RFC 7517, RFC 8414).

One key signs at a time (the *current* key, ``retired_at`` null). :meth:`SigningKeyStore.rotate`
creates a new current key and retires the previous one; a retired key stays in the published
JWK set until every token it signed has expired (``retired_at + token_ttl + grace``), so
resource servers holding a cached JWKS never see a valid token they cannot verify. Expired
keys stay in the database (for forensics) but are no longer published or used.

The resource side calls :meth:`SigningKeyStore.refresh` when it meets an unknown ``kid``:
another process may have rotated.

At rest, a private key is a JWE (``dir`` + ``A256GCM``, RFC 7516) under a key derived from
the ``key_encryption_secret`` the store is given (read it from a secret file); without one,
keys are stored as plain JWK JSON (development only: a warning says so).
"""

from __future__ import annotations

import builtins
import hashlib
import json
import math
import time
from typing import Any, Literal

import msgspec
import structlog
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import signing_keys

SIGNING_ALG = "RS256"
RSA_KEY_BITS = 2048
RETIRED_KEY_GRACE_SECONDS = 60
"""Extra time a retired key stays published after the last token it signed expires."""

_JWE_HEADER = {"alg": "dir", "enc": "A256GCM"}
_JWE_ALGORITHMS = ["dir", "A256GCM"]
log = structlog.get_logger(__name__)

KeyStatus = Literal["current", "previous", "expired"]


class SigningKeyInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the CLI shows about a key (never the private material)."""

    kid: str
    alg: str
    created_at: float
    retired_at: float | None
    status: KeyStatus


class _Key(msgspec.Struct, frozen=True):
    kid: str
    alg: str
    key: RSAKey
    created_at: float
    retired_at: float | None


class SigningKeyUnreadable(RuntimeError):
    """A stored signing key cannot be decrypted: the master key is missing or another one."""


def _encryption_key(secret: str | None) -> OctKey | None:
    if not secret:
        return None
    return OctKey.import_key(hashlib.sha256(secret.encode("utf-8")).digest())


def _seal(private_jwk: dict[str, Any], key: OctKey | None) -> str:
    plaintext = json.dumps(private_jwk)
    if key is None:
        return plaintext
    return jwe.encrypt_compact(_JWE_HEADER, plaintext.encode(), key, algorithms=_JWE_ALGORITHMS)


def _open(stored: str, key: OctKey | None, kid: str) -> dict[str, Any]:
    if stored.startswith("{"):
        loaded: dict[str, Any] = json.loads(stored)
        return loaded
    if key is None:
        raise SigningKeyUnreadable(f"signing key {kid} is encrypted: a master key is needed to read it")
    try:
        plaintext = jwe.decrypt_compact(stored, key, algorithms=_JWE_ALGORITHMS).plaintext
    except JoseError:
        raise SigningKeyUnreadable(
            f"signing key {kid} cannot be decrypted with this master key; every process sharing a database"
            " needs the same STRATA_MASTER_KEY (or STRATA_MASTER_KEY_FILE)"
        ) from None
    opened: dict[str, Any] = json.loads(plaintext or b"{}")
    return opened


class SigningKeyStore:
    """RS256 signing keys in ``signing_keys``, held in memory for signing and verifying."""

    def __init__(self, engine: AsyncEngine, token_ttl_seconds: int, key_encryption_secret: str | None = None) -> None:
        """Args:
        engine: the state database.
        token_ttl_seconds: lifetime of access tokens (how long a retired key stays published).
        key_encryption_secret: secret that encrypts private keys at rest; None stores them in clear.
        """
        self._engine = engine
        self._encryption_key = _encryption_key(key_encryption_secret)
        self._publish_after_retirement = token_ttl_seconds + RETIRED_KEY_GRACE_SECONDS
        self._keys: builtins.list[_Key] = []
        self._public_keyset = KeySet([])
        self._keyset_valid_until = math.inf

    async def start(self) -> None:
        """Load the keys; create the first one if the table is empty."""
        if self._encryption_key is None:
            log.warning("signing keys are stored unencrypted: configure a key encryption secret")
        await self.refresh()
        if not any(key.retired_at is None for key in self._keys):
            await self.rotate()

    async def refresh(self) -> None:
        """Reload the keys from the database (another process may have rotated)."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(signing_keys).order_by(signing_keys.c.created_at))).all()
        keys = []
        for row in rows:
            private = RSAKey.import_key(_open(row.private_jwk, self._encryption_key, row.kid))
            keys.append(_Key(row.kid, row.alg, private, row.created_at, row.retired_at))
        self._set(keys)

    async def rotate(self) -> str:
        """Create a new current key and retire the previous one(s); return the new ``kid``."""
        now = time.time()
        key = RSAKey.generate_key(RSA_KEY_BITS, private=True)
        kid = key.thumbprint()
        key = RSAKey.import_key(key.as_dict(private=True), {"kid": kid, "alg": SIGNING_ALG, "use": "sig"})
        async with self._engine.begin() as connection:
            await connection.execute(
                update(signing_keys).where(signing_keys.c.retired_at.is_(None)).values(retired_at=now)
            )
            await connection.execute(
                signing_keys.insert().values(
                    kid=kid,
                    alg=SIGNING_ALG,
                    private_jwk=_seal(dict(key.as_dict(private=True)), self._encryption_key),
                    created_at=now,
                )
            )
        await self.refresh()
        return kid

    def _set(self, keys: builtins.list[_Key]) -> None:
        now = time.time()
        published = [key for key in keys if self._status(key, now) != "expired"]
        self._keys = keys
        self._public_keyset = KeySet([RSAKey.import_key(key.key.as_dict(private=False)) for key in published])
        # The set changes by itself only when a published retired key expires: note when.
        self._keyset_valid_until = min(
            (key.retired_at + self._publish_after_retirement for key in published if key.retired_at is not None),
            default=math.inf,
        )

    def _status(self, key: _Key, now: float | None = None) -> KeyStatus:
        if key.retired_at is None:
            return "current"
        if (now if now is not None else time.time()) < key.retired_at + self._publish_after_retirement:
            return "previous"
        return "expired"

    def current(self) -> tuple[str, RSAKey]:
        """The ``kid`` and private key that sign new tokens (the newest unretired key).

        Raises:
            RuntimeError: the store was not started.
        """
        for key in reversed(self._keys):
            if key.retired_at is None:
                return key.kid, key.key
        raise RuntimeError("no current signing key: call SigningKeyStore.start() first")

    def public_keyset(self) -> KeySet:
        """Public keys a verifier should accept (current and still-published previous keys)."""
        if time.time() >= self._keyset_valid_until:
            self._set(self._keys)
        return self._public_keyset

    def public_jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set document (RFC 7517 §5): public parts only."""
        return {"keys": [key.as_dict(private=False) for key in self.public_keyset().keys]}

    def has_kid(self, kid: str) -> bool:
        """Whether ``kid`` is a published key (no I/O)."""
        return any(key.kid == kid for key in self.public_keyset().keys)

    def list(self) -> builtins.list[SigningKeyInfo]:
        """Every key in the database, oldest first, with its status."""
        now = time.time()
        return [
            SigningKeyInfo(
                kid=key.kid,
                alg=key.alg,
                created_at=key.created_at,
                retired_at=key.retired_at,
                status=self._status(key, now),
            )
            for key in self._keys
        ]

"""Signing keys of the authorization server and the JWK set it publishes (RFC 7517, RFC 8414).

One key signs at a time (the *current* key, ``retired_at`` null). :meth:`SigningKeyStore.rotate`
creates a new current key and retires the previous one; a retired key stays in the published
JWK set until every token it signed has expired (``retired_at + token_ttl + grace``), so
resource servers holding a cached JWKS never see a valid token they cannot verify. Expired
keys stay in the database (for forensics) but are no longer published or used.

The resource side calls :meth:`SigningKeyStore.refresh` when it meets an unknown ``kid``:
another process may have rotated.

At rest, a private key is sealed like every other secret the gateway keeps
(:class:`core.sealing.Sealer`: JWE ``dir`` + ``A256GCM`` under the master key's
:data:`SEALING_PURPOSE` key, bound to the key's ``kid``); without a master key, keys are stored
as plain JWK JSON (development only: a warning says so). Keys sealed by releases before the
one sealing scheme (a JWE under the SHA-256 of the master key, bound to nothing) are still read,
and re-sealed the current way when the store starts.
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
from core.sealing import SealBroken, Sealer

SIGNING_ALG = "RS256"
RSA_KEY_BITS = 2048
RETIRED_KEY_GRACE_SECONDS = 60
"""Extra time a retired key stays published after the last token it signed expires."""

SEALING_PURPOSE = "signing-keys"
"""The purpose of the sealing key (:func:`core.master_key.derive_key`) private keys are sealed under."""
_LEGACY_JWE_ALGORITHMS = ["dir", "A256GCM"]
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


class _KeySealer:
    """Seals private keys under the master key (or keeps them in clear without one)."""

    def __init__(self, master_key: str | None) -> None:
        self._sealer = Sealer(master_key, SEALING_PURPOSE) if master_key else None
        # Before the one sealing scheme, keys were sealed under SHA-256(master key), bound to nothing.
        self._legacy = OctKey.import_key(hashlib.sha256(master_key.encode("utf-8")).digest()) if master_key else None

    @property
    def seals(self) -> bool:
        """Whether keys are sealed at rest (a master key was given)."""
        return self._sealer is not None

    def seal(self, private_jwk: dict[str, Any], kid: str) -> str:
        """The stored form of a private key: sealed and bound to its ``kid``, or JSON without a master key."""
        plaintext = json.dumps(private_jwk)
        if self._sealer is None:
            return plaintext
        return self._sealer.seal(plaintext.encode(), aad=kid)

    def open(self, stored: str, kid: str) -> tuple[dict[str, Any], bool]:
        """The private JWK of a stored key, and whether it should be sealed again (a legacy or clear form)."""
        if stored.startswith("{"):
            loaded: dict[str, Any] = json.loads(stored)
            return loaded, self._sealer is not None
        if self._sealer is None or self._legacy is None:
            raise SigningKeyUnreadable(f"signing key {kid} is encrypted: a master key is needed to read it")
        try:
            return json.loads(self._sealer.open(stored, aad=kid) or b"{}"), False
        except SealBroken:
            pass
        try:
            plaintext = jwe.decrypt_compact(stored, self._legacy, algorithms=_LEGACY_JWE_ALGORITHMS).plaintext
        except (JoseError, ValueError):
            raise SigningKeyUnreadable(
                f"signing key {kid} cannot be decrypted with this master key; every process sharing a database"
                " needs the same STRATA_MASTER_KEY (or STRATA_MASTER_KEY_FILE)"
            ) from None
        return json.loads(plaintext or b"{}"), True


class SigningKeyStore:
    """RS256 signing keys in ``signing_keys``, held in memory for signing and verifying."""

    def __init__(self, engine: AsyncEngine, token_ttl_seconds: int, key_encryption_secret: str | None = None) -> None:
        """Args:
        engine: the state database.
        token_ttl_seconds: lifetime of access tokens (how long a retired key stays published).
        key_encryption_secret: secret that encrypts private keys at rest; None stores them in clear.
        """
        self._engine = engine
        self._sealing = _KeySealer(key_encryption_secret)
        self._publish_after_retirement = token_ttl_seconds + RETIRED_KEY_GRACE_SECONDS
        self._keys: builtins.list[_Key] = []
        self._imported: dict[str, tuple[str, RSAKey, bool]] = {}
        """kid → (stored form, imported key, stored form outdated): a refresh re-imports only what changed."""
        self._public_keyset = KeySet([])
        self._keyset_valid_until = math.inf

    async def start(self) -> None:
        """Load the keys; create the first one if the table is empty."""
        if not self._sealing.seals:
            log.warning("signing keys are stored unencrypted: configure a key encryption secret")
        await self.refresh(reseal=True)
        if not any(key.retired_at is None for key in self._keys):
            await self.rotate()

    async def refresh(self, *, reseal: bool = False) -> None:
        """Reload the keys from the database (another process may have rotated).

        With ``reseal``, keys stored in an older form (sealed the legacy way, or in clear while
        a master key is now configured) are written back sealed the current way.
        """
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(signing_keys).order_by(signing_keys.c.created_at))).all()
        keys = []
        stale: dict[str, str] = {}
        imported: dict[str, tuple[str, RSAKey, bool]] = {}
        for row in rows:
            known = self._imported.get(row.kid)
            if known is not None and known[0] == row.private_jwk:
                # Unchanged since the last read: importing a private RSA key checks it (~50 ms of
                # CPU on the event loop), and this runs every few seconds in every process.
                key, outdated = known[1], known[2]
                if outdated and reseal:
                    stale[row.kid] = self._sealing.seal(self._sealing.open(row.private_jwk, row.kid)[0], row.kid)
            else:
                jwk, outdated = self._sealing.open(row.private_jwk, row.kid)
                if outdated:
                    stale[row.kid] = self._sealing.seal(jwk, row.kid)
                key = RSAKey.import_key(jwk)
            imported[row.kid] = (row.private_jwk, key, outdated)
            keys.append(_Key(row.kid, row.alg, key, row.created_at, row.retired_at))
        self._imported = imported
        self._set(keys)
        if reseal and stale:
            async with self._engine.begin() as connection:
                for kid, sealed in stale.items():
                    statement = update(signing_keys).where(signing_keys.c.kid == kid).values(private_jwk=sealed)
                    await connection.execute(statement)
            log.info("signing keys sealed the current way", count=len(stale))

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
                    private_jwk=self._sealing.seal(dict(key.as_dict(private=True)), kid),
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

"""Registered OAuth clients (RFC 6749 §2) over the ``oauth_clients`` table.

Authlib's server core is synchronous, so every client lookup on the token endpoint is
answered from an in-memory cache: loaded at start-up, updated by this store's own writes,
and refreshed from the database by :meth:`ClientStore.refresh` (the service calls it
periodically, and for a client id it has never seen) so clients created or revoked by
another process (the CLI) are picked up.

Client authentication methods (RFC 7591 §2 names): ``client_secret_basic`` /
``client_secret_post`` for clients with a secret, ``private_key_jwt`` (RFC 7523 §2.2) for
clients registered with a public JWK set, which get no secret at all.
"""

from __future__ import annotations

import builtins
import json
import re
import secrets as stdlib_secrets
import time
from typing import Any, Literal

import msgspec
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db import oauth_clients
from policies.oauth import secrets

ClientStatus = Literal["active", "revoked"]
AuthMethod = Literal["client_secret_basic", "private_key_jwt"]

SCOPE_LAYERS = ("system", "process", "experience", "gateway")
SCOPE_ACCESS = ("read", "write", "execute", "admin")
_SCOPE_RE = re.compile(r"^(?P<layer>[a-z]+):(?P<api>[a-z0-9][a-z0-9-]{0,62}):(?P<access>[a-z]+)$")
_SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CLIENT_JWK_TYPES = ("RSA", "EC", "OKP")


class ClientRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A registered client as shown to operators (never carries the secret or its hash)."""

    client_id: str
    name: str
    oauth_scopes: tuple[str, ...]
    """Scopes the client may request (``<layer>:<api>:<access>``)."""
    tier: str
    auth_method: AuthMethod
    """``client_secret_basic`` (also accepts ``client_secret_post``) or ``private_key_jwt``."""
    status: ClientStatus = "active"
    partner_id: str | None = None
    customer_id: str | None = None
    jwks: dict[str, Any] | None = None
    """Public JWK set for ``private_key_jwt`` clients."""
    created_at: float = 0.0
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        """Whether the client may still authenticate."""
        return self.status == "active"


class _StoredClient(msgspec.Struct, frozen=True):
    """Cache entry: the public record plus the secret verifier (kept out of the record)."""

    record: ClientRecord
    secret_hash: str | None
    secret_salt: str | None


def validate_scope(scope: str) -> str:
    """Check one scope string ``<layer>:<api>:<access>``; return it or raise ValueError."""
    match = _SCOPE_RE.match(scope)
    if match is None:
        raise ValueError(f"scope {scope!r} is not of the form <layer>:<api>:<access>, e.g. system:crm:read")
    if match["layer"] not in SCOPE_LAYERS:
        raise ValueError(f"scope {scope!r}: layer must be one of {', '.join(SCOPE_LAYERS)}")
    if match["access"] not in SCOPE_ACCESS:
        raise ValueError(f"scope {scope!r}: access must be one of {', '.join(SCOPE_ACCESS)}")
    return scope


def _validate_jwks(jwks: dict[str, Any]) -> dict[str, Any]:
    """Import a client's JWK set and return its public parts only; raise ValueError if unusable."""
    try:
        key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"jwks is not a valid JWK set: {exc}") from None
    if not key_set.keys:
        raise ValueError("jwks has no keys")
    public = []
    for key in key_set.keys:
        if key.key_type not in CLIENT_JWK_TYPES:
            raise ValueError(f"jwks: key type {key.key_type} is not allowed; use one of {', '.join(CLIENT_JWK_TYPES)}")
        public.append(key.as_dict(private=False))
    return {"keys": public}


def _check_slug(field: str, value: str | None) -> None:
    if value is not None and not _SLUG_RE.match(value):
        raise ValueError(f"{field}: {value!r} must be 1-64 characters of letters, digits, '_', '.', '-'")


def _row_to_stored(row: Any) -> _StoredClient:
    record = ClientRecord(
        client_id=row.client_id,
        name=row.name,
        oauth_scopes=tuple(row.scopes.split()),
        tier=row.tier,
        auth_method="private_key_jwt" if row.auth_method == "private_key_jwt" else "client_secret_basic",
        status="revoked" if row.status == "revoked" else "active",
        partner_id=row.partner_id,
        customer_id=row.customer_id,
        jwks=json.loads(row.jwks) if row.jwks else None,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )
    return _StoredClient(record, row.secret_hash, row.secret_salt)


class ClientStore:
    """CRUD over ``oauth_clients`` with a synchronous, in-memory read side."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cache: dict[str, _StoredClient] = {}

    async def refresh(self) -> None:
        """Reload every client from the database (start-up, and periodically)."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(oauth_clients))).all()
        self._cache = {row.client_id: _row_to_stored(row) for row in rows}

    async def load_one(self, client_id: str) -> ClientRecord | None:
        """Read one client from the database into the cache (a client another process created)."""
        if len(client_id) > 64:
            return None
        async with self._engine.connect() as connection:
            query = select(oauth_clients).where(oauth_clients.c.client_id == client_id)
            row = (await connection.execute(query)).first()
        if row is None:
            return None
        stored = _row_to_stored(row)
        self._cache[client_id] = stored
        return stored.record

    async def create(
        self,
        name: str,
        scopes: builtins.list[str],
        tier: str,
        partner_id: str | None = None,
        customer_id: str | None = None,
        jwks: dict[str, Any] | None = None,
    ) -> tuple[ClientRecord, str | None]:
        """Register a client; return it and its secret (``None`` for ``private_key_jwt`` clients).

        Raises:
            ValueError: a scope, the tier, an id or the JWK set is malformed.
        """
        if not name.strip() or len(name) > 200:
            raise ValueError("name must be 1-200 characters")
        if not scopes:
            raise ValueError("a client needs at least one scope")
        checked_scopes = tuple(dict.fromkeys(validate_scope(scope) for scope in scopes))
        _check_slug("tier", tier)
        _check_slug("partner_id", partner_id)
        _check_slug("customer_id", customer_id)
        public_jwks = _validate_jwks(jwks) if jwks is not None else None

        client_id = "cli_" + stdlib_secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
        secret: str | None = None
        salt = secret_hash = None
        if public_jwks is None:
            secret = secrets.generate_secret()
            salt = secrets.generate_salt()
            secret_hash = secrets.hash_secret(secret, salt)
        record = ClientRecord(
            client_id=client_id,
            name=name,
            oauth_scopes=checked_scopes,
            tier=tier,
            auth_method="client_secret_basic" if public_jwks is None else "private_key_jwt",
            partner_id=partner_id,
            customer_id=customer_id,
            jwks=public_jwks,
            created_at=time.time(),
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                oauth_clients.insert().values(
                    client_id=client_id,
                    name=name,
                    secret_hash=secret_hash,
                    secret_salt=salt,
                    auth_method=record.auth_method,
                    jwks=json.dumps(public_jwks) if public_jwks is not None else None,
                    scopes=" ".join(checked_scopes),
                    tier=tier,
                    partner_id=partner_id,
                    customer_id=customer_id,
                    status="active",
                    created_at=record.created_at,
                )
            )
        self._cache[client_id] = _StoredClient(record, secret_hash, salt)
        return record, secret

    async def list(self) -> builtins.list[ClientRecord]:
        """Every client, freshly read from the database, oldest first."""
        await self.refresh()
        return sorted((stored.record for stored in self._cache.values()), key=lambda r: r.created_at)

    async def get(self, client_id: str) -> ClientRecord | None:
        """One client read from the database, or None."""
        return await self.load_one(client_id)

    async def revoke(self, client_id: str) -> ClientRecord | None:
        """Mark a client revoked (it can no longer authenticate); None if it does not exist."""
        now = time.time()
        async with self._engine.begin() as connection:
            await connection.execute(
                update(oauth_clients)
                .where(oauth_clients.c.client_id == client_id, oauth_clients.c.status != "revoked")
                .values(status="revoked", revoked_at=now)
            )
        return await self.load_one(client_id)

    # Synchronous read side, for Authlib's server core.
    def cached(self, client_id: str) -> ClientRecord | None:
        """The cached client, or None (no I/O)."""
        stored = self._cache.get(client_id)
        return stored.record if stored else None

    def check_secret(self, client_id: str, secret: str) -> bool:
        """Whether ``secret`` is the client's secret (constant-time compare; no I/O)."""
        stored = self._cache.get(client_id)
        if stored is None or stored.secret_hash is None or stored.secret_salt is None:
            return False
        return secrets.verify_secret(secret, stored.secret_salt, stored.secret_hash)

"""Registered OAuth clients (RFC 6749 §2) over the ``oauth_clients`` table.

Authlib's server core is synchronous, so every client lookup on the token endpoint is
answered from an in-memory cache: loaded at start-up, updated by this store's own writes,
and refreshed from the database by :meth:`ClientStore.refresh` (the service calls it
periodically, and for a client id it has never seen) so clients created or revoked by
another process (the CLI) are picked up.

Client authentication methods (RFC 7591 §2 names): ``client_secret_basic`` /
``client_secret_post`` for clients with a secret, ``private_key_jwt`` (RFC 7523 §2.2) for
clients registered with a public JWK set, which get no secret at all.

Lifecycle: ``active`` → ``disabled`` (reversible) → ``deleted`` (a tombstone: the row stays,
its secrets are wiped, it is never listed or shown again, and its tokens stay refused).
Disabling or deleting sets ``tokens_not_before``, so tokens issued earlier are refused even
after the client is enabled again. Every write stamps ``updated_at``, which other processes
poll (:meth:`ClientStore.refresh_changed`) to see the change within their poll interval.
A secret rotation keeps the replaced secret working until ``previous_secret_expires_at``.
"""

from __future__ import annotations

import builtins
import json
import secrets as stdlib_secrets
import time
from typing import Any, Literal

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import oauth_clients
from policies.oauth import secrets
from policies.oauth.client_fields import (
    check_jwks,
    check_slug,
    validate_grantable_scopes,
    validate_limits,
    validate_scope,
)

ClientStatus = Literal["active", "disabled", "deleted"]
AuthMethod = Literal["client_secret_basic", "private_key_jwt"]

CHANGE_OVERLAP_SECONDS = 5.0
"""Re-read this much before the newest change seen: commits can land out of timestamp order."""
MAX_SECRET_OVERLAP_SECONDS = 30 * 86400
"""The longest a rotated-out secret may keep working."""


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
    jwks_uri: str | None = None
    """Or where a ``private_key_jwt`` client publishes its key set (fetched and cached)."""
    rate_limits: tuple[str, ...] | None = None
    """Limits replacing the tier's (``limits`` notation), or None for the tier's."""
    created_at: float = 0.0
    updated_at: float = 0.0
    disabled_at: float | None = None
    tokens_not_before: float | None = None
    """Tokens issued (``iat``) before this instant are refused."""
    previous_secret_expires_at: float | None = None
    """After a rotation: when the replaced secret stops working."""
    grantable_scopes: tuple[str, ...] | None = None
    """For a client that manages clients: the most it may grant others through the management
    API (a ceiling replacing its own scopes as the default); None for its own scopes."""

    @property
    def active(self) -> bool:
        """Whether the client may still authenticate."""
        return self.status == "active"


class CachedClient(msgspec.Struct, frozen=True):
    """Cache entry: the public record, its scope set and the secret verifier (kept out of the record)."""

    record: ClientRecord
    oauth_scope_set: frozenset[str]
    """The record's scopes as a set, built once per change: every request with one of the
    client's tokens is checked against it (:mod:`policies.oauth.token_standing`)."""
    secret_hash: str | None
    secret_salt: str | None
    previous_secret_hash: str | None = None
    previous_secret_salt: str | None = None


def _stored(
    record: ClientRecord,
    secret_hash: str | None,
    secret_salt: str | None,
    previous_secret_hash: str | None = None,
    previous_secret_salt: str | None = None,
) -> CachedClient:
    scope_set = frozenset(record.oauth_scopes)
    return CachedClient(record, scope_set, secret_hash, secret_salt, previous_secret_hash, previous_secret_salt)


def _row_to_stored(row: Any) -> CachedClient:
    record = ClientRecord(
        client_id=row.client_id,
        name=row.name,
        oauth_scopes=tuple(row.scopes.split()),
        tier=row.tier,
        auth_method="private_key_jwt" if row.auth_method == "private_key_jwt" else "client_secret_basic",
        status=row.status if row.status in ("disabled", "deleted") else "active",
        partner_id=row.partner_id,
        customer_id=row.customer_id,
        jwks=json.loads(row.jwks) if row.jwks else None,
        jwks_uri=row.jwks_uri,
        rate_limits=tuple(json.loads(row.rate_limits)) if row.rate_limits else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        disabled_at=row.disabled_at,
        tokens_not_before=row.tokens_not_before,
        previous_secret_expires_at=row.previous_secret_expires_at,
        grantable_scopes=tuple(json.loads(row.grantable_scopes)) if row.grantable_scopes is not None else None,
    )
    return _stored(record, row.secret_hash, row.secret_salt, row.previous_secret_hash, row.previous_secret_salt)


class ClientStore:
    """CRUD over ``oauth_clients`` with a synchronous, in-memory read side."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._cache: dict[str, CachedClient] = {}
        self._newest_change = 0.0

    async def refresh(self) -> None:
        """Reload every client from the database (start-up, and periodically)."""
        async with self._engine.connect() as connection:
            rows = (await connection.execute(select(oauth_clients))).all()
        self._cache = {row.client_id: _row_to_stored(row) for row in rows}
        self._newest_change = max((row.updated_at for row in rows), default=self._newest_change)

    async def refresh_changed(self) -> builtins.list[str]:
        """Reload the clients changed since the newest change seen; return their ids.

        One indexed range query, cheap enough to run every fraction of a second: this is
        how a client disabled by another process is refused here.
        """
        since = self._newest_change - CHANGE_OVERLAP_SECONDS
        async with self._engine.connect() as connection:
            query = select(oauth_clients).where(oauth_clients.c.updated_at >= since)
            rows = (await connection.execute(query)).all()
        changed = []
        for row in rows:
            stored = _row_to_stored(row)
            if self._cache.get(row.client_id) != stored:
                changed.append(row.client_id)
            self._cache[row.client_id] = stored
            self._newest_change = max(self._newest_change, row.updated_at)
        return changed

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
        rate_limits: builtins.list[str] | None = None,
        jwks_uri: str | None = None,
        grantable_scopes: builtins.list[str] | None = None,
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
        grantable = validate_grantable_scopes(grantable_scopes) if grantable_scopes is not None else None
        check_slug("tier", tier)
        check_slug("partner_id", partner_id)
        check_slug("customer_id", customer_id)
        public_jwks = check_jwks(jwks) if jwks is not None else None
        if jwks_uri is not None:
            from policies.oauth.client_jwks import check_jwks_uri

            if public_jwks is not None:
                raise ValueError("jwks_uri: give jwks or jwks_uri, not both")
            check_jwks_uri(jwks_uri)
        key_based = public_jwks is not None or jwks_uri is not None
        checked_limits = validate_limits(rate_limits) if rate_limits is not None else None

        now = time.time()
        client_id = "cli_" + stdlib_secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")
        secret: str | None = None
        salt = secret_hash = None
        if not key_based:
            secret = secrets.generate_secret()
            salt = secrets.generate_salt()
            secret_hash = secrets.hash_secret(secret, salt)
        record = ClientRecord(
            client_id=client_id,
            name=name,
            oauth_scopes=checked_scopes,
            tier=tier,
            auth_method="private_key_jwt" if key_based else "client_secret_basic",
            partner_id=partner_id,
            customer_id=customer_id,
            jwks=public_jwks,
            jwks_uri=jwks_uri,
            rate_limits=checked_limits,
            created_at=now,
            updated_at=now,
            grantable_scopes=grantable,
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
                    jwks_uri=jwks_uri,
                    scopes=" ".join(checked_scopes),
                    tier=tier,
                    partner_id=partner_id,
                    customer_id=customer_id,
                    status="active",
                    rate_limits=json.dumps(checked_limits) if checked_limits is not None else None,
                    grantable_scopes=json.dumps(grantable) if grantable is not None else None,
                    created_at=record.created_at,
                    updated_at=record.created_at,
                )
            )
        self._cache[client_id] = _stored(record, secret_hash, salt)
        return record, secret

    async def list(self) -> builtins.list[ClientRecord]:
        """Every client that is not deleted, freshly read from the database, oldest first."""
        await self.refresh()
        records = (stored.record for stored in self._cache.values() if stored.record.status != "deleted")
        return sorted(records, key=lambda r: (r.created_at, r.client_id))

    async def get(self, client_id: str) -> ClientRecord | None:
        """One client read from the database, or None (also for a deleted one)."""
        record = await self.load_one(client_id)
        return record if record is not None and record.status != "deleted" else None

    async def update(
        self,
        client_id: str,
        *,
        name: str | None = None,
        scopes: builtins.list[str] | None = None,
        tier: str | None = None,
        rate_limits: builtins.list[str] | msgspec.UnsetType | None = msgspec.UNSET,
        grantable_scopes: builtins.list[str] | msgspec.UnsetType | None = msgspec.UNSET,
    ) -> ClientRecord | None:
        """Change what is given (``rate_limits=None`` goes back to the tier's, ``grantable_scopes=None``
        to the client's own scopes); None if no such client.

        Raises:
            ValueError: a value is malformed.
        """
        values: dict[str, Any] = {}
        if name is not None:
            if not name.strip() or len(name) > 200:
                raise ValueError("name must be 1-200 characters")
            values["name"] = name
        if scopes is not None:
            if not scopes:
                raise ValueError("a client needs at least one scope")
            values["scopes"] = " ".join(dict.fromkeys(validate_scope(scope) for scope in scopes))
        if tier is not None:
            check_slug("tier", tier)
            values["tier"] = tier
        if rate_limits is not msgspec.UNSET:
            checked = validate_limits(rate_limits) if rate_limits is not None else None
            values["rate_limits"] = json.dumps(checked) if checked is not None else None
        if grantable_scopes is not msgspec.UNSET:
            ceiling = validate_grantable_scopes(grantable_scopes) if grantable_scopes is not None else None
            values["grantable_scopes"] = json.dumps(ceiling) if ceiling is not None else None
        return await self._write(client_id, values)

    async def disable(self, client_id: str) -> ClientRecord | None:
        """Disable a client: no new tokens, and its live tokens are refused; None if no such client."""
        now = time.time()
        return await self._write(
            client_id, {"status": "disabled", "disabled_at": now, "tokens_not_before": now}, only_status="active"
        )

    async def enable(self, client_id: str) -> ClientRecord | None:
        """Enable a disabled client again (tokens issued before it was disabled stay refused)."""
        return await self._write(client_id, {"status": "active", "disabled_at": None}, only_status="disabled")

    async def delete(self, client_id: str) -> bool:
        """Delete a client for good (a tombstone that keeps its tokens refused); False if no such client."""
        now = time.time()
        wiped = {"secret_hash": None, "secret_salt": None, "previous_secret_hash": None, "previous_secret_salt": None}
        values = {"status": "deleted", "disabled_at": now, "tokens_not_before": now, "jwks": None, "jwks_uri": None}
        values.update(wiped)
        return await self._write(client_id, values) is not None

    async def rotate_secret(self, client_id: str, overlap_seconds: float) -> tuple[ClientRecord, str] | None:
        """Issue a new secret; the current one keeps working for ``overlap_seconds`` (0: stops now).

        Returns the client and its new secret (shown once), or None if no such client.

        Raises:
            ValueError: the client authenticates with ``private_key_jwt``, or the overlap is out of range.
        """
        if not 0 <= overlap_seconds <= MAX_SECRET_OVERLAP_SECONDS:
            raise ValueError(f"previous_secret_valid_for: must be 0..{MAX_SECRET_OVERLAP_SECONDS} seconds")
        current = await self.get(client_id)
        if current is None:
            return None
        if current.auth_method == "private_key_jwt":
            raise ValueError("this client authenticates with private_key_jwt: it has no secret to rotate")
        stored = self._cache[client_id]
        secret = secrets.generate_secret()
        salt = secrets.generate_salt()
        values: dict[str, Any] = {"secret_hash": secrets.hash_secret(secret, salt), "secret_salt": salt}
        if overlap_seconds > 0:
            values.update(
                previous_secret_hash=stored.secret_hash,
                previous_secret_salt=stored.secret_salt,
                previous_secret_expires_at=time.time() + overlap_seconds,
            )
        else:
            values.update(previous_secret_hash=None, previous_secret_salt=None, previous_secret_expires_at=None)
        record = await self._write(client_id, values)
        return (record, secret) if record is not None else None

    async def _write(
        self, client_id: str, values: dict[str, Any], only_status: str | None = None
    ) -> ClientRecord | None:
        """Apply ``values`` to a client that is not deleted, stamp ``updated_at``, return the fresh record.

        None when there is no such client (or it was deleted before this write).
        """
        if len(client_id) > 64:
            return None
        condition = [oauth_clients.c.client_id == client_id, oauth_clients.c.status != "deleted"]
        async with self._engine.begin() as connection:
            if only_status is not None:
                # A no-op (disabling a disabled client) changes nothing, not even tokens_not_before.
                exists = select(oauth_clients.c.status).where(*condition)
                status = (await connection.execute(exists)).scalar_one_or_none()
                if status is None:
                    return None
                if status != only_status:
                    values = {}
            if values:
                statement = update(oauth_clients).where(*condition).values(**values, updated_at=time.time())
                if (await connection.execute(statement)).rowcount == 0:
                    return None
        return await self.load_one(client_id)

    # Synchronous read side, for Authlib's server core and the resource side.
    def cached(self, client_id: str) -> ClientRecord | None:
        """The cached client (deleted ones included, as tombstones), or None (no I/O)."""
        stored = self._cache.get(client_id)
        return stored.record if stored else None

    def cached_entry(self, client_id: str) -> CachedClient | None:
        """The cache entry of a client (record and scope set), or None (no I/O, no allocation)."""
        return self._cache.get(client_id)

    def check_secret(self, client_id: str, secret: str) -> bool:
        """Whether ``secret`` is the client's secret, or its rotated-out one still in overlap (no I/O).

        Compares in constant time against both verifiers when both exist, so timing does not
        tell which one matched.
        """
        stored = self._cache.get(client_id)
        if stored is None or stored.secret_hash is None or stored.secret_salt is None:
            return False
        current = secrets.verify_secret(secret, stored.secret_salt, stored.secret_hash)
        expires = stored.record.previous_secret_expires_at
        previous = False
        if stored.previous_secret_hash and stored.previous_secret_salt and expires and time.time() < expires:
            previous = secrets.verify_secret(secret, stored.previous_secret_salt, stored.previous_secret_hash)
        return current or previous

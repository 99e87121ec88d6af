"""Where idempotency claims and stored responses live: the state database or Redis.

One record per (client, key). A first request *claims* the key atomically (state
``in_flight``, a random claim token, a short lease); its handler's response then
*completes* the record (state ``done``, status, safe headers, body, kept for the retention
period), or the claim is *released* so a retry can run. Cross-process safety comes from
the shared store: the claim is an INSERT that fails on the primary key (SQL) or a
``SET NX`` (Redis), so of N concurrent first requests exactly one wins.

Expired records (``expires_at <= now``) are treated as absent; :meth:`purge_expired`
deletes them in bulk. ``now`` is always passed in, so tests can move time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import idempotency_records
from core.redis_pool import RedisClient, fail_fast_redis

RecordState = Literal["in_flight", "done"]
DEFAULT_REDIS_SOCKET_TIMEOUT = 1.0
DEFAULT_REDIS_MAX_CONNECTIONS = 64
"""Connections per process; more concurrent admissions wait (up to the socket timeout) for one."""
DEFAULT_KEY_PREFIX = "strata:idem:"
_CLAIM_ATTEMPTS = 3
"""An expired record is deleted then re-claimed; a racing claimer may win in between."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What is replayed: status, safe headers, body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """A live record found when claiming: someone else's claim, or a finished response."""

    state: RecordState
    fingerprint: str
    expires_at: float
    response: StoredResponse | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """Ours: proof of having claimed a key, needed to complete or release it."""

    client_id: str
    key: str
    token: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class ClaimResult:
    """Either ``claim`` (the key is ours) or ``existing`` (the live record that holds it)."""

    claim: Claim | None = None
    existing: IdempotencyRecord | None = field(default=None)


class IdempotencyStore(Protocol):
    """Atomic claim, completion and release of idempotency keys."""

    async def claim(
        self, claim: Claim, route: str, now: float, lease_until: float
    ) -> ClaimResult:  # pragma: no cover - protocol
        """Claim ``claim.key`` for ``claim.client_id`` unless a live record holds it."""
        ...

    async def complete(self, claim: Claim, response: StoredResponse, now: float, expires_at: float) -> bool:
        """Store the response under our claim; False if the claim was lost (lease expired)."""
        ...

    async def release(self, claim: Claim) -> None:
        """Drop our in-flight claim so a retry can run."""
        ...

    async def purge_expired(self, now: float) -> int:
        """Delete expired records; returns how many (``-1`` when the store expires them itself)."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


def _encode_headers(headers: tuple[tuple[str, str], ...]) -> str:
    return json.dumps([list(pair) for pair in headers])


def _decode_headers(text: str | bytes | None) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text or "[]"))


class SqlIdempotencyStore:
    """Records in ``idempotency_records`` (SQLite or PostgreSQL), SQLAlchemy Core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def claim(self, claim: Claim, route: str, now: float, lease_until: float) -> ClaimResult:
        """INSERT the in-flight row; on a primary-key conflict read the row that holds the key."""
        table = idempotency_records
        row_key = and_(table.c.client_id == claim.client_id, table.c.key == claim.key)
        for _ in range(_CLAIM_ATTEMPTS):
            try:
                async with self._engine.begin() as connection:
                    await connection.execute(
                        insert(table).values(
                            client_id=claim.client_id,
                            key=claim.key,
                            route=route[:300],
                            fingerprint=claim.fingerprint,
                            state="in_flight",
                            claim_token=claim.token,
                            created_at=now,
                            expires_at=lease_until,
                        )
                    )
                return ClaimResult(claim=claim)
            except IntegrityError:
                pass
            async with self._engine.begin() as connection:
                row = (await connection.execute(select(table).where(row_key))).mappings().first()
                if row is None:
                    continue  # released in between: try again
                if row["expires_at"] > now:
                    return ClaimResult(existing=_record_from_row(row))
                await connection.execute(delete(table).where(row_key, table.c.expires_at <= now))
        raise RuntimeError(f"idempotency key {claim.key!r} could not be claimed")

    async def complete(self, claim: Claim, response: StoredResponse, now: float, expires_at: float) -> bool:
        """UPDATE our in-flight row (matched by claim token) to ``done`` with the response."""
        table = idempotency_records
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(table)
                .where(table.c.client_id == claim.client_id, table.c.key == claim.key)
                .where(table.c.claim_token == claim.token, table.c.state == "in_flight")
                .values(
                    state="done",
                    status_code=response.status,
                    headers=_encode_headers(response.headers),
                    body=response.body,
                    expires_at=expires_at,
                )
            )
        return bool(result.rowcount)

    async def release(self, claim: Claim) -> None:
        """DELETE our in-flight row (never a row claimed by someone else since)."""
        table = idempotency_records
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(table).where(
                    table.c.client_id == claim.client_id,
                    table.c.key == claim.key,
                    table.c.claim_token == claim.token,
                    table.c.state == "in_flight",
                )
            )

    async def purge_expired(self, now: float) -> int:
        """DELETE every expired row (uses the ``expires_at`` index)."""
        table = idempotency_records
        async with self._engine.begin() as connection:
            result = await connection.execute(delete(table).where(table.c.expires_at <= now))
        return int(result.rowcount)

    async def aclose(self) -> None:
        """The engine belongs to the caller."""


def _record_from_row(row: Any) -> IdempotencyRecord:
    response = None
    if row["state"] == "done":
        response = StoredResponse(row["status_code"], _decode_headers(row["headers"]), bytes(row["body"] or b""))
    return IdempotencyRecord(row["state"], row["fingerprint"], row["expires_at"], response)


# KEYS[1]: result hash, KEYS[2]: claim (lock) string "<token> <lease until> <fingerprint>".
# ARGV: now, lock value, lease ms. Returns {"claimed"} | {"done", hash fields...} | {"in_flight", lock}.
_CLAIM_SCRIPT = """
local now = tonumber(ARGV[1])
local expires = redis.call('HGET', KEYS[1], 'expires_at')
if expires then
  if tonumber(expires) > now then
    local result = redis.call('HGETALL', KEYS[1])
    table.insert(result, 1, 'done')
    return result
  end
  redis.call('DEL', KEYS[1])
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return {'claimed'} end
local held = redis.call('GET', KEYS[2])
local until_ = tonumber(string.match(held, '^%S+ (%S+)'))
if until_ <= now then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  return {'claimed'}
end
return {'in_flight', held}
"""

# KEYS as above. ARGV: token, fingerprint, status, headers JSON, body, expires_at, ttl ms.
_COMPLETE_SCRIPT = """
local held = redis.call('GET', KEYS[2])
if not held or string.sub(held, 1, #ARGV[1] + 1) ~= ARGV[1] .. ' ' then return 0 end
redis.call('HSET', KEYS[1], 'fingerprint', ARGV[2], 'status', ARGV[3], 'headers', ARGV[4],
  'body', ARGV[5], 'expires_at', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('DEL', KEYS[2])
return 1
"""

_RELEASE_SCRIPT = """
local held = redis.call('GET', KEYS[2])
if held and string.sub(held, 1, #ARGV[1] + 1) == ARGV[1] .. ' ' then redis.call('DEL', KEYS[2]) end
return 0
"""


class RedisIdempotencyStore:
    """Claims as ``SET NX PX`` (lease), responses as a hash with the retention as TTL.

    Each operation is one Lua script, so claim-or-read and compare-and-delete are atomic.
    Redis expires keys itself; the ``expires_at`` fields are also checked against ``now``.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        socket_timeout: float = DEFAULT_REDIS_SOCKET_TIMEOUT,
        max_connections: int = DEFAULT_REDIS_MAX_CONNECTIONS,
    ) -> None:
        self._redis: RedisClient = fail_fast_redis(redis_url, timeout=socket_timeout, max_connections=max_connections)
        self._prefix = key_prefix
        self._claim = self._redis.register_script(_CLAIM_SCRIPT)
        self._complete = self._redis.register_script(_COMPLETE_SCRIPT)
        self._release = self._redis.register_script(_RELEASE_SCRIPT)

    def _keys(self, client_id: str, key: str) -> list[str]:
        # Hashed so any client id / key text makes a safe, unambiguous Redis key.
        digest = hashlib.sha256(f"{client_id}\x00{key}".encode()).hexdigest()[:40]
        return [f"{self._prefix}{{{digest}}}:r", f"{self._prefix}{{{digest}}}:l"]

    async def claim(self, claim: Claim, route: str, now: float, lease_until: float) -> ClaimResult:
        """Claim atomically, or return the live record that holds the key."""
        lease_ms = max(1, int((lease_until - now) * 1000))
        lock = f"{claim.token} {lease_until!r} {claim.fingerprint}"
        reply = await self._claim(keys=self._keys(claim.client_id, claim.key), args=[repr(now), lock, lease_ms])
        kind = reply[0].decode()
        if kind == "claimed":
            return ClaimResult(claim=claim)
        if kind == "in_flight":
            _token, until, fingerprint = reply[1].decode().split(" ", 2)
            return ClaimResult(existing=IdempotencyRecord("in_flight", fingerprint, float(until)))
        fields = {reply[i].decode(): reply[i + 1] for i in range(1, len(reply), 2)}
        response = StoredResponse(int(fields["status"]), _decode_headers(fields["headers"]), bytes(fields["body"]))
        return ClaimResult(
            existing=IdempotencyRecord("done", fields["fingerprint"].decode(), float(fields["expires_at"]), response)
        )

    async def complete(self, claim: Claim, response: StoredResponse, now: float, expires_at: float) -> bool:
        """Write the response hash and drop the lock, if the lock is still ours."""
        ttl_ms = max(1, int((expires_at - now) * 1000))
        args: list[str | bytes | int] = [
            claim.token,
            claim.fingerprint,
            response.status,
            _encode_headers(response.headers),
            response.body,
            repr(expires_at),
            ttl_ms,
        ]
        done = await self._complete(keys=self._keys(claim.client_id, claim.key), args=args)
        return int(done) == 1

    async def release(self, claim: Claim) -> None:
        """Delete the lock if it is still ours."""
        await self._release(keys=self._keys(claim.client_id, claim.key), args=[claim.token])

    async def purge_expired(self, now: float) -> int:
        """Redis expires keys itself (TTL = retention)."""
        return -1

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()


def idempotency_store_for(redis_url: str, engine: AsyncEngine) -> IdempotencyStore:
    """Redis when ``redis_url`` is set (idempotency locks are shared there), else the state database."""
    if redis_url:
        return RedisIdempotencyStore(redis_url)
    return SqlIdempotencyStore(engine)

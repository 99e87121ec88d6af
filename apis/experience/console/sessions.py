"""Operator sessions of the console, kept server-side in the state database.

The browser holds only an opaque session id in an ``HttpOnly``, ``SameSite=Strict`` cookie.
The row (``console_sessions``) is found by the SHA-256 of that id, so a copy of the table
does not give anyone a usable cookie; the operations client's secret and current access
token are sealed with the master key (:class:`core.sealing.Sealer`, bound to the row), so
the session can renew the token without the operator signing in again, and nothing secret is
ever sent to the browser. Rows live in the database, not in a process, so every gateway
process (granian workers, several hosts on PostgreSQL) serves the same sessions.

A session ends on sign-out, after ``console_session_idle_seconds`` without a request, or
``console_session_max_seconds`` after sign-in, whichever comes first; ended rows are deleted
when met and purged at each sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import console_sessions
from core.sealing import SealBroken, Sealer

SEAL_PURPOSE = "console-session"


class _Sealed(msgspec.Struct, frozen=True):
    secret: str
    access_token: str


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """One signed-in operator (what a request handler may read)."""

    id: str
    """SHA-256 hex of the cookie value (the row's key)."""
    client_id: str
    """The operations client the operator signed in as."""
    csrf_token: str
    """What every state-changing request of this session must carry."""
    secret: str
    """The client's secret (server-side only, to renew the token)."""
    access_token: str
    """The current access token (server-side only)."""
    token_expires_at: float
    created_at: float
    expires_at: float


def session_key(cookie_value: str) -> str:
    """The row key of a cookie value."""
    return hashlib.sha256(cookie_value.encode("utf-8")).hexdigest()


class ConsoleSessions:
    """Create, find, renew and end console sessions."""

    def __init__(self, engine: AsyncEngine, master_key: str, *, idle_seconds: int, max_seconds: int) -> None:
        self._engine = engine
        self._sealer = Sealer(master_key, SEAL_PURPOSE)
        self._idle = idle_seconds
        self._max = max_seconds

    def _seal(self, key: str, secret: str, access_token: str) -> str:
        return self._sealer.seal(msgspec.json.encode(_Sealed(secret, access_token)), aad=key)

    async def create(
        self, client_id: str, secret: str, access_token: str, expires_in: float
    ) -> tuple[str, ConsoleSession]:
        """A new session; returns the cookie value (shown to the browser once) and the session."""
        await self.purge()
        cookie = secrets.token_urlsafe(32)
        now = time.time()
        session = ConsoleSession(
            id=session_key(cookie),
            client_id=client_id,
            csrf_token=secrets.token_urlsafe(32),
            secret=secret,
            access_token=access_token,
            token_expires_at=now + expires_in,
            created_at=now,
            expires_at=min(now + self._idle, now + self._max),
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                console_sessions.insert().values(
                    id=session.id,
                    client_id=client_id,
                    csrf_token=session.csrf_token,
                    sealed=self._seal(session.id, secret, access_token),
                    token_expires_at=session.token_expires_at,
                    created_at=now,
                    expires_at=session.expires_at,
                )
            )
        return cookie, session

    async def find(self, cookie: str | None) -> ConsoleSession | None:
        """The live session of a cookie value, its idle deadline pushed on; ``None`` if there is none."""
        if not cookie:
            return None
        key = session_key(cookie)
        t = console_sessions.c
        async with self._engine.connect() as connection:
            row = (await connection.execute(select(console_sessions).where(t.id == key))).one_or_none()
        if row is None:
            return None
        now = time.time()
        if row.expires_at <= now:
            await self.end(key)
            return None
        try:
            sealed = msgspec.json.decode(self._sealer.open(row.sealed, aad=key), type=_Sealed)
        except (SealBroken, msgspec.DecodeError):
            # Another master key (or an edited row): the session cannot be used; sign in again.
            await self.end(key)
            return None
        expires_at = min(now + self._idle, row.created_at + self._max)
        async with self._engine.begin() as connection:
            await connection.execute(update(console_sessions).where(t.id == key).values(expires_at=expires_at))
        return ConsoleSession(
            id=key,
            client_id=row.client_id,
            csrf_token=row.csrf_token,
            secret=sealed.secret,
            access_token=sealed.access_token,
            token_expires_at=row.token_expires_at,
            created_at=row.created_at,
            expires_at=expires_at,
        )

    async def store_token(self, session: ConsoleSession, access_token: str, expires_in: float) -> ConsoleSession:
        """Keep a renewed access token for ``session``."""
        token_expires_at = time.time() + expires_in
        async with self._engine.begin() as connection:
            await connection.execute(
                update(console_sessions)
                .where(console_sessions.c.id == session.id)
                .values(sealed=self._seal(session.id, session.secret, access_token), token_expires_at=token_expires_at)
            )
        return ConsoleSession(
            id=session.id,
            client_id=session.client_id,
            csrf_token=session.csrf_token,
            secret=session.secret,
            access_token=access_token,
            token_expires_at=token_expires_at,
            created_at=session.created_at,
            expires_at=session.expires_at,
        )

    async def end(self, key: str) -> None:
        """End the session with row key ``key`` (nothing happens if there is none)."""
        async with self._engine.begin() as connection:
            await connection.execute(delete(console_sessions).where(console_sessions.c.id == key))

    async def purge(self) -> int:
        """Delete every ended session; how many."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                delete(console_sessions).where(console_sessions.c.expires_at <= time.time())
            )
        return int(result.rowcount or 0)

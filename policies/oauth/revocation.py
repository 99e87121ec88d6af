"""The access-token denylist: revoked ``jti`` values shared by every gateway process.

JWT access tokens (RFC 9068) are self-contained, so revoking one (RFC 7009) means adding
its ``jti`` to a denylist the resource side checks on every request. The check,
:meth:`RevocationList.is_revoked`, is a set lookup with no I/O. Entries live until the
token's own ``exp``; after that the signature check refuses the token anyway.

Propagation between processes:

* with Redis, :meth:`RevocationList.revoke` publishes on ``strata:revocations`` and every
  process's listener task adds the ``jti`` within milliseconds; after a (re)connection the
  listener catches up from the table;
* without Redis, a task polls ``revoked_tokens`` every second for rows newer than the last
  one seen, so processes sharing SQLite or PostgreSQL agree within about a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.background import cancel_and_wait
from core.db import revoked_tokens
from core.redis_pool import listen_forever

log = structlog.get_logger(__name__)

REVOCATION_CHANNEL = "strata:revocations"
POLL_INTERVAL_SECONDS = 1.0
POLL_OVERLAP_SECONDS = 5.0
"""Re-read this much before the newest row seen: commits can land out of timestamp order."""
REDIS_RETRY_SECONDS = 1.0
PURGE_INTERVAL_SECONDS = 60.0
MAX_JTI_LENGTH = 64


class RevocationList:
    """In-memory denylist of ``jti`` → ``exp``, kept in sync with the table (and Redis)."""

    def __init__(self, engine: AsyncEngine, redis_url: str | None = None) -> None:
        self._engine = engine
        self._redis_url = redis_url or None
        self._revoked: dict[str, float] = {}
        self._last_seen = 0.0
        self._last_purge = time.time()
        self._task: asyncio.Task[None] | None = None
        self._redis: Any = None
        self._subscribed = asyncio.Event()

    def is_revoked(self, jti: str) -> bool:
        """Whether the token ``jti`` is revoked (pure in-memory lookup)."""
        return jti in self._revoked

    def __len__(self) -> int:
        return len(self._revoked)

    async def start(self) -> None:
        """Load unexpired rows and start the propagation task (pub/sub or polling)."""
        await self._catch_up(full=True)
        if self._redis_url:
            from core.redis_pool import redis_client

            self._redis = redis_client(self._redis_url)
            self._task = asyncio.create_task(self._listen(), name="strata-revocation-listener")
            # Do not return before the subscription is live, or a publish could be missed.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), timeout=2.0)
        else:
            self._task = asyncio.create_task(self._poll(), name="strata-revocation-poller")

    async def stop(self) -> None:
        """Stop the background task and close the Redis connection."""
        await cancel_and_wait(self._task)
        self._task = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def revoke(self, jti: str, expires_at: float) -> None:
        """Revoke ``jti`` until ``expires_at``: store it, apply it here, tell the other processes."""
        if not jti or len(jti) > MAX_JTI_LENGTH:
            raise ValueError(f"jti must be 1-{MAX_JTI_LENGTH} characters")
        now = time.time()
        try:
            async with self._engine.begin() as connection:
                await connection.execute(revoked_tokens.insert().values(jti=jti, expires_at=expires_at, revoked_at=now))
        except IntegrityError:
            pass  # already revoked: revocation is idempotent (RFC 7009 §2.2)
        self._add(jti, expires_at)
        if self._redis is not None:
            try:
                await self._redis.publish(REVOCATION_CHANNEL, json.dumps({"jti": jti, "exp": expires_at}))
            except Exception as exc:  # the row is stored; others catch up on reconnect
                log.warning("revocation publish failed", error=str(exc))

    def _add(self, jti: str, expires_at: float) -> None:
        if expires_at > time.time():
            self._revoked[jti] = expires_at

    def purge_expired(self) -> None:
        """Forget entries whose token has expired anyway."""
        now = time.time()
        self._last_purge = now
        self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp > now}

    async def _catch_up(self, *, full: bool = False) -> None:
        now = time.time()
        query = select(revoked_tokens.c.jti, revoked_tokens.c.expires_at, revoked_tokens.c.revoked_at)
        if full:
            query = query.where(revoked_tokens.c.expires_at > now)
        else:
            query = query.where(revoked_tokens.c.revoked_at > self._last_seen - POLL_OVERLAP_SECONDS)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        for row in rows:
            self._add(row.jti, row.expires_at)
            self._last_seen = max(self._last_seen, row.revoked_at)
        if now - self._last_purge > PURGE_INTERVAL_SECONDS:
            self.purge_expired()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL_SECONDS)
            try:
                await self._catch_up()
            except SQLAlchemyError as exc:
                log.warning("revocation poll failed", error=str(exc))

    async def _listen(self) -> None:
        await listen_forever(
            self._redis,
            REVOCATION_CHANNEL,
            self._on_message,
            self._subscribed,
            on_subscribed=self._catch_up,
            retry_seconds=REDIS_RETRY_SECONDS,
            name="revocation listener",
        )

    def _on_message(self, data: Any) -> None:
        try:
            event = json.loads(data)
            jti, expires_at = event["jti"], float(event["exp"])
        except (ValueError, TypeError, KeyError):
            log.warning("ignoring malformed revocation message")
            return
        if isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_LENGTH:
            self._add(jti, expires_at)
        if time.time() - self._last_purge > PURGE_INTERVAL_SECONDS:
            self.purge_expired()

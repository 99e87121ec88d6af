"""A partner's webhook subscriptions in the state database, each with its signing secret.

Every read and write names the partner: another partner's subscription is :class:`NotFound`,
exactly as one that does not exist. The secret is generated here, returned once (by
:meth:`SubscriptionStore.create` and :meth:`SubscriptionStore.rotate_secret`) and kept only
sealed (:class:`~apis.experience.partner_portal.webhooks.signing.SecretBox`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from ulid import ULID

from apis.experience.partner_portal.webhooks.signing import SecretBox, new_secret
from core.cursors import Keyset
from core.db import partner_webhook_attempts, partner_webhook_deliveries, partner_webhook_subscriptions
from core.errors import Conflict, NotFound

MAX_SUBSCRIPTIONS_PER_PARTNER = 25
"""More would make every event of the partner's customers fan out to that many endpoints."""
_subs = partner_webhook_subscriptions


class Subscription(msgspec.Struct, frozen=True, kw_only=True):
    """One registered endpoint (never its secret)."""

    id: str
    partner_id: str
    url: str
    event_types: list[str]
    description: str | None
    created_at: float
    updated_at: float
    previous_secret_expires_at: float | None
    """Until then deliveries are signed with the replaced secret too (``None``: no rotation in grace)."""


class SigningTarget(msgspec.Struct, frozen=True, kw_only=True):
    """What a delivery attempt needs of a subscription: where to send and the secrets to sign with."""

    url: str
    secrets: list[str]
    """The current secret first, then the replaced one while its grace lasts."""


def _subscription(row: Mapping[Any, Any], now: float | None = None) -> Subscription:
    expires = row["previous_secret_expires_at"]
    in_grace = expires is not None and expires > (now or time.time())
    return Subscription(
        id=row["id"],
        partner_id=row["partner_id"],
        url=row["url"],
        event_types=list(json.loads(row["event_types"])),
        description=row["description"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        previous_secret_expires_at=expires if in_grace else None,
    )


class SubscriptionStore:
    """Partner webhook subscriptions (one store per process; no state of its own)."""

    def __init__(self, engine: AsyncEngine, box: SecretBox) -> None:
        self._engine = engine
        self._box = box

    async def create(
        self, partner_id: str, url: str, event_types: Sequence[str], description: str | None
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret (the only time the secret is returned).

        Raises:
            Conflict: the partner has :data:`MAX_SUBSCRIPTIONS_PER_PARTNER` already.
        """
        now = time.time()
        secret = new_secret()
        row = {
            "id": f"whs_{ULID()}",
            "partner_id": partner_id,
            "url": url,
            "event_types": json.dumps(list(dict.fromkeys(event_types))),
            "description": description,
            "secret_sealed": self._box.seal(secret),
            "previous_secret_sealed": None,
            "previous_secret_expires_at": None,
            "created_at": now,
            "updated_at": now,
        }
        async with self._engine.begin() as connection:
            count = await connection.execute(
                select(func.count()).select_from(_subs).where(_subs.c.partner_id == partner_id)
            )
            if int(count.scalar_one()) >= MAX_SUBSCRIPTIONS_PER_PARTNER:
                raise Conflict(f"a partner may have at most {MAX_SUBSCRIPTIONS_PER_PARTNER} webhook subscriptions")
            await connection.execute(_subs.insert().values(**row))
        return _subscription(row, now), secret

    async def get(self, partner_id: str, subscription_id: str) -> Subscription:
        """The partner's subscription.

        Raises:
            NotFound: no such subscription of this partner.
        """
        return _subscription(await self._row(partner_id, subscription_id))

    async def page(
        self, partner_id: str, *, limit: int, position: Keyset | None
    ) -> tuple[list[Subscription], Keyset | None]:
        """The partner's subscriptions, oldest first, from ``position``, and the next page's position."""
        conditions = [_subs.c.partner_id == partner_id]
        if position is not None:
            conditions.append(
                or_(
                    _subs.c.created_at > position.created_at,
                    and_(_subs.c.created_at == position.created_at, _subs.c.id > position.id),
                )
            )
        query = select(_subs).where(*conditions).order_by(_subs.c.created_at, _subs.c.id).limit(limit + 1)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        items = [_subscription(row) for row in rows[:limit]]
        return items, Keyset(items[-1].created_at, items[-1].id) if len(rows) > limit else None

    async def delete(self, partner_id: str, subscription_id: str) -> None:
        """Delete the subscription with its deliveries and their log (nothing more is sent to it).

        Raises:
            NotFound: no such subscription of this partner.
        """
        d = partner_webhook_deliveries
        async with self._engine.begin() as connection:
            removed = await connection.execute(
                delete(_subs).where(and_(_subs.c.id == subscription_id, _subs.c.partner_id == partner_id))
            )
            if not removed.rowcount:
                raise NotFound(f"No webhook subscription {subscription_id}")
            deliveries = select(d.c.id).where(d.c.subscription_id == subscription_id)
            await connection.execute(
                delete(partner_webhook_attempts).where(partner_webhook_attempts.c.delivery_id.in_(deliveries))
            )
            await connection.execute(delete(d).where(d.c.subscription_id == subscription_id))

    async def rotate_secret(
        self, partner_id: str, subscription_id: str, grace_seconds: float
    ) -> tuple[Subscription, str]:
        """A new secret; the current one keeps signing (next to the new one) for ``grace_seconds``.

        A second rotation within the grace period drops the oldest secret: at most two sign.

        Raises:
            NotFound: no such subscription of this partner.
        """
        now = time.time()
        secret = new_secret()
        async with self._engine.begin() as connection:
            row = await self._row(partner_id, subscription_id, connection)
            values = {
                "secret_sealed": self._box.seal(secret),
                "previous_secret_sealed": row["secret_sealed"] if grace_seconds > 0 else None,
                "previous_secret_expires_at": now + grace_seconds if grace_seconds > 0 else None,
                "updated_at": now,
            }
            await connection.execute(update(_subs).where(_subs.c.id == subscription_id).values(**values))
        return _subscription({**row, **values}, now), secret

    async def matching(self, partner_id: str, event_type: str, happened_at: float) -> list[str]:
        """Ids of the partner's subscriptions to ``event_type`` that existed when the event happened."""
        query = select(_subs.c.id, _subs.c.event_types).where(
            and_(_subs.c.partner_id == partner_id, _subs.c.created_at <= happened_at)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [row.id for row in rows if event_type in json.loads(row.event_types)]

    async def any_for(self, event_type: str, happened_at: float) -> bool:
        """Whether any partner subscribed to ``event_type`` before ``happened_at`` (a cheap first filter)."""
        query = select(_subs.c.event_types).where(_subs.c.created_at <= happened_at)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).scalars().all()
        return any(event_type in json.loads(types) for types in rows)

    async def signing_target(self, subscription_id: str, now: float | None = None) -> SigningTarget | None:
        """URL and secrets of a subscription (``None`` once deleted); secrets are opened here only."""
        query = select(_subs).where(_subs.c.id == subscription_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        signing = [self._box.open(row["secret_sealed"])]
        expires = row["previous_secret_expires_at"]
        if row["previous_secret_sealed"] and expires is not None and expires > (now or time.time()):
            signing.append(self._box.open(row["previous_secret_sealed"]))
        return SigningTarget(url=row["url"], secrets=signing)

    async def _row(
        self, partner_id: str, subscription_id: str, connection: AsyncConnection | None = None
    ) -> Mapping[Any, Any]:
        query = select(_subs).where(and_(_subs.c.id == subscription_id, _subs.c.partner_id == partner_id))
        if connection is not None:
            row = (await connection.execute(query)).mappings().first()
        else:
            async with self._engine.connect() as own:
                row = (await own.execute(query)).mappings().first()
        if row is None:
            raise NotFound(f"No webhook subscription {subscription_id}")
        return row

"""The vendor event inbox: verified webhook events in our database, once per vendor event id.

A webhook's handler stores the event and answers 2xx; consumers (issue 5's event log) read
what is not processed yet and mark it done. The primary key ``(vendor, event_id)`` makes a
redelivery a no-op: the insert conflicts, nothing is stored twice, and the caller still
answers 2xx (Stripe retries anything else).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.canonical import VendorEvent
from core.db import vendor_event_inbox as table


class VendorEventInbox:
    """Verified vendor events, stored once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def store(self, vendor: str, event_id: str, event_type: str, payload: bytes) -> bool:
        """Keep an event; False when it was there already (a redelivery)."""
        row = {
            "vendor": vendor,
            "event_id": event_id,
            "event_type": event_type,
            "payload": payload,
            "received_at": time.time(),
        }
        try:
            async with self._engine.begin() as connection:
                await connection.execute(insert(table).values(**row))
        except IntegrityError:
            return False
        return True

    async def unprocessed(self, *, vendor: str | None = None, limit: int = 100) -> list[VendorEvent]:
        """Events no consumer has marked processed, oldest first."""
        query = select(table).where(table.c.processed_at.is_(None))
        if vendor is not None:
            query = query.where(table.c.vendor == vendor)
        query = query.order_by(table.c.received_at, table.c.event_id).limit(limit)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            VendorEvent(
                id=row["event_id"],
                vendor=row["vendor"],
                type=row["event_type"],
                received_at=dt.datetime.fromtimestamp(row["received_at"], dt.UTC),
                payload=bytes(row["payload"]),
            )
            for row in rows
        ]

    async def mark_processed(self, vendor: str, event_ids: Iterable[str]) -> int:
        """Mark events handled; returns how many changed."""
        ids = list(event_ids)
        if not ids:
            return 0
        statement = (
            update(table)
            .where(table.c.vendor == vendor, table.c.event_id.in_(ids), table.c.processed_at.is_(None))
            .values(processed_at=time.time())
        )
        async with self._engine.begin() as connection:
            result = await connection.execute(statement)
        return int(result.rowcount or 0)

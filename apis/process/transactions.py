"""Business transactions: what a process API run is about, where it stands, what it did.

The workflow engine keeps the execution (steps, attempts, errors, timing); this store keeps
the business view an operator and a dashboard read: one row per transaction with its
business state, the customer, why it stopped and which system owns the fix, plus its
lineage — each vendor record a step created or matched, each operator action.

A transaction's id (``txn_<ULID>``) is also its workflow id in the engine. ``(workflow,
business_key)`` is unique, so the same opportunity submitted again — concurrently or a week
later — finds the transaction that exists (:meth:`TransactionStore.open`).

A step records its state change, its vendor records and the event describing it in **one**
database transaction (:meth:`TransactionStore.advance`), so the business view, the lineage and
the outbox never disagree; a step re-run after a crash records the same rows again, which the
unique keys absorb.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from apis.process.events import CloudEvent, append, deterministic_event_id, new_event, outbox_row
from apis.process.step_writes import one_row_each, one_statement, write_step
from apis.process.xref import XrefLink, link_in, new_canonical_id
from core.cursors import Keyset
from core.db import insert_ignoring, outbox_events, process_lineage, process_transactions
from core.instants import rfc3339

ACCEPTED = "accepted"
NEEDS_ATTENTION = "needs_attention"
"""Stopped by a permanent error (bad data, a business rule): someone must fix and replay, or dismiss."""
FAILED = "failed"
"""Stopped because a vendor stayed unavailable through every retry: replay when it is back."""
HELD = "held"
"""Parked on purpose (e.g. a closed accounting period) until someone releases it."""
COMPLETED = "completed"
COMPENSATED = "compensated"
"""What it had done was undone, in reverse order."""
DISMISSED = "dismissed"
"""An operator closed the exception without completing it (with a reason)."""

EXCEPTION_STATES = (NEEDS_ATTENTION, FAILED, HELD)
"""States listed under ``/process/operations/v1/exceptions``."""
FINAL_STATES = (COMPLETED, COMPENSATED, DISMISSED)


class VendorRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A record a step created (or matched) in a system."""

    system: str
    """The vendor, e.g. ``stripe``, ``netsuite``, ``salesforce``."""
    object: str
    """The kind of record: ``customer``, ``subscription``, ``sales_order``, ..."""
    id: str
    """The vendor's id of the record."""


class Transaction(msgspec.Struct, frozen=True, kw_only=True):
    """One business transaction (a process API run)."""

    id: str
    workflow: str
    business_key: str
    state: str
    customer_id: str | None
    correlation_id: str
    input: dict[str, Any]
    overrides: dict[str, Any] | None
    reason_code: str | None
    reason: str | None
    owner_system: str | None
    failed_step: str | None
    created_at: float
    updated_at: float
    attention_since: float | None
    completed_at: float | None
    about: About | None = None
    """What a person knows it by, once the workflow has read it."""


class About(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a person knows a transaction by (each part when known)."""

    customer: str | None = None
    """The customer's name, e.g. ``Fabrikam Cloud``."""
    deal: str | None = None
    """The deal's name, e.g. ``Fabrikam Cloud - platform``."""
    amount: str | None = None
    """Decimal string, e.g. ``"15600.00"``."""
    currency: str | None = None
    """ISO 4217, e.g. ``USD``."""


class LineageEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One line of a transaction's lineage."""

    at: float
    kind: str
    """``record`` (a vendor record of a step) or ``action`` (an operator's replay, compensate, dismiss)."""
    step: str | None
    system: str | None
    object: str | None
    vendor_id: str | None
    actor: str | None
    detail: str | None


class TransactionFilter(msgspec.Struct, frozen=True, kw_only=True):
    """What :meth:`TransactionStore.page` selects (every field optional)."""

    workflow: str | None = None
    states: tuple[str, ...] = ()
    customer_id: str | None = None
    owner_system: str | None = None
    created_after: float | None = None
    created_before: float | None = None


class TransactionStore:
    """Transactions and their lineage in the gateway's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open(
        self,
        workflow: str,
        business_key: str,
        *,
        input: dict[str, Any],
        customer_id: str | None = None,
        request_id: str | None = None,
    ) -> tuple[Transaction, bool]:
        """The transaction of ``(workflow, business_key)``, created in state ``accepted`` if new.

        Its correlation id — what every event and vendor call of the transaction carries — is
        the transaction id; ``request_id`` (the API request that started it) goes into its input.

        Returns:
            The transaction and whether this call created it. Concurrent calls with one key
            get the same transaction (the unique key decides; the loser reads the winner's row).
        """
        now = time.time()
        transaction_id = new_canonical_id("transaction")
        row = {
            "id": transaction_id,
            "workflow": workflow,
            "business_key": business_key,
            "state": ACCEPTED,
            "customer_id": customer_id,
            "correlation_id": transaction_id,
            "input": msgspec.json.encode({**input, **({"request_id": request_id} if request_id else {})}).decode(),
            "created_at": now,
            "updated_at": now,
        }
        async with self._engine.begin() as connection:
            created = await insert_ignoring(connection, process_transactions, row, "workflow", "business_key")
        found = await self.find(workflow, business_key)
        assert found is not None  # inserted or already there; rows are never deleted
        return found, created

    async def get(self, transaction_id: str) -> Transaction | None:
        """The transaction with this id, if any."""
        return await self._one(process_transactions.c.id == transaction_id)

    async def find(self, workflow: str, business_key: str) -> Transaction | None:
        """The transaction of ``(workflow, business_key)``, if any."""
        return await self._one(
            and_(process_transactions.c.workflow == workflow, process_transactions.c.business_key == business_key)
        )

    async def page(
        self, where: TransactionFilter, *, limit: int, position: Keyset | None = None
    ) -> tuple[list[Transaction], Keyset | None]:
        """Transactions matching ``where``, newest first, from ``position``, and the next page's position."""
        t = process_transactions.c
        conditions: list[Any] = []
        if where.workflow:
            conditions.append(t.workflow == where.workflow)
        if where.states:
            conditions.append(t.state.in_(where.states))
        if where.customer_id:
            conditions.append(t.customer_id == where.customer_id)
        if where.owner_system:
            conditions.append(t.owner_system == where.owner_system)
        if where.created_after is not None:
            conditions.append(t.created_at >= where.created_after)
        if where.created_before is not None:
            conditions.append(t.created_at < where.created_before)
        if position is not None:
            older = or_(
                t.created_at < position.created_at, and_(t.created_at == position.created_at, t.id < position.id)
            )
            conditions.append(older)
        query = select(process_transactions).where(*conditions).order_by(t.created_at.desc(), t.id.desc())
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.limit(limit + 1))).mappings().all()
        items = [_transaction(row) for row in rows[:limit]]
        return items, Keyset(items[-1].created_at, items[-1].id) if len(rows) > limit else None

    async def describe(self, transaction_id: str, about: About) -> None:
        """Record what a person knows the transaction by (written again as it is read again)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(process_transactions)
                .where(process_transactions.c.id == transaction_id)
                .values(about=msgspec.json.encode(about).decode())
            )

    async def advance(
        self,
        transaction_id: str,
        state: str,
        *,
        step: str,
        records: Iterable[VendorRecord] = (),
        events: Sequence[CloudEvent] = (),
        customer_id: str | None = None,
        links: Sequence[XrefLink] = (),
        about: About | None = None,
    ) -> None:
        """Move to ``state`` after ``step``, recording its vendor records and events in one transaction.

        ``links`` (cross-references the step found or made) and ``about`` go into the same
        database transaction; a link that contradicts an existing one raises
        :class:`~core.errors.Conflict` and nothing of the step is recorded. On PostgreSQL the
        state, the lineage and the outbox rows are one statement (one round trip).
        Clears any exception reason (a replayed transaction that moves on is no longer one).
        """
        now = time.time()
        values: dict[str, Any] = {
            "state": state,
            "updated_at": now,
            "reason_code": None,
            "reason": None,
            "owner_system": None,
            "failed_step": None,
            "attention_since": None,
        }
        if state == COMPLETED:
            values["completed_at"] = now
        if customer_id is not None:
            values["customer_id"] = customer_id
        if about is not None:
            values["about"] = msgspec.json.encode(about).decode()
        lineage = [
            {
                "transaction_id": transaction_id,
                "at": now,
                "kind": "record",
                "step": step,
                "system": record.system,
                "object": record.object,
                "vendor_id": record.id,
                "actor": None,
                "detail": None,
                "dedupe_key": f"{transaction_id}|{step}|{record.system}|{record.object}"[:200],
            }
            for record in records
        ]
        state_change = update(process_transactions).where(process_transactions.c.id == transaction_id)
        rows = [outbox_row(e) for e in events]
        if not links and self._engine.dialect.name == "postgresql" and one_row_each(lineage, rows):
            # Nothing to check between statements: the one statement, without BEGIN/COMMIT.
            async with one_statement(self._engine) as connection:
                await write_step(connection, state_change.values(**values), lineage, rows)
            return
        async with self._engine.begin() as connection:
            for link in links:
                await link_in(connection, link)
            await write_step(connection, state_change.values(**values), lineage, rows)

    async def stop(
        self,
        transaction_id: str,
        state: str,
        *,
        reason_code: str,
        reason: str,
        owner_system: str | None,
        failed_step: str | None,
        events: Sequence[CloudEvent] = (),
    ) -> None:
        """Park the transaction in an exception state (``needs_attention``, ``failed``, ``held``) with why."""
        now = time.time()
        async with self._engine.begin() as connection:
            await connection.execute(
                update(process_transactions)
                .where(process_transactions.c.id == transaction_id)
                .values(
                    state=state,
                    updated_at=now,
                    reason_code=reason_code,
                    reason=reason[:1000],
                    owner_system=owner_system,
                    failed_step=failed_step,
                    attention_since=func.coalesce(process_transactions.c.attention_since, now),
                )
            )
            for event in events:
                await append(connection, event)

    async def set_state(self, transaction_id: str, state: str, *, only_from: Sequence[str] = ()) -> bool:
        """Set the state alone (``only_from``: only if it is one of these now); whether it changed."""
        conditions = [process_transactions.c.id == transaction_id]
        if only_from:
            conditions.append(process_transactions.c.state.in_(only_from))
        async with self._engine.begin() as connection:
            result = await connection.execute(
                update(process_transactions).where(*conditions).values(state=state, updated_at=time.time())
            )
        return bool(result.rowcount)

    async def set_overrides(self, transaction_id: str, overrides: dict[str, Any]) -> None:
        """Store corrected input for the next run of the transaction's steps."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(process_transactions)
                .where(process_transactions.c.id == transaction_id)
                .values(overrides=msgspec.json.encode(overrides).decode(), updated_at=time.time())
            )

    async def record_action(self, transaction_id: str, *, actor: str, action: str, detail: str | None) -> None:
        """Add an operator's action (replay, compensate, dismiss) to the lineage."""
        row = {
            "transaction_id": transaction_id,
            "at": time.time(),
            "kind": "action",
            "step": action,
            "actor": actor,
            "detail": (detail or None) and detail[:1000],
        }
        async with self._engine.begin() as connection:
            await connection.execute(process_lineage.insert().values(**row))

    async def lineage(self, transaction_id: str) -> list[LineageEntry]:
        """Every lineage line of the transaction, oldest first."""
        query = (
            select(process_lineage)
            .where(process_lineage.c.transaction_id == transaction_id)
            .order_by(process_lineage.c.id)
        )
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            LineageEntry(
                at=row["at"],
                kind=row["kind"],
                step=row["step"],
                system=row["system"],
                object=row["object"],
                vendor_id=row["vendor_id"],
                actor=row["actor"],
                detail=row["detail"],
            )
            for row in rows
        ]

    async def events(self, transaction_id: str) -> list[CloudEvent]:
        """The events the transaction wrote to the outbox (while they are retained), oldest first."""
        query = (
            select(outbox_events.c.envelope)
            .where(outbox_events.c.correlation_id == transaction_id)
            .order_by(outbox_events.c.seq)
        )
        async with self._engine.connect() as connection:
            envelopes = (await connection.execute(query)).scalars().all()
        return [msgspec.json.decode(envelope, type=CloudEvent) for envelope in envelopes]

    async def counts(self) -> dict[tuple[str, str], int]:
        """Transactions per ``(workflow, state)``."""
        t = process_transactions.c
        query = select(t.workflow, t.state, func.count()).group_by(t.workflow, t.state)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {(workflow, state): int(count) for workflow, state, count in rows}

    async def _one(self, condition: Any) -> Transaction | None:
        async with one_statement(self._engine) as connection:
            row = (await connection.execute(select(process_transactions).where(condition))).mappings().first()
        return _transaction(row) if row is not None else None


def transaction_event(
    event_type: str,
    transaction_id: str,
    step: str,
    *,
    source: str,
    subject: str | None,
    data: dict[str, Any],
    key: str | None = None,
) -> CloudEvent:
    """The event ``step`` of a transaction writes: its id is the same on every run of the step
    (from ``key``, default the transaction id, the step and the type), its correlation id is the
    transaction's (which is the transaction id)."""
    return new_event(
        event_type,
        event_id=deterministic_event_id(key or transaction_id, step, event_type),
        subject=subject,
        source=source,
        correlation_id=transaction_id,
        data=data,
    )


iso = rfc3339
"""RFC 3339 UTC of an epoch timestamp (milliseconds), or ``None`` (:func:`core.instants.rfc3339`)."""


def _transaction(row: Any) -> Transaction:
    return Transaction(
        id=row["id"],
        workflow=row["workflow"],
        business_key=row["business_key"],
        state=row["state"],
        customer_id=row["customer_id"],
        correlation_id=row["correlation_id"],
        input=msgspec.json.decode(row["input"]),
        overrides=msgspec.json.decode(row["overrides"]) if row["overrides"] else None,
        reason_code=row["reason_code"],
        reason=row["reason"],
        owner_system=row["owner_system"],
        failed_step=row["failed_step"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attention_since=row["attention_since"],
        completed_at=row["completed_at"],
        about=msgspec.json.decode(row["about"], type=About) if row["about"] else None,
    )

"""The cross-reference (xref) store: one canonical id per business object, one id per vendor.

A customer is ``cus_01J…`` to Strata, ``001…`` to Salesforce, ``1234`` to NetSuite and
``cus_Q…`` to Stripe. Syncs and retried workflow steps look here before creating anything in
a vendor: that is what keeps a retried step, a replayed workflow or a second sync from making
a second customer or invoice.

Two rules hold in the database itself (primary key and a unique index), not only in code, so
that they hold across processes:

* a canonical object has at most one id in each system;
* a vendor id belongs to at most one canonical object of its kind.

:meth:`XrefStore.link` is idempotent (linking the same pair again is a no-op) and refuses a
pair that contradicts an existing link with :class:`~core.errors.Conflict`.
:meth:`XrefStore.canonical_id_for` finds or mints the canonical id of a vendor object, and is
safe to race: concurrent callers get one id.
"""

from __future__ import annotations

import time
from typing import Final

import msgspec
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from ulid import ULID

from apis.process.step_writes import one_statement
from core.db import insert_ignoring, xrefs
from core.errors import Conflict

PREFIXES: Final[dict[str, str]] = {
    "customer": "cus",
    "contact": "con",
    "product": "prd",
    "price": "pri",
    "order": "ord",
    "subscription": "sub",
    "invoice": "inv",
    "payment": "pay",
    "credit_note": "crn",
    "journal_entry": "jrn",
    "tax_transaction": "tax",
    "transaction": "txn",
    "reconciliation_run": "rec",
}
"""Kinds of business object and the prefix of their canonical ids."""


def new_canonical_id(kind: str) -> str:
    """A fresh canonical id, ``<prefix>_<ULID>`` (sortable by creation time)."""
    return f"{_prefix(kind)}_{ULID()}"


class XrefLink(msgspec.Struct, frozen=True, kw_only=True):
    """One link to record: ``canonical_id`` is ``vendor_id`` in ``system``."""

    kind: str
    canonical_id: str
    system: str
    vendor_id: str


async def link_in(connection: AsyncConnection, link: XrefLink) -> None:
    """:meth:`XrefStore.link` inside the caller's database transaction (a step records its links
    with its state change: :meth:`~apis.process.transactions.TransactionStore.advance`).

    Raises:
        Conflict: as :meth:`XrefStore.link`; the caller's transaction is then rolled back.
    """
    row = _row(link.kind, link.canonical_id, link.system, link.vendor_id)
    # Either unique key may refuse the row: no conflict target, so neither aborts the transaction.
    if not await insert_ignoring(connection, xrefs, row):
        await _check_consistent(connection, link.kind, link.canonical_id, link.system, link.vendor_id)


def _row(kind: str, canonical_id: str, system: str, vendor_id: str) -> dict[str, object]:
    if not canonical_id.startswith(f"{_prefix(kind)}_"):
        raise ValueError(f"{canonical_id!r} is not a canonical {kind} id")
    return {
        "kind": kind,
        "canonical_id": canonical_id,
        "system": system,
        "vendor_id": vendor_id,
        "created_at": time.time(),
    }


async def _check_consistent(
    connection: AsyncConnection, kind: str, canonical_id: str, system: str, vendor_id: str
) -> None:
    c = xrefs.c
    current = (
        await connection.execute(
            select(c.vendor_id).where(c.kind == kind, c.canonical_id == canonical_id, c.system == system)
        )
    ).scalar_one_or_none()
    if current == vendor_id:
        return  # the same link again: idempotent
    if current is not None:
        raise Conflict(f"{canonical_id} is already {current!r} in {system}, not {vendor_id!r}")
    owner = (
        await connection.execute(
            select(c.canonical_id).where(c.kind == kind, c.system == system, c.vendor_id == vendor_id)
        )
    ).scalar_one_or_none()
    raise Conflict(f"{system} {kind} {vendor_id!r} already belongs to {owner}")


def _prefix(kind: str) -> str:
    try:
        return PREFIXES[kind]
    except KeyError:
        raise ValueError(f"unknown kind of business object: {kind!r}") from None


class XrefStore:
    """Cross-references in the gateway's state database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def vendor_id(self, kind: str, canonical_id: str, system: str) -> str | None:
        """The id of ``canonical_id`` in ``system``, if it has one."""
        query = select(xrefs.c.vendor_id).where(
            and_(xrefs.c.kind == kind, xrefs.c.canonical_id == canonical_id, xrefs.c.system == system)
        )
        async with one_statement(self._engine) as connection:
            return (await connection.execute(query)).scalar_one_or_none()

    async def canonical_id(self, kind: str, system: str, vendor_id: str) -> str | None:
        """The canonical id of the ``system`` object ``vendor_id``, if it is linked."""
        query = select(xrefs.c.canonical_id).where(
            and_(xrefs.c.kind == kind, xrefs.c.system == system, xrefs.c.vendor_id == vendor_id)
        )
        async with one_statement(self._engine) as connection:
            return (await connection.execute(query)).scalar_one_or_none()

    async def links(self, kind: str, canonical_id: str) -> dict[str, str]:
        """Every system's id of ``canonical_id``: ``{system: vendor id}``."""
        query = select(xrefs.c.system, xrefs.c.vendor_id).where(
            and_(xrefs.c.kind == kind, xrefs.c.canonical_id == canonical_id)
        )
        async with self._engine.connect() as connection:
            return {row.system: row.vendor_id for row in await connection.execute(query)}

    async def link(self, kind: str, canonical_id: str, system: str, vendor_id: str) -> None:
        """Record that ``canonical_id`` is ``vendor_id`` in ``system`` (no-op if already so).

        Raises:
            Conflict: the canonical object already has another id in ``system``, or the vendor
                id already belongs to another canonical object.
        """
        row = _row(kind, canonical_id, system, vendor_id)
        try:
            async with self._engine.begin() as connection:
                await connection.execute(xrefs.insert().values(**row))
        except IntegrityError:
            async with self._engine.connect() as connection:
                await _check_consistent(connection, kind, canonical_id, system, vendor_id)

    async def canonical_id_for(self, kind: str, system: str, vendor_id: str) -> tuple[str, bool]:
        """The canonical id of a vendor object, minted and linked if it has none yet.

        Returns (canonical id, minted). Concurrent callers for one vendor object get one id.
        """
        existing = await self.canonical_id(kind, system, vendor_id)
        if existing is not None:
            return existing, False
        minted = new_canonical_id(kind)
        try:
            await self.link(kind, minted, system, vendor_id)
        except Conflict:
            # Another caller linked this vendor object first: theirs is the id.
            winner = await self.canonical_id(kind, system, vendor_id)
            if winner is None:  # a fresh ULID collides with nothing: the vendor id had an owner
                raise
            return winner, False
        return minted, True

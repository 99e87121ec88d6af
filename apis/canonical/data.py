"""The data platform's objects (``/system/data``): business events and record snapshots landed in the lake."""

from __future__ import annotations

import datetime as dt

import msgspec


class BusinessEvent(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A business fact that happened, CloudEvents-like (id, type, source, time, subject, data)."""

    id: str
    """Event id, unique per source; the same fact always carries the same id."""
    type: str
    """Event type, e.g. ``strata.invoice.finalized``."""
    source: str
    """System the event comes from, e.g. ``billing`` or ``crm``."""
    time: dt.datetime
    """When it happened; its UTC date names the lake partition."""
    subject: str | None = None
    """What the event is about, e.g. an invoice id."""
    correlation_id: str | None = None
    """Id tying together everything done for one business transaction."""
    schema_version: str = "1"
    """Version of the ``data`` schema of this event type."""
    data: dict[str, object] = msgspec.field(default_factory=dict)
    """The event's payload."""


class DataRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A snapshot of one business record (an invoice, a customer, ...) as of ``updated_at``."""

    object_type: str
    """Kind of record, e.g. ``invoice``; names the lake folder."""
    id: str
    """Id of the record in its source system."""
    source: str
    """System the record comes from."""
    updated_at: dt.datetime
    """When the record was last changed; its UTC date names the lake partition."""
    correlation_id: str | None = None
    """Id tying together everything done for one business transaction."""
    schema_version: str = "1"
    """Version of the ``data`` schema of this object."""
    data: dict[str, object] = msgspec.field(default_factory=dict)
    """The record's fields."""


class EventBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Business events landed together under one batch id."""

    events: list[BusinessEvent]
    """The events."""


class RecordBatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Records landed together under one batch id."""

    records: list[DataRecord]
    """The records."""


class LandedObject(msgspec.Struct, frozen=True, kw_only=True):
    """One object written to the lake."""

    key: str
    """Its key (path) relative to the lake root."""
    items: int
    """Lines (events or records) in it."""


class IngestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a batch landed as."""

    batch_id: str
    """The batch id (part of every object name, so a retry overwrites instead of duplicating)."""
    items: int
    """Events or records in the batch."""
    objects: list[LandedObject]
    """The objects written, in key order."""

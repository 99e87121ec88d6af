"""The lake layout: object keys and JSON lines with their lineage fields.

::

    events/type=<type>/date=<yyyy-mm-dd>/part-<batch id>.jsonl
    records/<object>/date=<yyyy-mm-dd>/part-<batch id>.jsonl

The date is the UTC date of the event's ``time`` (a record's ``updated_at``). A batch's
items are grouped by (type, date) or (object, date); each group is one object, its lines in
batch order. Keys and bytes depend on the batch only — not on the clock or on how often it
was sent — so a retried batch writes the same keys with the same content.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import msgspec

from apis.canonical import BusinessEvent, DataRecord

BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")
EVENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
OBJECT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_ENCODER = msgspec.json.Encoder()


def utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC (naive values are taken as UTC). Raises OverflowError outside years 1..9999."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _stamp(moment: dt.datetime) -> str:
    return utc(moment).isoformat().replace("+00:00", "Z")


def event_line(event: BusinessEvent, batch_id: str) -> dict[str, Any]:
    """The JSON line of an event: the event plus its lineage (source system, schema, batch)."""
    return {
        "event_id": event.id,
        "type": event.type,
        "source_system": event.source,
        "time": _stamp(event.time),
        "subject": event.subject,
        "correlation_id": event.correlation_id,
        "schema_version": event.schema_version,
        "batch_id": batch_id,
        "data": event.data,
    }


def record_line(record: DataRecord, batch_id: str) -> dict[str, Any]:
    """The JSON line of a record: the record plus its lineage."""
    return {
        "record_id": record.id,
        "object": record.object_type,
        "source_system": record.source,
        "updated_at": _stamp(record.updated_at),
        "correlation_id": record.correlation_id,
        "schema_version": record.schema_version,
        "batch_id": batch_id,
        "data": record.data,
    }


def event_objects(events: list[BusinessEvent], batch_id: str) -> dict[str, list[dict[str, Any]]]:
    """Object key → lines, for a batch of events."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        key = f"events/type={event.type}/date={utc(event.time).date().isoformat()}/part-{batch_id}.jsonl"
        groups[key].append(event_line(event, batch_id))
    return dict(sorted(groups.items()))


def record_objects(records: list[DataRecord], batch_id: str) -> dict[str, list[dict[str, Any]]]:
    """Object key → lines, for a batch of records."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        key = f"records/{record.object_type}/date={utc(record.updated_at).date().isoformat()}/part-{batch_id}.jsonl"
        groups[key].append(record_line(record, batch_id))
    return dict(sorted(groups.items()))


def jsonl(lines: list[dict[str, Any]]) -> bytes:
    """JSON Lines: one compact JSON object per line, each ending in a newline."""
    return b"".join(_ENCODER.encode(line) + b"\n" for line in lines)

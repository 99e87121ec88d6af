"""Running SOQL against the store, serializing records, and query-locator paging."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections import OrderedDict
from typing import Any

from sandboxes.salesforce.schema import CHILD_RELATIONSHIPS, SfError, SObject
from sandboxes.salesforce.soql import Parser, Query, sort_key
from sandboxes.salesforce.store import Record, Store

MAX_BATCH = 2000
"""Salesforce's largest query batch."""
MIN_BATCH = 200
"""Smallest batch ``Sforce-Query-Options: batchSize=N`` may ask for."""
MAX_LOCATORS = 200
"""Open query cursors kept; older ones answer INVALID_QUERY_LOCATOR (as expired cursors do)."""


def record_url(version: str, sobject: str, record_id: str) -> str:
    """The root-relative URL in ``attributes.url``."""
    return f"/services/data/{version}/sobjects/{sobject}/{record_id}"


def serialize(sobject: SObject, record: Record, version: str, fields: list[str] | None = None) -> dict[str, Any]:
    """A record as Salesforce writes it: ``attributes`` first, then the fields asked for."""
    out: dict[str, Any] = {"attributes": {"type": sobject.name, "url": record_url(version, sobject.name, record["Id"])}}
    for name in fields if fields is not None else list(sobject.fields):
        out[name] = record.get(name)
    return out


class QueryEngine:
    """Executes queries and keeps the locators behind ``nextRecordsUrl``."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._locators: OrderedDict[str, tuple[list[dict[str, Any]], int]] = OrderedDict()
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)

    def query(self, text: str, version: str, batch_size: int) -> dict[str, Any]:
        """Run ``text``; the first batch, with a locator for the rest."""
        query = Parser(text, dt.datetime.now(dt.UTC).date()).parse()
        rows = self._rows(query, self.store.all(query.sobject.name))
        if query.count_only:
            return {"totalSize": len(rows), "done": True, "records": []}
        records = [self._serialize(query, row, version) for row in rows]
        return self._page(records, 0, batch_size, version, locator=None)

    def more(self, locator_and_position: str, version: str) -> dict[str, Any]:
        """The batch behind a ``nextRecordsUrl`` (``/query/<locator>-<position>``)."""
        locator, _, position = locator_and_position.rpartition("-")
        with self._lock:
            entry = self._locators.get(locator)
        if entry is None or not position.isdigit():
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        records, batch_size = entry
        return self._page(records, int(position), batch_size, version, locator=locator)

    def _rows(self, query: Query, rows: list[Record]) -> list[Record]:
        if query.where is not None:
            rows = [row for row in rows if query.where(row)]
        for name, descending, nulls_first in reversed(query.order):
            key = sort_key(query.sobject.fields[name])
            present = sorted(
                (r for r in rows if r.get(name) is not None), key=lambda r: key(r[name]), reverse=descending
            )
            missing = [r for r in rows if r.get(name) is None]
            rows = missing + present if nulls_first else present + missing
        rows = rows[query.offset :]
        return rows[: query.limit] if query.limit is not None else rows

    def _serialize(self, query: Query, row: Record, version: str) -> dict[str, Any]:
        out = serialize(query.sobject, row, version, query.fields)
        for sub in query.subqueries:
            assert sub.relationship is not None
            child_type, reference = CHILD_RELATIONSHIPS[query.sobject.name][sub.relationship]
            children = [r for r in self.store.all(child_type) if r.get(reference) == row["Id"]]
            selected = self._rows(sub, children)
            out[sub.relationship] = (
                {
                    "totalSize": len(selected),
                    "done": True,
                    "records": [self._serialize(sub, c, version) for c in selected],
                }
                if selected
                else None
            )
        return out

    def _page(
        self, records: list[dict[str, Any]], start: int, batch_size: int, version: str, locator: str | None
    ) -> dict[str, Any]:
        end = start + batch_size
        page: dict[str, Any] = {"totalSize": len(records), "done": end >= len(records)}
        if end < len(records):
            if locator is None:
                locator = f"01gQy0000{next(self._numbers):06d}AAA"
                with self._lock:
                    self._locators[locator] = (records, batch_size)
                    while len(self._locators) > MAX_LOCATORS:
                        self._locators.popitem(last=False)
            page["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{end}"
        page["records"] = records[start:end]
        return page


def batch_size_from(header: str | None) -> int:
    """The batch size a ``Sforce-Query-Options`` header asks for, clamped to 200..2000."""
    if not header:
        return MAX_BATCH
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH, min(MAX_BATCH, int(value)))
    return MAX_BATCH

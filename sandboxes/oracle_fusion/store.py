"""The Oracle Fusion sandbox's records, ids and write counts, persisted as one JSON file.

Records are kept as Oracle renders them (attribute names of :mod:`.resources`), children inline
under the child resource's name, plus ``_version`` (the ``changeIndicator``). Every applied write
(POST, PATCH, an upsert, a custom action) is counted in :attr:`Store.writes` by resource (actions as
``<resource>/<action>``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from sandboxes.oracle_fusion.resources import RESOURCES
from sandboxes.state_file import JsonStateFile

STATE_FILE = "oracle_fusion.json"
FIRST_ID = 300100170000001
"""Oracle's surrogate ids are large numbers (``300100170996427`` in its examples)."""
Record = dict[str, Any]


def now() -> str:
    """A timestamp as Oracle writes ``CreationDate`` (ISO 8601, milliseconds, offset)."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+00:00"


class Store(JsonStateFile):
    """Every resource's records; persisted after each write."""

    def __init__(self, state_dir: Path | None, seeder: Callable[[Store], None]) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seeder = seeder
        self.data: dict[str, dict[str, Record]] = {}
        self.next_id = FIRST_ID
        self.series: dict[str, int] = {}
        self.writes: dict[str, int] = {}
        self._load_or_reset()

    @property
    def lock(self) -> Any:
        """The store's re-entrant lock (writes hold it from validation to save)."""
        return self._lock

    def reset(self) -> None:
        """Forget everything and seed again."""
        with self._lock:
            self.data = {name: {} for name in RESOURCES}
            self.next_id, self.series, self.writes = FIRST_ID, {}, {}
            with self.batch():
                self._seeder(self)
                self.writes = {}

    def snapshot(self) -> bytes:
        """The whole state as JSON."""
        with self._lock:
            return msgspec.json.encode(self._state())

    def restore_snapshot(self, snapshot: bytes) -> None:
        """Take back a :meth:`snapshot` (a fresh copy)."""
        with self._lock:
            self._restore(msgspec.json.decode(snapshot))

    def _state(self) -> dict[str, Any]:
        return {"data": self.data, "next_id": self.next_id, "series": self.series, "writes": self.writes}

    def _restore(self, data: dict[str, Any]) -> None:
        self.data = {name: dict(data["data"].get(name, {})) for name in RESOURCES}
        self.next_id, self.series, self.writes = int(data["next_id"]), dict(data["series"]), dict(data["writes"])

    def new_id(self) -> int:
        """A fresh surrogate id."""
        with self._lock:
            self.next_id += 1
            return self.next_id

    def next_number(self, series: str, first: int) -> str:
        """The next number of a document series (order numbers, party numbers)."""
        with self._lock:
            self.series[series] = self.series.get(series, first - 1) + 1
            return str(self.series[series])

    def count_write(self, kind: str) -> None:
        """One write applied to ``kind``."""
        self.writes[kind] = self.writes.get(kind, 0) + 1

    def all(self, resource: str) -> list[Record]:
        """Every record of ``resource`` in id order."""
        table = RESOURCES[resource]
        return sorted(self.data[resource].values(), key=lambda r: int(r[table.id_field]))

    def find(self, resource: str, **equal: Any) -> list[Record]:
        """Records whose attributes equal ``equal``."""
        return [r for r in self.all(resource) if all(r.get(k) == v for k, v in equal.items())]

    def by_key(self, resource: str, key: str) -> Record | None:
        """The record named by its URL key."""
        table = RESOURCES[resource]
        if not table.url_key:
            return self.data[resource].get(key)
        return next((r for r in self.data[resource].values() if str(r.get(table.url_key)) == key), None)

    def put(self, resource: str, record: Record) -> Record:
        """Insert ``record`` (its id set) and return it."""
        self.data[resource][str(record[RESOURCES[resource].id_field])] = record
        return record

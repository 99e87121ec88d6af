"""The tenant's records by entity set, deep inserts, navigation, number ranges, persistence.

Records are kept with SAP's property names (dates as ISO strings, decimals as strings) plus
``_version`` (for the ETag). Navigation is resolved as SAP's associations do: the target's
records whose key properties equal the source record's properties of the same name. Every
applied write is counted in :attr:`Store.writes` by entity set (function imports as
``<set>/<function>``, SOAP postings as ``JournalEntry``, the billing run as ``A_BillingDocument``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from sandboxes.sap_s4hana.edmx import PUBLISHED, EntitySet, Service, published
from sandboxes.sap_s4hana.guessed import GUESSED, guessed
from sandboxes.sap_s4hana.odata import Record, SapError, bad_request, key_text, not_found, parse_value
from sandboxes.state_file import JsonStateFile

STATE_FILE = "sap_s4hana.json"


def services() -> dict[str, Service]:
    """Every service the sandbox serves, published or GUESSED, by name."""
    return {**{n: published(n) for n in PUBLISHED}, **{n: guessed(n) for n in GUESSED}}


def entity_sets() -> dict[str, EntitySet]:
    """Every entity set of every service, by name (names are unique across these services)."""
    return {name: entity for service in services().values() for name, entity in service.sets.items()}


def now_iso() -> str:
    """The current UTC time as stored for ``DateTimeOffset`` properties."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class Store(JsonStateFile):
    """Every entity set's records; persisted after each write."""

    def __init__(self, state_dir: Path | None, seeder: Callable[[Store], None]) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seeder = seeder
        self.sets = entity_sets()
        self.tables: dict[str, dict[str, Record]] = {}
        self.ranges: dict[str, int] = {}
        self.writes: dict[str, int] = {}
        self._load_or_reset()

    @property
    def lock(self) -> Any:
        """The store's re-entrant lock (writes hold it from validation to save)."""
        return self._lock

    def reset(self) -> None:
        """Forget everything and seed again."""
        with self._lock:
            self.tables, self.ranges, self.writes = {}, {}, {}
            with self.batch():
                self._seeder(self)
                self.writes = {}

    def snapshot(self) -> bytes:
        """The whole state as JSON."""
        with self._lock:
            return msgspec.json.encode(self._state())

    def restore_snapshot(self, snapshot: bytes) -> None:
        """Take back a :meth:`snapshot`."""
        with self._lock:
            self._restore(msgspec.json.decode(snapshot))

    def _state(self) -> dict[str, Any]:
        return {"tables": self.tables, "ranges": self.ranges, "writes": self.writes}

    def _restore(self, data: dict[str, Any]) -> None:
        self.tables, self.ranges, self.writes = data["tables"], data["ranges"], dict(data["writes"])

    def count_write(self, kind: str) -> None:
        """One write applied to ``kind``."""
        self.writes[kind] = self.writes.get(kind, 0) + 1

    def next_number(self, name: str, first: int, width: int = 10) -> str:
        """The next number of number range ``name``, zero-padded to ``width``."""
        value = self.ranges.get(name, first)
        self.ranges[name] = value + 1
        return str(value).zfill(width)

    # -- reads -------------------------------------------------------------------------------
    def table(self, name: str) -> dict[str, Record]:
        """The records of entity set ``name`` by key predicate."""
        return self.tables.setdefault(name, {})

    def all(self, name: str) -> list[Record]:
        """Every record of ``name`` in key order."""
        table = self.table(name)
        return [table[key] for key in sorted(table)]

    def get(self, name: str, key: dict[str, str]) -> Record:
        """One record by its key values, or SAP's 404."""
        record = self.table(name).get(key_text(self.sets[name], key))
        if record is None:
            raise not_found(name)
        return record

    def where(self, name: str, **values: Any) -> list[Record]:
        """Records of ``name`` whose properties equal ``values``."""
        return [r for r in self.all(name) if all(r.get(k) == v for k, v in values.items())]

    def children(self, source: EntitySet, record: Record, nav: str) -> list[Record]:
        """The records ``record``'s navigation property ``nav`` leads to."""
        target = self.sets[source.navs[nav].target]
        shared = {k: record[k] for k in target.keys if k in record and k in source.props}
        return [r for r in self.all(target.name) if all(r.get(k) == v for k, v in shared.items())]

    # -- writes ------------------------------------------------------------------------------
    def clean(self, entity: EntitySet, body: Record, *, creating: bool) -> tuple[Record, Record]:
        """(properties, deep-insert navigation bodies) of a request body, checked against the EDMX."""
        values: Record = {}
        navigation: Record = {}
        for name, value in body.items():
            if name == "__metadata":
                continue
            if name in entity.navs:
                if not creating:
                    raise bad_request(f"Deep update of navigation property '{name}' is not supported")
                navigation[name] = value.get("results", value) if isinstance(value, dict) and entity.navs[
                    name].many else value  # fmt: skip
                continue
            prop = entity.props.get(name)
            if prop is None:
                raise bad_request(
                    f"Property '{name}' is invalid for entity type '{entity.type_name}'", "/IWBEP/CM_MGW_RT/020", name
                )
            allowed = prop.creatable if creating else prop.updatable
            if not allowed and name not in entity.keys:
                raise bad_request(f"Property '{name}' is read-only and cannot be changed", "/IWBEP/CM_MGW_RT/004", name)
            if not creating and name in entity.keys:
                continue
            values[name] = parse_value(entity, name, value)
        return values, navigation

    def insert(self, entity: EntitySet, record: Record, *, count: bool = True) -> Record:
        """Add ``record`` (duplicate key → SAP's 400); counted as a write of its set unless not ``count``."""
        key = key_text(entity, record)
        if key in self.table(entity.name):
            raise SapError(400, "/IWBEP/CM_MGW_RT/001", f"Entity with key {key} already exists in '{entity.name}'")
        record["_version"] = 1
        record.setdefault("_changed", now_iso())
        self.table(entity.name)[key] = record
        if count:
            self.count_write(entity.name)
        return record

    def touch(self, entity: EntitySet, record: Record) -> None:
        """A change of ``record``: a new ETag."""
        record["_version"] = int(record.get("_version", 0)) + 1
        record["_changed"] = now_iso()
        self.count_write(entity.name)


def etag(record: Record) -> str:
    """The ETag of a record (a weak validator over its version, as SAP's are over a timestamp)."""
    return f"W/\"datetimeoffset'{record.get('_changed', '')}.{record.get('_version', 0)}'\""

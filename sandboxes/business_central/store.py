"""Companies and their entities, validation on write, etags, persistence (business rules: :mod:`.posting`).

Records are kept as BC renders them (camelCase properties), plus ``_version`` (for the etag) and,
on documents and journals, their lines under the navigation property's name. Every applied write
(insert, update, delete, bound action) is counted in :attr:`Store.writes`, by entity set (lines
under their own set, actions as ``<set>/Microsoft.NAV.<action>``).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import msgspec

from sandboxes.business_central.odata import GUID
from sandboxes.business_central.schema import ENTITIES, BcError, Entity, not_found, property_not_found
from sandboxes.state_file import JsonStateFile

STATE_FILE = "business_central.json"
Record = dict[str, Any]
CURRENCIES = ("USD", "EUR", "GBP", "CHF")
KEYS = {"customers": "number", "items": "number", "journals": "code", "customerPaymentJournals": "code"}
"""Unique key of the entity sets that have one besides ``id`` (BC's primary key)."""
TABLES = {"customers": "Customer", "items": "Item", "journals": "Gen. Journal Batch",
          "customerPaymentJournals": "Gen. Journal Batch"}  # fmt: skip
SERIES = {
    "customers": ("C", 10010),
    "items": ("I", 1000),
    "salesOrders": ("S-ORD", 101001),
    "salesInvoices": ("S-INV", 102001),
    "postedInvoices": ("PS-INV", 103001),
    "salesCreditMemos": ("S-CR", 104001),
    "postedCreditMemos": ("PS-CR", 105001),
}
"""Number series (prefix, first number): drafts get one number, posting gives the next of the posted series."""


def now() -> str:
    """The current time as BC writes ``lastModifiedDateTime``."""
    moment = dt.datetime.now(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def money(value: Decimal) -> float:
    """A decimal rounded to cents, as JSON number."""
    return float(value.quantize(Decimal("0.01")))


class Store(JsonStateFile):
    """Every company's records; persisted after each write."""

    def __init__(self, state_dir: Path | None, seeder: Callable[[Store], None]) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seeder = seeder
        self.companies: dict[str, Record] = {}
        self.data: dict[str, dict[str, dict[str, Record]]] = {}
        self.series: dict[str, dict[str, int]] = {}
        self.posted_payments: set[str] = set()
        """Ids of customer payment lines already posted (kept readable, never posted twice)."""
        self.entry_number = 0
        self.writes: dict[str, int] = {}
        self.rng = random.Random()
        self._load_or_reset()

    def count_write(self, kind: str) -> None:
        """One write applied to ``kind``."""
        self.writes[kind] = self.writes.get(kind, 0) + 1

    @property
    def lock(self) -> Any:
        """The store's re-entrant lock (writes hold it from validation to save)."""
        return self._lock

    # -- persistence -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything and seed again."""
        with self._lock:
            self.companies, self.data, self.series = {}, {}, {}
            self.posted_payments, self.entry_number, self.writes = set(), 0, {}
            with self.batch():
                self._seeder(self)
                self.writes = {}

    def snapshot(self) -> bytes:
        """The whole state as JSON (what the state file holds)."""
        with self._lock:
            return msgspec.json.encode(self._state())

    def restore_snapshot(self, snapshot: bytes) -> None:
        """Take back a :meth:`snapshot` (a fresh copy: later writes do not touch it)."""
        with self._lock:
            self._restore(msgspec.json.decode(snapshot))

    def _state(self) -> dict[str, Any]:
        return {
            "companies": self.companies,
            "data": self.data,
            "series": self.series,
            "posted_payments": sorted(self.posted_payments),
            "entry_number": self.entry_number,
            "writes": self.writes,
        }

    def _restore(self, data: dict[str, Any]) -> None:
        self.companies, self.data, self.series = data["companies"], data["data"], data["series"]
        self.posted_payments = set(data["posted_payments"])
        self.entry_number, self.writes = int(data["entry_number"]), dict(data["writes"])

    # -- ids, numbers, companies ---------------------------------------------------------------
    def new_id(self) -> str:
        """A fresh GUID (seeded while seeding, so a seed gives the same ids every run)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_number(self, company_id: str, series: str) -> str:
        """The next number of a company's number series."""
        prefix, first = SERIES[series]
        counters = self.series.setdefault(company_id, {})
        value = counters.get(series, first)
        counters[series] = value + 1
        return f"{prefix}{value}"

    def add_company(self, name: str, stamp: str, position: int = 0) -> str:
        """A company with empty tables; ``position`` (0-15) leads its id, so companies list in seed order."""
        company_id = f"{position:x}" + self.new_id()[1:]
        self.companies[company_id] = {
            "id": company_id, "systemVersion": "25.0.23364.0", "timestamp": 0, "name": name, "displayName": name,
            "businessProfileId": "", "systemCreatedAt": stamp, "systemModifiedAt": stamp, "_version": 1,
        }  # fmt: skip
        self.data[company_id] = {name: {} for name in ENTITIES}
        return company_id

    def company(self, company_id: str) -> dict[str, dict[str, Record]]:
        """A company's tables, or 404."""
        tables = self.data.get(company_id.lower())
        if tables is None:
            raise not_found("companies")
        return tables

    # -- reads ---------------------------------------------------------------------------------
    def all(self, company_id: str, entity: str) -> list[Record]:
        """Every record of an entity set, in id order."""
        table = self.company(company_id)[entity]
        return [table[key] for key in sorted(table)]

    def get(self, company_id: str, entity: str, record_id: str) -> Record:
        """One record, or 404 ``BadRequest_NotFound``."""
        record = self.company(company_id)[entity].get(record_id.lower()) if GUID.match(record_id) else None
        if record is None:
            raise not_found(entity)
        return record

    def find(self, company_id: str, entity: str, name: str, value: Any) -> Record | None:
        """The first record whose property ``name`` equals ``value`` (Code fields: case-insensitive)."""
        wanted = str(value).lower()
        return next((r for r in self.all(company_id, entity) if str(r.get(name) or "").lower() == wanted), None)

    # -- validation ----------------------------------------------------------------------------
    def clean(self, entity: Entity, body: Record, *, creating: bool) -> Record:
        """Body properties checked against the entity: known, editable, of the right kind."""
        values: Record = {}
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name in entity.navigation:
                if not creating:
                    raise BcError(400, "BadRequest", f"Deep update of '{name}' is not supported; PATCH the lines.")
                if not isinstance(value, list) or not all(isinstance(line, dict) for line in value):
                    raise BcError(400, "BadRequest", f"The navigation property '{name}' must be an array of objects.")
                values[name] = value
                continue
            kind = entity.fields.get(name)
            if kind is None:
                raise property_not_found(name, entity.type_name)
            if name in entity.read_only and not (name == "id" and creating):
                raise BcError(400, "BadRequest", f"The property '{name}' is read-only and cannot be modified.")
            values[name] = _convert(kind, name, value)
        if creating:
            for name in entity.required:
                if values.get(name) in (None, "") and not (name == "customerId" and values.get("customerNumber")):
                    raise BcError(400, "BadRequest", f"The property '{name}' is required.")
        return values

    def check_key(self, company_id: str, entity: str, record: Record) -> None:
        """Refuse a second record with the same primary key (BC's duplicate-key error)."""
        key = KEYS.get(entity)
        if key is None or not record.get(key):
            return
        other = self.find(company_id, entity, key, record[key])
        if other is not None and other["id"] != record["id"]:
            raise BcError(
                400,
                "Internal_EntityWithSameKeyExists",
                f"The record in table {TABLES[entity]} already exists. Identification fields and values: "
                f"{'No.' if key == 'number' else 'Name'}='{record[key]}'",
            )

    def check_etag(self, record: Record, if_match: str | None, etag_of: Callable[[Record], str]) -> None:
        """PATCH and DELETE need ``If-Match``: ``*`` or the record's current etag."""
        if not if_match:
            raise BcError(400, "BadRequest", "A value for the 'If-Match' header is required for this request.")
        if if_match.strip() != "*" and if_match.strip() != etag_of(record):
            raise BcError(
                412,
                "Request_EntityChanged",
                "Another user has already changed the record. Refresh the record and try again.",
            )

    def touch(self, record: Record) -> None:
        """A write to a record: new etag, new modification time."""
        record["_version"] = int(record.get("_version", 0)) + 1
        record["lastModifiedDateTime"] = now()


def _convert(kind: str, name: str, value: Any) -> Any:
    """A body value of property kind ``kind``, or BC's 400 for a wrong type / too long text."""
    if value is None:
        return None
    wrong = BcError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type of '{name}'.")
    if kind.startswith(("text", "code")):
        if not isinstance(value, str):
            raise wrong
        limit = int(kind.split(":")[1])
        if len(value) > limit:
            raise BcError(
                400,
                "Application_StringExceededLength",
                f"The length of the string is {len(value)}, but it must be less than or equal to {limit} "
                f"characters. Value: {value}",
            )
        return value.upper() if kind.startswith("code") else value  # BC stores Code fields upper-case
    if kind == "guid":
        if not isinstance(value, str) or not GUID.match(value):
            raise wrong
        return value.lower()
    if kind == "bool":
        if not isinstance(value, bool):
            raise wrong
        return value
    if kind in ("decimal", "int"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise wrong
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise wrong from None
        if kind == "int":
            if number != number.to_integral_value():
                raise wrong
            return int(number)
        return float(number)
    if kind in ("date", "datetime"):
        if not isinstance(value, str):
            raise wrong
        try:
            (dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat)(value.replace("Z", "+00:00"))
        except ValueError:
            raise wrong from None
        return value
    return value

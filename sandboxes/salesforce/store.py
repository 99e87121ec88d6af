"""Records of the simulated org, their validation on write, and their persistence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandboxes.salesforce.schema import (
    BOOLEAN,
    CASCADE_DELETE,
    DATE,
    DATETIME,
    ID_PATTERN,
    NUMBER_TYPES,
    READ_ONLY,
    SOBJECTS,
    TEXT_TYPES,
    SfError,
    SfMultipleChoices,
    SObject,
    format_datetime,
    id15,
    make_id,
    parse_datetime,
)
from sandboxes.state_file import JsonStateFile

STATE_FILE = "salesforce.json"
Record = dict[str, Any]


class Store(JsonStateFile):
    """All records, keyed by sObject type then id; persisted to JSON after each write."""

    def __init__(
        self, state_dir: Path | None, seeder: Callable[[Store], None], clock: Callable[[], dt.datetime] | None = None
    ) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seeder = seeder
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.records: dict[str, dict[str, Record]] = {}
        self.counter = 0
        self._load_or_reset()

    # -- persistence -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every record and seed again."""
        with self._lock:
            self.records = {name: {} for name in SOBJECTS}
            self.counter = 0
            with self.batch():
                self._seeder(self)

    def _restore(self, data: dict[str, Any]) -> None:
        self.records = {name: dict(data["records"].get(name, {})) for name in SOBJECTS}
        self.counter = int(data["counter"])

    def _state(self) -> dict[str, Any]:
        return {"counter": self.counter, "records": self.records}

    def snapshot(self) -> tuple[int, dict[str, dict[str, Record]]]:
        """A copy of the state, for all-or-none rollback.

        Each record is copied, not deep-copied: writes replace field values (``record.update``)
        and never change one in place, so a copy per record is enough — and a deep copy of a
        grown org took ~100 ms per composite call.
        """
        with self._lock:
            return self.counter, {
                name: {key: dict(r) for key, r in rows.items()} for name, rows in self.records.items()
            }

    def restore(self, snapshot: tuple[int, dict[str, dict[str, Record]]]) -> None:
        """Go back to a :meth:`snapshot`."""
        with self._lock:
            self.counter, self.records = snapshot[0], snapshot[1]
            self.save()

    # -- reads -------------------------------------------------------------------------------
    def all(self, sobject: str) -> list[Record]:
        """Every record of a type, in id (creation) order."""
        table = self.records[sobject]
        return [table[key] for key in sorted(table)]

    def find(self, sobject: str, record_id: str) -> Record | None:
        """The record with this 15- or 18-character id, or None."""
        if not ID_PATTERN.match(record_id):
            return None
        table = self.records[sobject]
        if len(record_id) == 18:
            return table.get(record_id)
        return next((record for key, record in table.items() if id15(key) == record_id), None)

    def get(self, sobject: SObject, record_id: str) -> Record:
        """The record, or 404 NOT_FOUND as Salesforce words it."""
        record = self.find(sobject.name, record_id)
        if record is None:
            if not ID_PATTERN.match(record_id) or record_id[:3] != sobject.key_prefix:
                raise SfError(
                    404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {record_id}"
                )
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return record

    def by_external_id(self, sobject: SObject, field_name: str, value: str) -> list[Record]:
        """Records whose external-id field equals ``value`` (case-insensitive, like Salesforce)."""
        canonical = sobject.canonical_field(field_name)
        if canonical is None or (canonical not in sobject.external_ids and canonical != "Id"):
            raise SfError(
                404, "NOT_FOUND", f"Provided external ID field does not exist or is not accessible: {field_name}"
            )
        if canonical == "Id":
            found = self.find(sobject.name, value)
            return [found] if found else []
        wanted = value.lower()
        return [
            r for r in self.all(sobject.name) if isinstance(r.get(canonical), str) and r[canonical].lower() == wanted
        ]

    # -- writes ------------------------------------------------------------------------------
    def create(self, sobject: SObject, values: dict[str, Any], *, stamp: dt.datetime | None = None) -> str:
        """Insert a record; returns its id."""
        with self._lock:
            clean = self._validate(sobject, values, creating=True)
            self.counter += 1
            record_id = make_id(sobject.key_prefix, self.counter)
            when = format_datetime(stamp or self._clock())
            record: Record = dict.fromkeys(sobject.fields)
            record.update(Id=record_id, IsDeleted=False, CreatedDate=when, LastModifiedDate=when, SystemModstamp=when)
            record.update(clean)
            self._derive(sobject, record)
            self.records[sobject.name][record_id] = record
            self.save()
            return record_id

    def update(self, sobject: SObject, record_id: str, values: dict[str, Any]) -> None:
        """Change fields of a record."""
        with self._lock:
            record = self.get(sobject, record_id)
            clean = self._validate(sobject, values, creating=False)
            record.update(clean)
            record["LastModifiedDate"] = record["SystemModstamp"] = format_datetime(self._clock())
            self._derive(sobject, record)
            self.save()

    def delete(self, sobject: SObject, record_id: str) -> None:
        """Delete a record and the children Salesforce deletes with it."""
        with self._lock:
            record = self.get(sobject, record_id)
            self._delete(sobject.name, record["Id"])
            self.save()

    def _delete(self, sobject: str, record_id: str) -> None:
        self.records[sobject].pop(record_id, None)
        for child in CASCADE_DELETE.get(sobject, ()):
            for field_name, target in SOBJECTS[child].lookups.items():
                if target == sobject:
                    for orphan in [r["Id"] for r in self.records[child].values() if r.get(field_name) == record_id]:
                        self._delete(child, orphan)

    def upsert(self, sobject: SObject, field_name: str, value: str, values: dict[str, Any]) -> tuple[bool, str]:
        """Create or update by external id; returns (created, id).

        Raises:
            SfMultipleChoices: several records carry the value.
        """
        with self._lock:
            matches = self.by_external_id(sobject, field_name, value)
            canonical = sobject.canonical_field(field_name) or field_name
            if canonical in {k for k in values if sobject.canonical_field(k) == canonical}:
                raise SfError(
                    400,
                    "INVALID_FIELD",
                    f"Unable to create/update fields: {canonical}. The field is the upsert key.",
                    [canonical],
                )
            if len(matches) > 1:
                raise SfMultipleChoices([f"/sobjects/{sobject.name}/{m['Id']}" for m in matches])
            if matches:
                self.update(sobject, matches[0]["Id"], values)
                return False, str(matches[0]["Id"])
            return True, self.create(sobject, {**values, canonical: value})

    def _validate(self, sobject: SObject, values: dict[str, Any], *, creating: bool) -> Record:
        clean: Record = {}
        for key, value in values.items():
            name = sobject.canonical_field(key)
            if name is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {sobject.name}", [key])
            if name in READ_ONLY:
                raise SfError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}. Please check the security settings of this field "
                    "and verify that it is read/write for your profile or permission set.",
                    [name],
                )
            clean[name] = self._check_value(sobject, name, value)
        if creating:
            missing = [name for name in sobject.required if clean.get(name) in (None, "")]
            if missing:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
        else:
            emptied = [name for name in sobject.required if name in clean and clean[name] in (None, "")]
            if emptied:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(emptied)}]", emptied
                )
        return clean

    def _check_value(self, sobject: SObject, name: str, value: Any) -> Any:
        kind = sobject.fields[name]
        if value is None:
            return None
        wrong = (
            (kind in TEXT_TYPES and not isinstance(value, str))
            or (kind in NUMBER_TYPES and (isinstance(value, bool) or not isinstance(value, int | float)))
            or (kind == BOOLEAN and not isinstance(value, bool))
            or (kind in (DATE, DATETIME) and not isinstance(value, str))
        )
        if wrong:
            raise SfError(
                400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from {value!r} for field {name}"
            )
        if kind == DATE:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise SfError(
                    400, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {value}", [name]
                ) from None
        if kind == DATETIME:
            try:
                return format_datetime(parse_datetime(value))
            except ValueError:
                raise SfError(
                    400, "INVALID_TYPE_ON_FIELD_IN_RECORD", f"{name}: value not of required type: {value}", [name]
                ) from None
        allowed = sobject.restricted_picklists.get(name)
        if allowed is not None and value not in allowed:
            raise SfError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"bad value for restricted picklist field: {value}",
                [name],
            )
        target = sobject.lookups.get(name)
        if target is not None:
            if not ID_PATTERN.match(value):
                raise SfError(400, "MALFORMED_ID", f"{name}: id value of incorrect type: {value}", [name])
            found = self.find(target, value)
            if found is None and value[:3] != SOBJECTS[target].key_prefix:
                message = f"field integrity exception: {name} (id value of incorrect type): {value}"
                raise SfError(400, "FIELD_INTEGRITY_EXCEPTION", message, [name])
            if found is None:
                raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {value}", [name])
            return found["Id"]
        return value

    @staticmethod
    def _derive(sobject: SObject, record: Record) -> None:
        """Fields Salesforce computes: line totals, closed/won flags."""
        if sobject.name == "OpportunityLineItem" and record.get("UnitPrice") is not None:
            record["TotalPrice"] = round(float(record["UnitPrice"]) * float(record.get("Quantity") or 0), 2)
        if sobject.name == "Opportunity" and record.get("StageName"):
            record["IsClosed"] = record["StageName"].startswith("Closed")
            record["IsWon"] = record["StageName"] == "Closed Won"

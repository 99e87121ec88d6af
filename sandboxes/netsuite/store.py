"""Records of the simulated account, their validation on write, business rules, and persistence.

Records are kept in NetSuite's internal shape: references as the target's internal id (a string),
sublists as lists of line dicts. :mod:`sandboxes.netsuite.records` turns them into NetSuite's JSON.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandboxes.netsuite.schema import (
    BOOL,
    DATE,
    FIXED_LISTS,
    FLOAT,
    LINE,
    RECORD_TYPES,
    SYSTEM_READ_ONLY,
    TEXT,
    TRANSFORMS,
    NsError,
    RecordType,
)
from sandboxes.revenue_schedule import daily_rate_schedule
from sandboxes.state_file import JsonStateFile

STATE_FILE = "netsuite.json"
FIRST_ID = 100
Record = dict[str, Any]
TRAN_PREFIXES = {
    "salesOrder": "SO",
    "invoice": "INV",
    "creditMemo": "CM",
    "customerPayment": "PYMT",
    "journalEntry": "JE",
}


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store(JsonStateFile):
    """All records, keyed by record type then internal id; persisted to JSON after each write."""

    def __init__(self, state_dir: Path | None, seeder: Callable[[Store], None]) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seeder = seeder
        self.records: dict[str, dict[str, Record]] = {}
        self.counter = FIRST_ID
        self.jobs: dict[str, dict[str, Any]] = {}
        """Async jobs by id (persisted with the records)."""
        self.idempotency: dict[str, str] = {}
        """``X-NetSuite-Idempotency-Key`` -> job id (persisted)."""
        self.writes: dict[str, int] = {}
        """Writes applied since start or reset, by record type (not persisted; the seed is not counted)."""
        self._load_or_reset()

    # -- persistence -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every record and job, and seed again."""
        with self._lock:
            self.records = {name: {} for name in RECORD_TYPES}
            self.counter = FIRST_ID
            self.jobs, self.idempotency = {}, {}
            with self.batch():
                self._seeder(self)
            self.writes = {}

    def _restore(self, data: dict[str, Any]) -> None:
        self.records = {name: dict(data["records"].get(name, {})) for name in RECORD_TYPES}
        self.counter = int(data["counter"])
        self.jobs, self.idempotency = dict(data.get("jobs", {})), dict(data.get("idempotency", {}))

    def _state(self) -> dict[str, Any]:
        return {"counter": self.counter, "records": self.records, "jobs": self.jobs, "idempotency": self.idempotency}

    def next_id(self) -> str:
        """A fresh internal id (one sequence for every record type and job)."""
        with self._lock:
            self.counter += 1
            return str(self.counter)

    def _count_write(self, record_type: RecordType) -> None:
        self.writes[record_type.name] = self.writes.get(record_type.name, 0) + 1

    def record_counts(self) -> dict[str, int]:
        """How many records of each type exist."""
        return {name: len(table) for name, table in self.records.items()}

    # -- reads -------------------------------------------------------------------------------
    def all(self, record_type: str) -> list[Record]:
        """Every record of a type, in internal id order."""
        table = self.records[record_type]
        return [table[key] for key in sorted(table, key=int)]

    def get(self, record_type: RecordType, record_id: str) -> Record:
        """The record, or 404 NONEXISTENT_ID."""
        record = self.records[record_type.name].get(record_id)
        if record is None:
            raise NsError(
                404, "NONEXISTENT_ID", "The record instance does not exist. Provide a valid record instance ID."
            )
        return record

    def by_external_id(self, record_type: RecordType, external_id: str) -> Record | None:
        """The record with this ``externalId`` (unique per record type), or None."""
        return next((r for r in self.records[record_type.name].values() if r.get("externalId") == external_id), None)

    def ref_name(self, target: str, ref_id: str) -> str | None:
        """The display name NetSuite puts in ``refName``."""
        if target in FIXED_LISTS:
            return FIXED_LISTS[target].get(ref_id)
        record = self.records.get(target, {}).get(ref_id)
        if record is None:
            return None
        for name in ("companyName", "name", "periodName", "itemId", "tranId"):
            if record.get(name):
                return str(record[name])
        return ref_id

    # -- writes ------------------------------------------------------------------------------
    def create(self, record_type: RecordType, values: dict[str, Any], *, stamp: str | None = None) -> str:
        """Insert a record after validation and business rules; returns its internal id."""
        _refuse_system_generated(record_type)
        with self._lock:
            clean = self._validate(record_type, values, creating=True)
            if clean.get("externalId") and self.by_external_id(record_type, clean["externalId"]):
                raise NsError(400, "DUP_RCRD", "A record with this external ID already exists.", "externalId")
            record_id = self.next_id()
            record: Record = dict.fromkeys(record_type.all_fields())
            for name in record_type.sublists:
                record[name] = []
            record.update(id=record_id, dateCreated=stamp or _now(), lastModifiedDate=stamp or _now())
            record.update(clean)
            self._derive(record_type, record, record_id)
            self._check_rules(record_type, record)
            self.records[record_type.name][record_id] = record
            if record_type.name == "customerPayment":
                self._apply_payment(record)
            if record_type.name == "invoice":
                self.schedule_revenue(record)
            self._count_write(record_type)
            self.save()
            return record_id

    def update(self, record_type: RecordType, record_id: str, values: dict[str, Any]) -> None:
        """Change fields of a record (a sublist given replaces the old lines)."""
        _refuse_system_generated(record_type)
        with self._lock:
            record = self.get(record_type, record_id)
            clean = self._validate(record_type, values, creating=False)
            other = self.by_external_id(record_type, clean["externalId"]) if clean.get("externalId") else None
            if other is not None and other["id"] != record_id:
                raise NsError(400, "DUP_RCRD", "A record with this external ID already exists.", "externalId")
            for name, lines in list(clean.items()):
                if name in record_type.sublists and lines and all("line" in line for line in lines):
                    clean[name] = _merge_keyed(record.get(name) or [], lines, name)
            updated = {**record, **clean, "lastModifiedDate": _now()}
            self._derive(record_type, updated, record_id)
            self._check_rules(record_type, updated)
            record.clear()
            record.update(updated)
            self._count_write(record_type)
            self.save()

    def delete(self, record_type: RecordType, record_id: str) -> None:
        """Delete a record; refused while another record references it."""
        _refuse_system_generated(record_type)
        with self._lock:
            self.get(record_type, record_id)
            for other_type, table in self.records.items():
                for other in table.values():
                    if _references(RECORD_TYPES[other_type], other, record_type.name, record_id):
                        raise NsError(
                            400,
                            "USER_ERROR",
                            "This record cannot be deleted because it has dependent records.",
                        )
            del self.records[record_type.name][record_id]
            self._count_write(record_type)
            self.save()

    def upsert(self, record_type: RecordType, external_id: str, values: dict[str, Any]) -> tuple[bool, str]:
        """Create or update by ``externalId``; returns (created, internal id)."""
        with self._lock:
            if "externalId" in values and values["externalId"] != external_id:
                raise NsError(400, "INVALID_CONTENT", "The externalId in the body differs from the URL.", "externalId")
            found = self.by_external_id(record_type, external_id)
            if found is not None:
                self.update(record_type, found["id"], values)
                return False, str(found["id"])
            return True, self.create(record_type, {**values, "externalId": external_id})

    def transform(
        self,
        source_type: RecordType,
        source_id: str,
        target_type: RecordType,
        values: dict[str, Any],
        *,
        stamp: str | None = None,
    ) -> str:
        """``!transform``: a new record of ``target_type`` prefilled from the source record."""
        if (source_type.name, target_type.name) not in TRANSFORMS:
            raise NsError(
                400, "INVALID_TRANSFORM", f"Transformation from {source_type.name} to {target_type.name} is not valid."
            )
        with self._lock:
            source = self.get(source_type, source_id)
            entity = source.get("entity")
            prefill: dict[str, Any] = {}
            if target_type.name == "customerPayment":
                prefill = {"customer": {"id": entity}, "payment": source.get("amountRemaining") or source["total"]}
                prefill["apply"] = {"items": [{"doc": {"id": source_id}, "amount": prefill["payment"], "apply": True}]}
            else:
                prefill = {"entity": {"id": entity}, "createdFrom": {"id": source_id}}
                lines = [
                    {"item": {"id": line["item"]}, "quantity": line.get("quantity"), "rate": line.get("rate")}
                    for line in source.get("item") or []
                ]
                prefill["item"] = {"items": lines}
            for name in ("subsidiary", "currency"):
                if source.get(name):
                    prefill[name] = {"id": source[name]}
            created = self.create(target_type, {**prefill, **values}, stamp=stamp)
            if source_type.name == "salesOrder":
                source["status"] = "Billed"
            self.save()
            return created

    # -- validation --------------------------------------------------------------------------
    def _validate(self, record_type: RecordType, values: dict[str, Any], *, creating: bool) -> Record:
        fields = record_type.all_fields()
        clean: Record = {}
        for key, value in values.items():
            if key == "links":
                continue
            if key in record_type.sublists:
                clean[key] = self._sublist(record_type.sublists[key], key, value)
                continue
            if key not in fields:
                raise NsError(400, "INVALID_CONTENT", f"Invalid field name: {key}. The field does not exist.", key)
            if key in SYSTEM_READ_ONLY or key in record_type.read_only:
                raise NsError(400, "INVALID_CONTENT", f"The field {key} is read-only.", key)
            clean[key] = self._value(fields[key], key, value)
        required = [name for name in record_type.required if name in clean or creating]
        for name in required:
            if clean.get(name) in (None, ""):
                raise NsError(400, "USER_ERROR", f"Please enter value(s) for: {name}", name)
        return clean

    def _sublist(self, line_fields: dict[str, str], name: str, value: Any) -> list[Record]:
        if not isinstance(value, dict) or not isinstance(value.get("items"), list):
            raise NsError(400, "INVALID_CONTENT", f"The sublist {name} must be an object with 'items'.", name)
        lines = []
        for index, line in enumerate(value["items"]):
            if not isinstance(line, dict):
                raise NsError(400, "INVALID_CONTENT", "A sublist line must be an object.", f"{name}.items[{index}]")
            clean: Record = {}
            for key, item in line.items():
                path = f"{name}.items[{index}].{key}"
                if key not in line_fields:
                    raise NsError(400, "INVALID_CONTENT", f"Invalid field name: {key}. The field does not exist.", path)
                clean[key] = self._value(line_fields[key], path, item)
            lines.append(clean)
        return lines

    def _value(self, kind: str, path: str, value: Any) -> Any:
        if value is None:
            return None
        field_name = path.rsplit(".", 1)[-1]
        wrong = (
            (kind in (TEXT, DATE) and not isinstance(value, str))
            or (kind == FLOAT and (isinstance(value, bool) or not isinstance(value, int | float)))
            or (kind == BOOL and not isinstance(value, bool))
            or (kind.startswith("ref:") and not isinstance(value, dict))
        )
        if wrong:
            raise NsError(400, "INVALID_VALUE", f"Invalid value for the field {field_name}: {value!r}.", path)
        if kind == LINE and (isinstance(value, bool) or not isinstance(value, int)):
            raise NsError(400, "INVALID_VALUE", f"Invalid value for the field {field_name}: {value!r}.", path)
        if kind == DATE:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise NsError(400, "INVALID_VALUE", f"Invalid date value {value!r}; use YYYY-MM-DD.", path) from None
        if kind.startswith("ref:"):
            return self._reference(kind[4:], path, field_name, value)
        return float(value) if kind == FLOAT else value

    def _reference(self, target: str, path: str, field_name: str, value: dict[str, Any]) -> str:
        ref_id = value.get("id")
        if ref_id is None and value.get("externalId") is not None and target in RECORD_TYPES:
            found = self.by_external_id(RECORD_TYPES[target], str(value["externalId"]))
            ref_id = found["id"] if found else value["externalId"]
        exists = ref_id is not None and (
            str(ref_id) in FIXED_LISTS[target] if target in FIXED_LISTS else str(ref_id) in self.records[target]
        )
        if not exists:
            detail = (
                "Error while accessing a resource. You have entered an Invalid Field Value "
                f"{ref_id} for the following field: {field_name}"
            )
            raise NsError(400, "INVALID_CONTENT", detail, path)
        return str(ref_id)

    # -- business rules ------------------------------------------------------------------------
    def _derive(self, record_type: RecordType, record: Record, record_id: str) -> None:
        """Fields NetSuite computes: line amounts, totals, transaction numbers, statuses, dates."""
        if record_type.suiteql_type is None:
            return
        record["tranDate"] = record.get("tranDate") or dt.date.today().isoformat()
        record["tranId"] = record.get("tranId") or f"{TRAN_PREFIXES[record_type.name]}{record_id}"
        if "item" in record_type.sublists:
            for line in record.get("item") or []:
                if line.get("rate") is not None:
                    line["amount"] = round(float(line["rate"]) * float(line.get("quantity") or 1), 2)
            record["total"] = round(sum(float(line.get("amount") or 0) for line in record.get("item") or []), 2)
        if record_type.name == "salesOrder":
            record["status"] = record.get("status") or "Pending Fulfillment"
            lines = record.get("item") or []
            for line in lines:  # NetSuite numbers the lines of the keyed item sublist
                line["line"] = line.get("line") or max((other.get("line") or 0 for other in lines), default=0) + 1
            if lines and all(line.get("isClosed") for line in lines):
                record["status"] = "Closed"  # every line closed: NetSuite shows the order Closed
        if record_type.name == "invoice":
            record["status"] = record.get("status") or "Open"
            record["amountRemaining"] = (
                record["total"] if record.get("amountRemaining") is None else record["amountRemaining"]
            )
        if record_type.name == "creditMemo":
            record["status"] = record.get("status") or "Open"
        if record_type.name == "customerPayment" and not record.get("apply"):
            record["apply"] = []
        if record.get("entity") and not record.get("subsidiary"):
            record["subsidiary"] = self.records["customer"][record["entity"]].get("subsidiary")

    def _check_rules(self, record_type: RecordType, record: Record) -> None:
        if record_type.posting:
            period = self.period_of(record["tranDate"])
            if period is not None and period.get("closed"):
                raise NsError(
                    400,
                    "CLOSED_TRAN_PRD",
                    f"The transaction date {record['tranDate']} falls in the closed accounting period "
                    f"{period['periodName']}. Choose a date in an open period.",
                    "tranDate",
                )
        if record_type.name == "journalEntry":
            lines = record.get("line") or []
            debit = round(sum(float(line.get("debit") or 0) for line in lines), 2)
            credit = round(sum(float(line.get("credit") or 0) for line in lines), 2)
            if len(lines) < 2 or debit != credit:
                raise NsError(
                    400, "USER_ERROR", "The transaction is out of balance: debits must equal credits.", "line"
                )

    def _apply_payment(self, payment: Record) -> None:
        """A payment's applied amounts lower the invoices' ``amountRemaining``."""
        for line in payment.get("apply") or []:
            invoice = self.records["invoice"].get(line.get("doc") or "")
            if invoice is None or line.get("apply") is False:
                continue
            remaining = round(float(invoice.get("amountRemaining") or 0) - float(line.get("amount") or 0), 2)
            invoice["amountRemaining"] = max(remaining, 0.0)
            invoice["status"] = "Paid In Full" if remaining <= 0 else "Open"

    def schedule_revenue(self, invoice: Record) -> None:
        """A revenue recognition schedule for each line with rev rec dates (the item's template,
        straight-line by exact days, runs over the line's dates)."""
        for number, line in enumerate(invoice.get("item") or [], start=1):
            start, end = line.get("revRecStartDate"), line.get("revRecEndDate")
            if not start or not end:
                continue
            amount = Decimal(str(line.get("amount") or 0))
            recurrence = []
            for first, share in daily_rate_schedule(amount, dt.date.fromisoformat(start), dt.date.fromisoformat(end)):
                period = self.period_of(first.isoformat())
                recurrence.append({"postingPeriod": period["id"] if period else None, "incomeAccount": REVENUE_ACCOUNT,
                                   "amount": float(share), "jdate": first.isoformat()})  # fmt: skip
            schedule_id = self.next_id()
            self.records["revRecSchedule"][schedule_id] = {
                **dict.fromkeys(RECORD_TYPES["revRecSchedule"].all_fields()),
                "id": schedule_id, "name": f"{invoice['tranId']} line {number}", "sourceTran": invoice["id"],
                "entity": invoice.get("entity"), "item": line.get("item"), "revRecStartDate": start,
                "revRecEndDate": end, "totalAmount": float(amount), "recurrence": recurrence,
                "dateCreated": invoice.get("dateCreated"), "lastModifiedDate": invoice.get("dateCreated"),
            }  # fmt: skip

    def period_of(self, day: str) -> Record | None:
        """The (non-quarter, non-year) accounting period containing ``day``."""
        for period in self.records["accountingPeriod"].values():
            if period.get("isQuarter") or period.get("isYear"):
                continue
            if period["startDate"] <= day <= period["endDate"]:
                return period
        return None


REVENUE_ACCOUNT = "4"
"""The income account schedules recognise into (``4000 Subscription Revenue``, the item's income account)."""


def _refuse_system_generated(record_type: RecordType) -> None:
    if record_type.system_generated:
        raise NsError(400, "INVALID_RCRD_TYPE", f"You cannot create or change a {record_type.name} record.")


def _references(record_type: RecordType, record: Record, target: str, target_id: str) -> bool:
    for name, kind in record_type.fields.items():
        if kind == f"ref:{target}" and record.get(name) == target_id:
            return True
    for name, line_fields in record_type.sublists.items():
        for field_name, kind in line_fields.items():
            if kind == f"ref:{target}" and any(line.get(field_name) == target_id for line in record.get(name) or []):
                return True
    return False


def _merge_keyed(old: list[Record], changes: list[Record], name: str) -> list[Record]:
    """A PATCH of a keyed sublist ("Updating a Sublist"): lines whose key matches are updated, the
    others stay. (NetSuite adds a keyed line that matches none; this sandbox refuses it instead.)"""
    merged = [dict(line) for line in old]
    for index, change in enumerate(changes):
        target = next((line for line in merged if line.get("line") == change["line"]), None)
        if target is None:
            raise NsError(
                400, "INVALID_KEY_OR_REF", f"Invalid line reference: {change['line']}.", f"{name}.items[{index}].line"
            )
        target.update(change)
    return merged

"""The Stripe account's objects, persisted as one JSON file (``stripe.json``).

Objects are kept as the JSON Stripe would answer with, keyed by their ``object`` name
(``customer``, ``price``, ``billing.meter`` …). ``writes`` counts the writes applied per kind
(an idempotent replay applies nothing and is not counted); ``idempotency`` keeps the first
result of each ``Idempotency-Key`` for 24 hours.
"""

from __future__ import annotations

import secrets
import string
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandboxes.state_file import JsonStateFile
from sandboxes.stripe.errors import missing

ALPHABET = string.ascii_letters + string.digits
PREFIXES = {
    "customer": "cus",
    "product": "prod",
    "price": "price",
    "subscription": "sub",
    "subscription_item": "si",
    "subscription_schedule": "sub_sched",
    "invoice": "in",
    "line_item": "il",
    "invoiceitem": "ii",
    "credit_note": "cn",
    "credit_note_line_item": "cnli",
    "payment_intent": "pi",
    "charge": "ch",
    "refund": "re",
    "billing.meter": "mtr",
    "event": "evt",
    "payment_method": "pm",
    "webhook_endpoint": "we",
}
"""Stripe's id prefix per object."""
KIND_OF_PREFIX = {prefix: kind for kind, prefix in PREFIXES.items()}
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def new_id(kind: str, random_text: Callable[[int], str] | None = None) -> str:
    """A fresh id with Stripe's prefix, e.g. ``cus_`` + 24 letters and digits."""
    body = random_text(24) if random_text else "".join(secrets.choice(ALPHABET) for _ in range(24))
    return f"{PREFIXES[kind]}_{body}"


class Store(JsonStateFile):
    """Every object of the simulated account."""

    def __init__(self, state_dir: Path | None, seeder: Callable[[Store], None]) -> None:
        super().__init__(state_dir, "stripe.json")
        self._seeder = seeder
        self.objects: dict[str, dict[str, dict[str, Any]]] = {}
        self.order: dict[str, int] = {}
        self.sequence = 0
        self.writes: Counter[str] = Counter()
        self.idempotency: dict[str, dict[str, Any]] = {}
        self.meter_identifiers: dict[str, float] = {}
        self.meter_usage: list[dict[str, Any]] = []
        self.invoice_numbers: dict[str, int] = {}
        self._load_or_reset()

    # -- persistence -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything and seed again."""
        with self._lock, self.batch():
            self.objects = {kind: {} for kind in PREFIXES}
            self.order, self.sequence = {}, 0
            self.writes = Counter()
            self.idempotency, self.meter_identifiers, self.meter_usage = {}, {}, []
            self.invoice_numbers = {}
            self._seeder(self)
            self.writes = Counter()  # seeding is not a write anyone made

    def _state(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "order": self.order,
            "sequence": self.sequence,
            "writes": dict(self.writes),
            "idempotency": self.idempotency,
            "meter_identifiers": self.meter_identifiers,
            "meter_usage": self.meter_usage,
            "invoice_numbers": self.invoice_numbers,
        }

    def _restore(self, data: dict[str, Any]) -> None:
        self.objects = {kind: {} for kind in PREFIXES} | data["objects"]
        self.order = data["order"]
        self.sequence = data["sequence"]
        self.writes = Counter(data["writes"])
        self.idempotency = data["idempotency"]
        self.meter_identifiers = data["meter_identifiers"]
        self.meter_usage = data["meter_usage"]
        self.invoice_numbers = data["invoice_numbers"]

    # -- objects -----------------------------------------------------------------------------
    def add(self, kind: str, obj: dict[str, Any], *, count: bool = True) -> dict[str, Any]:
        """Store a new object (its ``id`` set) and count the write."""
        with self._lock:
            self.objects[kind][obj["id"]] = obj
            self.sequence += 1
            self.order[obj["id"]] = self.sequence
            if count:
                self.writes[kind] += 1
            self.save()
        return obj

    def touched(self, kind: str) -> None:
        """Count an applied change of an existing object and persist it."""
        with self._lock:
            self.writes[kind] += 1
            self.save()

    def get(self, kind: str, object_id: Any, param: str | None = "id", *, status: int | None = None) -> dict[str, Any]:
        """One object; ``resource_missing`` (404 for ``param="id"``, else 400) when there is none."""
        found = self.objects[kind].get(object_id) if isinstance(object_id, str) else None
        if found is None:
            raise missing(kind.replace("_", " ").replace("billing.", ""), str(object_id), param, status)
        return found

    def find(self, object_id: str) -> dict[str, Any] | None:
        """Any object by id (its prefix names the kind), for ``expand``."""
        prefix = "sub_sched" if object_id.startswith("sub_sched_") else object_id.split("_", 1)[0]
        kind = KIND_OF_PREFIX.get(prefix)
        return self.objects.get(kind, {}).get(object_id) if kind else None

    def newest_first(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind, newest first (Stripe's list order)."""
        items = list(self.objects[kind].values())
        items.sort(key=lambda obj: (obj.get("created", 0), self.order.get(obj["id"], 0)), reverse=True)
        return items

    def next_invoice_number(self, customer_id: str, prefix: str) -> str:
        """``<prefix>-0001`` and up, per customer (Stripe's default numbering)."""
        with self._lock:
            number = self.invoice_numbers.get(customer_id, 0) + 1
            self.invoice_numbers[customer_id] = number
        return f"{prefix}-{number:04d}"

    def prune_idempotency(self, now: float | None = None) -> None:
        """Drop idempotency results older than 24 hours."""
        cutoff = (now or time.time()) - IDEMPOTENCY_TTL_SECONDS
        with self._lock:
            for key in [k for k, v in self.idempotency.items() if v["created"] < cutoff]:
                del self.idempotency[key]
            for key in [k for k, at in self.meter_identifiers.items() if at < cutoff]:
                del self.meter_identifiers[key]

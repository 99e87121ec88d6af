"""The product platform's data: accounts, entitlements, usage events, idempotency keys.

Persisted as one JSON file (``product_platform.json``) under the sandbox's state directory.
Accounts are the Salesforce sandbox's companies (same seed, same companies); every Closed Won
opportunity line of that org is an active entitlement of its account.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import Counter
from pathlib import Path
from typing import Any

from sandboxes.product_platform.catalog import STAMP, catalog
from sandboxes.state_file import JsonStateFile

STATE_FILE = "product_platform.json"
Record = dict[str, Any]
WRITE_KINDS = ("entitlement_grant", "entitlement_change", "entitlement_revoke", "usage_event")


def timestamp(moment: dt.datetime | None = None) -> str:
    """The platform's timestamp format: UTC, milliseconds, ``Z``."""
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@functools.cache
def _crm_seed(seed: int) -> tuple[list[Record], list[tuple[Record, Record]]]:
    """The Salesforce org's accounts and Closed Won (opportunity, line) pairs for ``seed``.

    Cached per process: seeding the org takes a second or two, and resets re-seed often in tests.
    Callers must not change what it returns.
    """
    from sandboxes.netsuite.seed import salesforce_org

    org = salesforce_org(seed)
    won = {o["Id"]: o for o in org.all("Opportunity") if o["StageName"] == "Closed Won"}
    lines = [
        (won[line["OpportunityId"]], line) for line in org.all("OpportunityLineItem") if line["OpportunityId"] in won
    ]
    return org.all("Account"), sorted(lines, key=lambda pair: (pair[0]["Id"], pair[1]["Id"]))


class Store(JsonStateFile):
    """Everything the platform keeps; the catalog is fixed and not persisted."""

    def __init__(self, state_dir: Path | None, seed: int) -> None:
        super().__init__(state_dir, STATE_FILE)
        self._seed = seed
        products, skus, bundles = catalog()
        self.products = {p["id"]: p for p in products}
        self.skus = {s["id"]: s for s in skus}
        self.skus_by_code = {s["code"]: s for s in skus}
        self.bundles = {b["id"]: b for b in bundles}
        self.accounts: dict[str, Record] = {}
        self.entitlements: dict[str, Record] = {}
        self.usage_events: dict[str, Record] = {}
        self.idempotency: dict[str, Record] = {}
        self.writes: Counter[str] = Counter()
        self.replays = 0
        self.sequence = 0
        self._load_or_reset()

    # -- persistence -------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget every account, entitlement, event and key; seed again."""
        with self._lock:
            self.accounts, self.entitlements, self.usage_events, self.idempotency = {}, {}, {}, {}
            self.writes, self.replays, self.sequence = Counter(), 0, 0
            with self.batch():
                self._seed_from_crm()

    def _state(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "accounts": self.accounts,
            "entitlements": self.entitlements,
            "usage_events": self.usage_events,
            "idempotency": self.idempotency,
            "writes": dict(self.writes),
            "replays": self.replays,
        }

    def _restore(self, data: dict[str, Any]) -> None:
        self.sequence = int(data["sequence"])
        self.accounts = dict(data["accounts"])
        self.entitlements = dict(data["entitlements"])
        self.usage_events = dict(data["usage_events"])
        self.idempotency = dict(data["idempotency"])
        self.writes = Counter(data.get("writes", {}))
        self.replays = int(data.get("replays", 0))

    def next_id(self, prefix: str) -> str:
        """``<prefix>_<6-digit sequence>``; one sequence for every kind."""
        self.sequence += 1
        return f"{prefix}_{self.sequence:06d}"

    def _seed_from_crm(self) -> None:
        accounts, won_lines = _crm_seed(self._seed)
        by_crm_id = {}
        for index, account in enumerate(accounts):
            website = account.get("Website") or ""
            account_id = self.next_id("acc")
            self.accounts[account_id] = {
                "id": account_id,
                "externalRef": account["Id"],
                "name": account["Name"],
                "domain": website.split("://", 1)[-1].removeprefix("www.") or None,
                "status": "active" if account.get("Type") == "Customer" else ("trial" if index % 2 else "active"),
                "createdAt": account["CreatedDate"][:23] + "Z",
                "updatedAt": account["CreatedDate"][:23] + "Z",
            }
            by_crm_id[account["Id"]] = account_id
        for opportunity, line in won_lines:
            starts = f"{opportunity['CloseDate']}T00:00:00.000Z"
            sku = self.skus_by_code[line["ProductCode"]]
            quantity = 1 if sku["chargeModel"] == "metered" else int(line["Quantity"])
            record = self.new_entitlement(by_crm_id[opportunity["AccountId"]], sku, quantity, starts, None, STAMP)
            record["externalRef"] = opportunity["Id"]

    # -- entitlements ------------------------------------------------------------------------
    def new_entitlement(
        self, account_id: str, sku: Record, quantity: int, starts_at: str, ends_at: str | None, now: str
    ) -> Record:
        """Create an active entitlement (the caller validated its input)."""
        entitlement_id = self.next_id("ent")
        record = {
            "id": entitlement_id,
            "accountId": account_id,
            "skuId": sku["id"],
            "skuCode": sku["code"],
            "quantity": quantity,
            "status": "active",
            "startsAt": starts_at,
            "endsAt": ends_at,
            "revokedAt": None,
            "revokeReason": None,
            "externalRef": None,
            "version": 1,
            "createdAt": now,
            "updatedAt": now,
        }
        self.entitlements[entitlement_id] = record
        return record

    def counts(self) -> dict[str, Any]:
        """Records of each kind and writes applied."""
        active = sum(1 for e in self.entitlements.values() if e["status"] == "active")
        return {
            "accounts": len(self.accounts),
            "products": len(self.products),
            "skus": len(self.skus),
            "bundles": len(self.bundles),
            "entitlements": len(self.entitlements),
            "entitlements_active": active,
            "usage_events": len(self.usage_events),
            "idempotency_keys": len(self.idempotency),
            "idempotent_replays": self.replays,
            "writes_applied": {kind: self.writes.get(kind, 0) for kind in WRITE_KINDS},
        }

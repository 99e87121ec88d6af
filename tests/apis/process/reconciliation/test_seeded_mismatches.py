"""Reconciliation over the embedded sandboxes' seeded data finds the documented inconsistencies, and nothing else.

The expected set is derived from the sandboxes themselves (:mod:`.expected`); the run goes through
the API on a real gateway, once on each ERP (every key of ``ERP_VENDORS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from apis.process.runtime import runtime
from apis.system.erp.vendors import ERP_VENDORS
from core.db import outbox_events
from tests.apis.process.reconciliation.expected import expected_mismatches, key_of
from tests.apis.process.reconciliation.support import RUNS, SCOPES, finished, reconciliation_gateway

PERIOD = "2025-01"


async def _reconcile(tmp_path: Path, erp_vendor: str) -> dict[str, Any]:
    async with reconciliation_gateway(tmp_path, erp_vendor=erp_vendor) as gateway:
        headers = await gateway.bearer(SCOPES)
        started = await gateway.client.post(RUNS, json={"period": PERIOD}, headers=headers)
        assert started.status_code == 202, started.text
        report = await finished(gateway, started.headers["Location"], headers)
        async with runtime().database.connect() as connection:
            rows = (
                await connection.execute(
                    select(outbox_events.c.envelope).where(outbox_events.c.subject == report["id"])
                )
            ).all()
        report["events"] = [msgspec.json.decode(row.envelope) for row in rows]
        return report


@pytest.mark.parametrize("erp_vendor", sorted(ERP_VENDORS))
async def test_seeded_data_shows_exactly_the_documented_inconsistencies(tmp_path: Path, erp_vendor: str) -> None:
    report = await _reconcile(tmp_path, erp_vendor)

    assert report["status"] == "completed", report["error"]
    found = {key_of(m) for m in report["mismatches"]}
    expected = {k for k in expected_mismatches(erp_vendor)}
    assert found == expected
    assert len(report["mismatches"]) == len(found)  # no mismatch twice
    assert report["mismatch_count"] == len(expected)
    # The seed's ERP invoices were entered in the ERP (none in 2025-01 came from billing): counted, not compared.
    assert report["summary"]["records"]["crm_accounts"] == 56
    assert report["summary"]["invoice_totals"] == []

    (event,) = report["events"]
    assert event["type"] == "strata.reconciliation.completed"
    by_kind: dict[str, int] = {}
    for kind, *_rest in expected:
        by_kind[kind] = by_kind.get(kind, 0) + 1
    assert event["data"] == {"run_id": report["id"], "period": PERIOD, "mismatches": len(expected), "by_kind": by_kind}


async def test_the_crm_customer_account_never_synced_to_billing_is_found(tmp_path: Path) -> None:
    report = await _reconcile(tmp_path, "netsuite")

    found = {key_of(m) for m in report["mismatches"]}
    missing = {k for k in expected_mismatches("netsuite") if k[0] == "customer_missing_in_billing"}
    assert missing  # the seed's last CRM customer account
    assert missing <= found

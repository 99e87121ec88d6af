"""Findings: what a sync saw and reported instead of writing, kept in the transaction's lineage.

A sync often must *not* write: the ERP owns a field the CRM disagrees on, a system API cannot
create what is missing, a price differs between catalog and billing. Each such observation is a
lineage line of the transaction of kind ``finding`` (``step`` is ``finding:<code>``, ``actor``
the workflow, ``detail`` the sentence), written once per step and subject even when the step
runs again after a crash. (The operations view lists only ``record`` and ``action`` lines so far:
showing findings there is a change to its view and contract.)

(The sync workflows share this module; it lives with customer-sync, the first of them.)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable

import msgspec

from apis.process.runtime import runtime
from core.db import insert_ignoring, process_lineage


class Finding(msgspec.Struct, frozen=True, kw_only=True):
    """One thing a sync reports rather than writes."""

    code: str
    """What kind of finding, e.g. ``ownership_conflict``, ``price_drift``, ``missing_in_billing``."""
    subject: str
    """What it is about (a customer, a product code, an event id)."""
    detail: str
    """A sentence an operator can act on, naming the ids on each side."""


async def record_findings(transaction_id: str, workflow: str, step: str, findings: Iterable[Finding]) -> int:
    """Add ``findings`` to the lineage of ``transaction_id`` (each once); how many were new."""
    added = 0
    now = time.time()
    async with runtime().database.begin() as connection:
        for finding in findings:
            digest = hashlib.sha256(f"{step}|{finding.code}|{finding.subject}".encode()).hexdigest()[:32]
            row = {
                "transaction_id": transaction_id,
                "at": now,
                "kind": "finding",
                "step": f"finding:{finding.code}"[:64],
                "actor": workflow[:64],
                "detail": f"{finding.subject}: {finding.detail}"[:1000],
                "dedupe_key": f"{transaction_id}|finding|{digest}",
            }
            added += await insert_ignoring(connection, process_lineage, row, "dedupe_key")
    return added

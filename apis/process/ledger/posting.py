"""What every ledger posting shares: its date, the operator's corrected date, waiting for the invoice.

A posting is dated the day its billing event happened (finalized, paid, refunded, credited),
in UTC; a replay may give ``{"posting_date": "YYYY-MM-DD"}`` instead (the way out of a closed
period). A payment or credit that arrives before invoice-to-ledger posted its invoice raises
:class:`ErpInvoiceNotPosted`: a retryable error, so the step waits with the durable backoff of
:class:`~apis.process.engine.StepRetry` and looks again.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import msgspec

from apis.process.overrides import overrides_of
from core.errors import RetryableError

if TYPE_CHECKING:
    from apis.process.runtime import ProcessRuntime


class ErpInvoiceNotPosted(RetryableError):
    """The ERP invoice a payment or credit applies to does not exist yet (invoice-to-ledger is behind)."""

    status = 503
    problem = "upstream-unavailable"
    title = "Invoice not posted yet"


class Overrides(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Corrected input an operator may give a ledger replay."""

    posting_date: dt.date | None = None
    """ERP document date to use instead of the day of the billing event (e.g. in an open period)."""


def posting_date(happened_at: dt.datetime, overrides: dict[str, Any]) -> dt.date:
    """The operator's ``posting_date`` if given, else the UTC day of ``happened_at``."""
    value = overrides.get("posting_date")
    if isinstance(value, str):
        return dt.date.fromisoformat(value)  # checked when the override was accepted
    return happened_at.astimezone(dt.UTC).date()


async def erp_invoice_of(process: ProcessRuntime, billing_invoice_id: str) -> str:
    """The ERP invoice invoice-to-ledger posted for a billing invoice (xref ``invoice``).

    Raises:
        ErpInvoiceNotPosted: not posted yet (retryable: the step waits and looks again).
    """
    canonical_id = await process.xref.canonical_id("invoice", process.billing.vendor, billing_invoice_id)
    erp_id = await process.xref.vendor_id("invoice", canonical_id, process.erp_system) if canonical_id else None
    if erp_id is None:
        raise ErpInvoiceNotPosted(f"Billing invoice {billing_invoice_id} is not posted to the ERP yet")
    return erp_id


check_overrides = overrides_of(Overrides)
"""Corrected input of a ledger replay (``posting_date``)."""

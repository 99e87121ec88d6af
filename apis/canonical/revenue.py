"""Revenue recognised over a service period: the ratable monthly split and what an ERP reports.

The split (:func:`monthly_shares`) is the one rule Strata uses wherever it needs a month's share
of a billed amount (the ERP connectors that post deferral journal entries themselves, and
reconciliation's billed side): **daily rate, partial months by their days, the last month takes
the rest**. Each month gets ``amount × days of the service period in the month ÷ days of the
service period``, rounded half-up to the cent; the last month gets what is left, so the shares
add up to the amount exactly. That is how the ERPs' own daily-rate rules come out (Oracle's
*Daily Revenue Rate, Partial Periods*, Business Central's *Days per Period* deferral, NetSuite's
straight-line template prorated by days), which is why reconciliation may compare to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import msgspec

from apis.canonical.billing import BillingInvoiceLine
from apis.canonical.common import Money

_CENT = Decimal("0.01")


class RecognizedRevenue(msgspec.Struct, frozen=True, kw_only=True):
    """Revenue an ERP recognised in one month for one customer, from one invoice."""

    period: str
    """The month, ``YYYY-MM``."""
    customer_id: str
    """ERP id of the customer."""
    invoice_id: str | None
    """ERP id of the invoice the revenue comes from, when the ERP names it."""
    amount: Money
    """Revenue recognised in the month (negative for a reversal)."""


def month_of(day: dt.date) -> str:
    """``YYYY-MM`` of ``day``."""
    return f"{day.year:04d}-{day.month:02d}"


def monthly_shares(amount: Decimal, start: dt.date, end: dt.date) -> list[tuple[str, Decimal]]:
    """The amount split over the months of the service period ``start``..``end`` (both inclusive).

    Returns ``[(YYYY-MM, share), ...]`` in month order; the shares sum to ``amount`` exactly.

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    if end < start:
        raise ValueError(f"service period ends ({end}) before it starts ({start})")
    total_days = Decimal((end - start).days + 1)
    months: list[tuple[str, int]] = []
    day = start
    while day <= end:
        next_month = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        last = min(end, next_month - dt.timedelta(days=1))
        months.append((month_of(day), (last - day).days + 1))
        day = next_month
    shares: list[tuple[str, Decimal]] = []
    rest = amount
    for index, (month, days) in enumerate(months):
        if index == len(months) - 1:
            share = rest
        else:
            share = (amount * days / total_days).quantize(_CENT, rounding=ROUND_HALF_UP)
        shares.append((month, share))
        rest -= share
    return shares


def share_in(amount: Decimal, start: dt.date, end: dt.date, period: str) -> Decimal:
    """The part of ``amount`` that falls in ``period`` (``YYYY-MM``); zero outside the service period."""
    return next((share for month, share in monthly_shares(amount, start, end) if month == period), Decimal(0))


def billed_service_period(line: BillingInvoiceLine) -> tuple[dt.date, dt.date] | None:
    """The service period a billing invoice line charges, as first and last day (UTC); none for a one-off.

    Stripe's line ``period`` runs from ``start`` up to ``end`` exclusive; a one-off item's period is
    the instant it was invoiced (``start == end``), which bills no service period.
    """
    if line.period_start is None or line.period_end is None or line.period_end <= line.period_start:
        return None
    first = line.period_start.astimezone(dt.UTC).date()
    last = (line.period_end.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date()
    return first, max(first, last)


def service_period(line: object) -> tuple[dt.date, dt.date] | None:
    """The (first, last) day of the service period an invoice line bills, when it names one.

    Any document line may be passed: only an invoice line (``InvoiceLineInput``) carries a period.
    """
    start, end = getattr(line, "service_start", None), getattr(line, "service_end", None)
    if isinstance(start, dt.date) and isinstance(end, dt.date):
        return start, end
    return None

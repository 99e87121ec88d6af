"""A revenue schedule as the ERPs' daily-rate rules build it: what each sandbox recognises per month.

NetSuite's straight-line template prorated by exact days, Business Central's *Days per Period*
deferral and Oracle Receivables' *Daily Revenue Rate, Partial Periods* rule all spread an amount
over a service period by its days, month by month, each period rounded to the currency's cents and
the last period taking what rounding left over (Business Central documents the last-period
adjustment; for NetSuite and Oracle the rounding rule is GUESSED to be the same).
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def month_starts(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """The (first, last) day of each calendar month's part of ``start``..``end`` (inclusive)."""
    parts: list[tuple[dt.date, dt.date]] = []
    day = start
    while day <= end:
        following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        parts.append((day, min(end, following - dt.timedelta(days=1))))
        day = following
    return parts


def daily_rate_schedule(amount: Decimal, start: dt.date, end: dt.date) -> list[tuple[dt.date, Decimal]]:
    """``[(first day of the month's part, amount recognised), ...]``; the amounts add up to ``amount``."""
    parts = month_starts(start, end)
    days = Decimal((end - start).days + 1)
    schedule: list[tuple[dt.date, Decimal]] = []
    left = amount
    for index, (first, last) in enumerate(parts):
        share = (
            left
            if index == len(parts) - 1
            else (amount * ((last - first).days + 1) / days).quantize(CENT, rounding=ROUND_HALF_UP)
        )
        schedule.append((first, share))
        left -= share
    return schedule


HAND_ENTERED_BEFORE = dt.date(2025, 2, 1)
"""The seeds' deliberate revenue difference: see :func:`hand_entered_subscription`."""


def hand_entered_subscription(invoiced: list[tuple[str, str]]) -> str | None:
    """Of the seed's invoiced opportunities ``(id, close date)``, the one whose ERP invoice was entered by
    hand as a 12-month subscription: the latest closed before February 2025.

    Every ERP sandbox seeds it so (a revenue schedule from the invoice date over twelve months), while
    billing never billed it: reconciliation's revenue check must find the ERP's revenue of January 2025
    for that customer without a billed share beside it.
    """
    before = [(day, opportunity) for opportunity, day in invoiced if dt.date.fromisoformat(day) < HAND_ENTERED_BEFORE]
    return max(before)[1] if before else None


def twelve_months_from(start: dt.date) -> dt.date:
    """The last day of the twelve months starting on ``start``."""
    year, month = start.year + 1, start.month
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(start.day, last)) - dt.timedelta(days=1)

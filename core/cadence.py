"""Cadences as cron expressions: "every N seconds", on the same boundaries as our slots.

A scheduled run's slot is ``int(epoch seconds // cadence)`` (e.g. the customer sync's
``all:schedule:<slot>``), so a cadence's cron must fire exactly at the multiples of the cadence
since the Unix epoch (UTC). Cron says that only for cadences that divide a minute, an hour or a
day, and for a week (the epoch began on a Thursday); :func:`every` refuses the rest, and the
settings that hold a cadence check it at start-up with :func:`check_every`.

Expressions have six fields, seconds first (``sec min hour day month weekday``), as the workflow
engine's scheduler reads them (croniter with ``second_at_beginning``).
"""

from __future__ import annotations

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY

ALLOWED_MINUTES = "the divisors of 60, 120, 180, 240, 360, 480, 720, 1440 and 10080"
"""The minute cadences :func:`every` can say, for error messages."""


def every(seconds: int) -> str:
    """The cron expression firing at every multiple of ``seconds`` since the epoch (UTC).

    Raises:
        ValueError: no cron expression fires on exactly those boundaries.
    """
    if seconds <= 0:
        raise ValueError(f"a cadence of {seconds} seconds is not positive")
    if seconds < MINUTE and MINUTE % seconds == 0:
        return f"*/{seconds} * * * * *"
    if seconds == MINUTE:
        return "0 * * * * *"
    minutes, rest = divmod(seconds, MINUTE)
    if not rest and minutes < 60 and 60 % minutes == 0:
        return f"0 */{minutes} * * * *"
    hours, rest = divmod(seconds, HOUR)
    if not rest and hours == 1:
        return "0 0 * * * *"
    if not rest and hours < 24 and 24 % hours == 0:
        return f"0 0 */{hours} * * *"
    if seconds == DAY:
        return "0 0 0 * * *"
    if seconds == WEEK:
        return "0 0 0 * * 4"  # 1970-01-01, the epoch's first day, was a Thursday
    raise ValueError(f"no cron expression fires every {seconds} seconds on the epoch's boundaries")


def check_every(key: str, seconds: int) -> str | None:
    """Why the cadence ``key`` (``seconds``; 0 = off) cannot be scheduled, or ``None`` if it can."""
    if seconds == 0:
        return None
    try:
        every(seconds)
    except ValueError as error:
        return f"{key}: {error}"
    return None


def daily(hour: int) -> str:
    """The cron expression firing every day at ``hour``:00:00 UTC."""
    if not 0 <= hour <= 23:
        raise ValueError(f"hour {hour} is not 0..23")
    return f"0 0 {hour} * * *"

"""The posting window: invoices post to the ERP at fixed times of day, not as they come.

With ``ledger_posting_window_minutes`` = N > 0, an invoice waits until the next multiple of
N minutes after midnight UTC (N = 60: on the hour; a day that N does not divide ends its last
window at midnight). The workflow computes the pause in a step (so a recovered run waits for
the same boundary) and sleeps durably (:func:`apis.process.engine.sleep`).
"""

from __future__ import annotations

import datetime as dt

DAY_SECONDS = 86_400.0


def seconds_to_window(now: dt.datetime, minutes: int) -> float:
    """Seconds from ``now`` to the next window boundary (0 on a boundary, or without a window)."""
    if minutes <= 0:
        return 0.0
    now = now.astimezone(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    elapsed = (now - midnight).total_seconds()
    remainder = elapsed % (minutes * 60)
    if remainder == 0:
        return 0.0
    return min(minutes * 60 - remainder, DAY_SECONDS - elapsed)

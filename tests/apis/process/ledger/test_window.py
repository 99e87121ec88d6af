"""The posting window: the pause until the next multiple of N minutes after midnight UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from apis.process.ledger.window import seconds_to_window


def at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, 2, hour, minute, second, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "minutes", "expected"),
    [
        (at(10, 7), 0, 0.0),  # no window: post at once
        (at(10, 7), 15, 8 * 60.0),  # 10:07 → 10:15
        (at(10, 15), 15, 0.0),  # on the boundary: at once
        (at(10, 59, 30), 60, 30.0),  # on the hour
        (at(23, 50), 7 * 60, 10 * 60.0),  # 420 does not divide the day: the last window ends at midnight
    ],
)
def test_the_pause_ends_at_the_next_window_boundary(now: dt.datetime, minutes: int, expected: float) -> None:
    assert seconds_to_window(now, minutes) == expected


def test_a_local_time_is_read_in_utc() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert seconds_to_window(dt.datetime(2026, 12, 2, 11, 7, tzinfo=berlin), 15) == 8 * 60.0

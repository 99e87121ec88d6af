"""Cadences as cron expressions: each fires exactly on the epoch's multiples of its cadence."""

from __future__ import annotations

import datetime as dt

import pytest
from croniter import croniter

from core import cadence
from gateway.settings import SettingsError, load_settings

SCHEDULABLE = [1, 2, 5, 15, 30, 60, 120, 900, 1800, 3600, 7200, 3 * 3600, 8 * 3600, 86_400, 7 * 86_400]


@pytest.mark.parametrize("seconds", SCHEDULABLE)
def test_each_tick_is_a_slot_boundary_and_no_boundary_is_skipped(seconds: int) -> None:
    # Start inside a slot, far from the epoch, mid-week, in a leap year.
    start = dt.datetime(2028, 2, 28, 22, 59, 59, tzinfo=dt.UTC) - dt.timedelta(seconds=1)
    ticks = croniter(cadence.every(seconds), start, second_at_beginning=True)
    first = int(start.timestamp()) // seconds * seconds + seconds
    for number in range(5):
        tick = ticks.get_next(dt.datetime)
        assert tick.timestamp() == first + number * seconds, (cadence.every(seconds), number)


def test_the_crons_read_as_they_should() -> None:
    assert cadence.every(2) == "*/2 * * * * *"
    assert cadence.every(60) == "0 * * * * *"
    assert cadence.every(900) == "0 */15 * * * *"
    assert cadence.every(3600) == "0 0 * * * *"
    assert cadence.every(6 * 3600) == "0 0 */6 * * *"
    assert cadence.every(7 * 86_400) == "0 0 0 * * 4"
    assert cadence.daily(2) == "0 0 2 * * *"


@pytest.mark.parametrize("seconds", [0, -60, 7, 45 * 60, 100 * 60, 5 * 3600, 2 * 86_400])
def test_a_cadence_cron_cannot_fire_on_is_refused(seconds: int) -> None:
    with pytest.raises(ValueError):
        cadence.every(seconds)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("customer_sync_interval_minutes", 45),
        ("customer_sync_interval_minutes", 100),
        ("customer_sync_interval_seconds", 7),
        ("customer_sync_interval_seconds", 60),
    ],
)
def test_a_customer_sync_interval_cron_cannot_fire_on_is_refused(key: str, value: int) -> None:
    with pytest.raises(SettingsError, match=key):
        load_settings({key: value}, environ={})


@pytest.mark.parametrize("minutes", [0, 1, 15, 60, 120, 1440, 10_080])
def test_the_customer_sync_intervals_that_can_be_scheduled_load(minutes: int) -> None:
    assert (
        load_settings({"customer_sync_interval_minutes": minutes}, environ={}).customer_sync_interval_minutes == minutes
    )

"""The ratable monthly split: partial months by their days, the last month takes the rest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from apis.canonical import monthly_shares, share_in

D = dt.date


def test_whole_months_of_a_year_split_by_days_and_sum_exactly() -> None:
    shares = monthly_shares(Decimal("12000.00"), D(2025, 1, 1), D(2025, 12, 31))
    assert [m for m, _ in shares] == [f"2025-{n:02d}" for n in range(1, 13)]
    assert shares[0] == ("2025-01", Decimal("1019.18"))  # 12000 × 31/365
    assert shares[1] == ("2025-02", Decimal("920.55"))  # 12000 × 28/365
    assert sum(s for _, s in shares) == Decimal("12000.00")


def test_partial_first_and_last_months() -> None:
    # 15 Jan .. 14 Feb: 17 days in January, 14 in February, 31 in all.
    assert monthly_shares(Decimal("310.00"), D(2025, 1, 15), D(2025, 2, 14)) == [
        ("2025-01", Decimal("170.00")),
        ("2025-02", Decimal("140.00")),
    ]


def test_rounding_goes_to_the_last_month_so_the_total_is_exact() -> None:
    shares = monthly_shares(Decimal("100.00"), D(2025, 1, 1), D(2025, 3, 31))  # 31 + 28 + 31 = 90 days
    assert shares == [("2025-01", Decimal("34.44")), ("2025-02", Decimal("31.11")), ("2025-03", Decimal("34.45"))]
    assert sum(s for _, s in shares) == Decimal("100.00")


def test_one_cent_over_many_months_and_a_leap_february() -> None:
    shares = monthly_shares(Decimal("0.01"), D(2024, 1, 1), D(2024, 12, 31))
    assert sum(s for _, s in shares) == Decimal("0.01") and all(s >= 0 for _, s in shares)
    leap = monthly_shares(Decimal("366.00"), D(2024, 1, 1), D(2024, 12, 31))
    assert dict(leap)["2024-02"] == Decimal("29.00")


def test_a_single_day_a_credit_and_a_year_boundary() -> None:
    assert monthly_shares(Decimal("5.00"), D(2025, 3, 3), D(2025, 3, 3)) == [("2025-03", Decimal("5.00"))]
    credit = monthly_shares(Decimal("-62.00"), D(2024, 12, 1), D(2025, 1, 31))
    assert credit == [("2024-12", Decimal("-31.00")), ("2025-01", Decimal("-31.00"))]


def test_share_in_a_month_outside_the_period_is_zero_and_a_reversed_period_is_refused() -> None:
    assert share_in(Decimal("310.00"), D(2025, 1, 15), D(2025, 2, 14), "2025-02") == Decimal("140.00")
    assert share_in(Decimal("310.00"), D(2025, 1, 15), D(2025, 2, 14), "2025-03") == 0
    with pytest.raises(ValueError, match="ends"):
        monthly_shares(Decimal("1"), D(2025, 2, 1), D(2025, 1, 31))

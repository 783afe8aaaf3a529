"""年度 and reporting periods, and the suppression rule of the open data (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.kpi.open_data import suppressed
from app.kpi.periods import (
    KpiPeriodInvalid,
    Period,
    end_of_day,
    fiscal_year_bounds,
    fiscal_year_label,
    fiscal_year_of,
    local_date,
    resolve_period,
)

DEFAULT = Period(date(2025, 4, 1), date(2026, 1, 15))


@pytest.mark.parametrize(
    ("year", "label"),
    [
        (2018, "平成30年度"),
        (2019, "令和元年度"),  # began on 平成31年4月1日, named 令和元年度 by usage
        (2021, "令和3年度"),
        (2025, "令和7年度"),
        (1989, "平成元年度"),
    ],
)
def test_fiscal_year_labels(year: int, label: str) -> None:
    assert fiscal_year_label(year) == label


def test_the_fiscal_year_turns_at_midnight_in_japan() -> None:
    last_minute = datetime(2025, 3, 31, 14, 59, tzinfo=UTC)  # 23:59 JST
    first_minute = datetime(2025, 3, 31, 15, 0, tzinfo=UTC)  # 00:00 JST on 1 April
    assert fiscal_year_of(local_date(last_minute)) == 2024
    assert fiscal_year_of(local_date(first_minute)) == 2025
    assert end_of_day(date(2025, 3, 31)) == first_minute
    assert fiscal_year_bounds(2025) == (date(2025, 4, 1), date(2026, 3, 31))


def test_periods() -> None:
    assert resolve_period(date_from=None, date_to=None, fiscal_year=None, default=DEFAULT) == (
        DEFAULT
    )
    assert resolve_period(
        date_from=None, date_to=None, fiscal_year=2024, default=DEFAULT
    ) == Period(date(2024, 4, 1), date(2025, 3, 31), 2024)
    # `to` alone runs from the start of its fiscal year
    assert resolve_period(
        date_from=None, date_to=date(2025, 3, 30), fiscal_year=None, default=DEFAULT
    ) == Period(date(2024, 4, 1), date(2025, 3, 30))
    # dates spanning exactly one fiscal year are that fiscal year
    assert resolve_period(
        date_from=date(2025, 4, 1), date_to=date(2026, 3, 31), fiscal_year=None, default=DEFAULT
    ) == Period(date(2025, 4, 1), date(2026, 3, 31), 2025)
    with pytest.raises(KpiPeriodInvalid):
        resolve_period(date_from=date(2025, 4, 1), date_to=None, fiscal_year=2025, default=DEFAULT)
    with pytest.raises(KpiPeriodInvalid):
        resolve_period(
            date_from=date(2025, 5, 1), date_to=date(2025, 4, 1), fiscal_year=None, default=DEFAULT
        )


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        ((0, 0, 0), ("0", "0", "0", "")),
        ((1, 1, 0), ("X", "X", "X", "X")),
        ((2, 0, 2), ("X", "X", "X", "X")),
        ((3, 3, 0), ("3", "3", "0", "100.0")),
        ((3, 0, 3), ("3", "0", "3", "0.0")),
        ((4, 3, 1), ("4", "X", "X", "X")),  # 窓口 1 would follow from 4 - 3
        ((5, 2, 3), ("5", "X", "X", "X")),
        ((7, 4, 3), ("7", "4", "3", "57.1")),
    ],
)
def test_small_cells_are_suppressed(
    counts: tuple[int, int, int], published: tuple[str, str, str, str]
) -> None:
    assert suppressed(*counts) == published

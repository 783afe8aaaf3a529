"""Fiscal years (年度) and the reporting periods of the KPI, in Japan time.

Every KPI date is a date in Asia/Tokyo: an application received at 23:59 JST on 31 March
belongs to the old 年度, one at 00:00 JST on 1 April to the new one. The zone is fixed
rather than read from settings because 年度 and 受付日 are legal dates in Japan
(地方自治法第208条), and a figure must not move with a server's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.errors import ValidationFailed
from app.jp_calendar import (
    JST,
    end_of_day,
    fiscal_year_bounds,
    fiscal_year_label,
    fiscal_year_of,
    local_date,
)

__all__ = [
    "EARLIEST_FISCAL_YEAR",
    "JAPAN",
    "LATEST_FISCAL_YEAR",
    "KpiPeriodInvalid",
    "Period",
    "end_of_day",
    "fiscal_year_bounds",
    "fiscal_year_label",
    "fiscal_year_of",
    "fiscal_years_between",
    "local_date",
    "month_key",
    "month_label",
    "resolve_period",
]

JAPAN = JST
"""The KPI's zone; the calendar itself (JST, 年度, 和暦) lives in app.jp_calendar."""
EARLIEST_FISCAL_YEAR = 2000
LATEST_FISCAL_YEAR = 2100


class KpiPeriodInvalid(ValidationFailed, code="KPI_PERIOD_INVALID"): ...


def month_key(day: date) -> int:
    """yyyymm, the month a rollup row belongs to."""
    return day.year * 100 + day.month


def month_label(key: int) -> str:
    return f"{key // 100:04d}-{key % 100:02d}"


@dataclass(frozen=True)
class Period:
    """Inclusive dates in Japan; `fiscal_year` when the period is exactly one 年度."""

    start: date
    end: date
    fiscal_year: int | None = None


def resolve_period(
    *,
    date_from: date | None,
    date_to: date | None,
    fiscal_year: int | None,
    default: Period,
    start_month: int = 4,
) -> Period:
    """`fiscal_year`, or `from`/`to`, or the default. An open `from` is the start of the
    fiscal year of `to`; an open `to` is the default's end. Asking for both a fiscal
    year and dates is refused, since nobody can tell which one would win."""
    if fiscal_year is not None:
        if date_from is not None or date_to is not None:
            raise KpiPeriodInvalid(
                "Give either fiscal_year or from/to, not both.",
                "fiscal_year と from/to はどちらか一方だけを指定してください。",
            )
        if not EARLIEST_FISCAL_YEAR <= fiscal_year <= LATEST_FISCAL_YEAR:
            raise KpiPeriodInvalid(
                f"fiscal_year must lie between {EARLIEST_FISCAL_YEAR} and {LATEST_FISCAL_YEAR}.",
                f"fiscal_year は{EARLIEST_FISCAL_YEAR}から{LATEST_FISCAL_YEAR}の間で"
                "指定してください。",
            )
        first, last = fiscal_year_bounds(fiscal_year, start_month)
        return Period(first, last, fiscal_year)
    if date_from is None and date_to is None:
        return default
    end = date_to if date_to is not None else default.end
    if date_from is None:
        start, _ = fiscal_year_bounds(fiscal_year_of(end, start_month), start_month)
    else:
        start = date_from
    if start > end:
        raise KpiPeriodInvalid(
            "'from' must not be after 'to'.", "from には to 以前の日付を指定してください。"
        )
    exact_year = fiscal_year_of(start, start_month)
    if (start, end) == fiscal_year_bounds(exact_year, start_month):
        return Period(start, end, exact_year)
    return Period(start, end)


def fiscal_years_between(start: date, end: date, start_month: int = 4) -> list[int]:
    return list(range(fiscal_year_of(start, start_month), fiscal_year_of(end, start_month) + 1))

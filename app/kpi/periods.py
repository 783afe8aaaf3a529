"""Fiscal years (年度) and the reporting periods of the KPI, in Japan time.

Every KPI date is a date in Asia/Tokyo: an application received at 23:59 JST on 31 March
belongs to the old 年度, one at 00:00 JST on 1 April to the new one. The zone is fixed
rather than read from settings because 年度 and 受付日 are legal dates in Japan
(地方自治法第208条), and a figure must not move with a server's configuration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.errors import ValidationFailed
from app.submissions.reference_numbers import REIWA_OFFSET

JAPAN = ZoneInfo("Asia/Tokyo")
HEISEI_OFFSET = 1988
"""平成元年 is 1989."""
EARLIEST_FISCAL_YEAR = 2000
LATEST_FISCAL_YEAR = 2100


class KpiPeriodInvalid(ValidationFailed):
    code = "KPI_PERIOD_INVALID"
    title_en = "The reporting period is not valid"
    title_ja = "集計期間の指定が正しくありません"


def local_date(moment: datetime) -> date:
    """The date in Japan of an aware moment (受付日, 公開日)."""
    return moment.astimezone(JAPAN).date()


def end_of_day(day: date) -> datetime:
    """The first instant after `day` ends in Japan, as UTC: "at a date" means by its end."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=JAPAN).astimezone(UTC)


def month_key(day: date) -> int:
    """yyyymm, the month a rollup row belongs to."""
    return day.year * 100 + day.month


def month_label(key: int) -> str:
    return f"{key // 100:04d}-{key % 100:02d}"


def fiscal_year_of(day: date, start_month: int = 4) -> int:
    """年度 of a date, named after the calendar year in which it starts (as 受付番号 do)."""
    return day.year if day.month >= start_month else day.year - 1


def fiscal_year_bounds(fiscal_year: int, start_month: int = 4) -> tuple[date, date]:
    """First and last day of the 年度 (1 April - 31 March in Japan)."""
    first = date(fiscal_year, start_month, 1)
    next_first = date(fiscal_year + 1, start_month, 1)
    return first, next_first - timedelta(days=1)


def fiscal_year_label(fiscal_year: int) -> str:
    """The 和暦 name of a 年度: 2025 -> 令和7年度, 2019 -> 令和元年度, 2018 -> 平成30年度.

    A 年度 is named by the era in force on its first day, except that FY2019 (which
    began on 平成31年4月1日) is by government usage 令和元年度."""
    if fiscal_year >= REIWA_OFFSET + 1:
        return f"令和{_era_year(fiscal_year - REIWA_OFFSET)}年度"
    if fiscal_year >= HEISEI_OFFSET + 1:
        return f"平成{_era_year(fiscal_year - HEISEI_OFFSET)}年度"
    return f"{fiscal_year}年度"


def _era_year(year: int) -> str:
    return "元" if year == 1 else str(year)


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

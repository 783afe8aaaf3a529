"""Japan's calendar in one place: the time zone (JST), the fiscal year (年度, April to
March) and the Japanese era calendar (和暦).

年度 and 受付日 are legal dates in Japan (地方自治法第208条), so they are taken in
Asia/Tokyo whatever the server's zone. Era first days are the days each era began in
the Gregorian calendar: 明治 from 1868-01-25 (明治元年1月1日, as the 改元の詔 made the
era run from the start of 慶応4年), 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08,
令和 2019-05-01. A date converted from 和暦 must fall inside its era: 平成 ran from
1989-01-08 to 2019-04-30, so 平成45年 or 平成元年1月7日 is an error, not a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
FISCAL_YEAR_START_MONTH = 4
"""年度 begins on 1 April (地方自治法第208条第1項)."""


# --- time zone --------------------------------------------------------------------------


def local_date(moment: datetime, timezone: tzinfo = JST) -> date:
    """The date in Japan of an aware moment (受付日, 公開日)."""
    return moment.astimezone(timezone).date()


def end_of_day(day: date) -> datetime:
    """The first instant after `day` ends in Japan, as UTC: "at a date" means by its end."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=JST).astimezone(UTC)


# --- 年度 (fiscal year) -------------------------------------------------------------------


def fiscal_year_of(
    when: date | datetime,
    start_month: int = FISCAL_YEAR_START_MONTH,
    *,
    timezone: tzinfo = JST,
) -> int:
    """年度 of a date, or of a moment taken in `timezone` (31 March 23:59 JST is still
    the old year), named after the calendar year in which it starts."""
    day = local_date(when, timezone) if isinstance(when, datetime) else when
    return day.year if day.month >= start_month else day.year - 1


def fiscal_year_bounds(
    fiscal_year: int, start_month: int = FISCAL_YEAR_START_MONTH
) -> tuple[date, date]:
    """First and last day of the 年度 (1 April - 31 March in Japan)."""
    first = date(fiscal_year, start_month, 1)
    next_first = date(fiscal_year + 1, start_month, 1)
    return first, next_first - timedelta(days=1)


# --- 和暦 (Japanese eras) -----------------------------------------------------------------


@dataclass(frozen=True)
class JapaneseEra:
    """元号: its name, its romanised name and initial (as in R7, H31), its first day."""

    name: str
    name_en: str
    initial: str
    first_day: date


MEIJI = JapaneseEra("明治", "Meiji", "M", date(1868, 1, 25))
TAISHO = JapaneseEra("大正", "Taisho", "T", date(1912, 7, 30))
SHOWA = JapaneseEra("昭和", "Showa", "S", date(1926, 12, 25))
HEISEI = JapaneseEra("平成", "Heisei", "H", date(1989, 1, 8))
REIWA = JapaneseEra("令和", "Reiwa", "R", date(2019, 5, 1))
ERAS = (MEIJI, TAISHO, SHOWA, HEISEI, REIWA)
"""Oldest first."""


class WarekiError(ValueError):
    """A 和暦 date that does not exist: an unknown era, or a day outside its era."""


def last_day(era: JapaneseEra) -> date | None:
    """The era's last day; None for the current era."""
    index = ERAS.index(era)
    if index + 1 == len(ERAS):
        return None
    return ERAS[index + 1].first_day - timedelta(days=1)


def era_named(name: str) -> JapaneseEra:
    """The era by its name (令和), romanised name (Reiwa) or initial (R)."""
    wanted = unicodedata.normalize("NFKC", name).strip().casefold()
    for era in ERAS:
        if wanted in (era.name, era.name_en.casefold(), era.initial.casefold()):
            return era
    raise WarekiError(f"unknown era {name!r}")


def era_of(day: date) -> JapaneseEra | None:
    """The era a date falls in; None before 明治."""
    for era in reversed(ERAS):
        if day >= era.first_day:
            return era
    return None


def to_wareki(day: date) -> tuple[JapaneseEra, int]:
    """(era, year of the era) of a date; WarekiError before 明治."""
    era = era_of(day)
    if era is None:
        raise WarekiError(f"{day.isoformat()} is before the Meiji era")
    return era, day.year - era.first_day.year + 1


def from_wareki(era: JapaneseEra, year: int, month: int, day: int) -> date:
    """The date of 令和2年5月1日 etc.; WarekiError when it is not a real day of that era
    (平成 with 1980, 昭和64年1月8日, 令和元年4月30日)."""
    if year < 1:
        raise WarekiError(f"{era.name}{year}年 does not exist")
    try:
        result = date(era.first_day.year + year - 1, month, day)
    except ValueError as exc:
        raise WarekiError(f"{era.name}{year}年{month}月{day}日 is not a date") from exc
    end = last_day(era)
    if result < era.first_day or (end is not None and result > end):
        raise WarekiError(f"{era.name}{year}年{month}月{day}日 is outside the {era.name_en} era")
    return result


def era_year_text(year: int) -> str:
    """元 for the first year of an era (元年), else the number."""
    return "元" if year == 1 else str(year)


def format_wareki(day: date, era: JapaneseEra | None = None) -> str:
    """令和2年5月1日 (元年 for year 1). `era`: the era a document states for the date
    (e.g. a certificate), used as stated; by default the era the date falls in."""
    if era is None:
        era, year = to_wareki(day)
    else:
        year = day.year - era.first_day.year + 1
    return f"{era.name}{era_year_text(year)}年{day.month}月{day.day}日"


_WAREKI = re.compile(
    r"(?P<era>明治|大正|昭和|平成|令和)\s*(?P<year>元|[0-9]{1,2})\s*[年.\-/]\s*"
    r"(?P<month>[0-9]{1,2})\s*[月.\-/]\s*(?P<day>[0-9]{1,2})\s*日?"
)


def parse_wareki(text: str) -> date | None:
    """A date written in 和暦 with the era's name (昭和63年2月3日, 平成元年1月8日, 令和2.5.1,
    ㍼63年2月3日), or None when the text is not written that way. WarekiError when it
    is, but names no day of that era. Initials (R7, H1) are not read: "R7-04-01" is
    too easily a typing slip."""
    normalized = unicodedata.normalize("NFKC", text).strip()
    match = _WAREKI.fullmatch(normalized)
    if match is None:
        return None
    year = 1 if match["year"] == "元" else int(match["year"])
    return from_wareki(era_named(match["era"]), year, int(match["month"]), int(match["day"]))


def fiscal_year_era(fiscal_year: int) -> tuple[JapaneseEra, int] | None:
    """The era and era year that name a 年度: the era of the calendar year in which the
    年度 starts, so FY2019 (begun on 平成31年4月1日) is by government usage 令和元年度.
    None before 明治."""
    named = [era for era in ERAS if era.first_day.year <= fiscal_year]
    if not named:
        return None
    era = named[-1]
    return era, fiscal_year - era.first_day.year + 1


def fiscal_year_label(fiscal_year: int) -> str:
    """The 和暦 name of a 年度: 2025 -> 令和7年度, 2019 -> 令和元年度, 2018 -> 平成30年度."""
    named = fiscal_year_era(fiscal_year)
    if named is None:
        return f"{fiscal_year}年度"
    era, year = named
    return f"{era.name}{era_year_text(year)}年度"

"""The one calendar module: JST, 年度 and 和暦 both ways (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.jp_calendar import (
    HEISEI,
    REIWA,
    SHOWA,
    WarekiError,
    era_named,
    fiscal_year_bounds,
    fiscal_year_of,
    format_wareki,
    from_wareki,
    parse_wareki,
    to_wareki,
)


@pytest.mark.parametrize(
    ("day", "wareki"),
    [
        (date(1988, 2, 3), "昭和63年2月3日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 4, 1), "令和8年4月1日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1868, 1, 25), "明治元年1月25日"),
    ],
)
def test_dates_convert_to_wareki_and_back(day: date, wareki: str) -> None:
    assert format_wareki(day) == wareki
    assert parse_wareki(wareki) == day
    era, year = to_wareki(day)
    assert from_wareki(era, year, day.month, day.day) == day


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("昭和６３年２月３日", date(1988, 2, 3)),  # full-width digits
        ("㍼63年2月3日", date(1988, 2, 3)),  # the one-character era sign
        ("昭和63.2.3", date(1988, 2, 3)),
        ("平成1/1/8", date(1989, 1, 8)),
        ("令和 2年 5月 1日", date(2020, 5, 1)),
    ],
)
def test_wareki_is_read_as_people_write_it(text: str, day: date) -> None:
    assert parse_wareki(text) == day


@pytest.mark.parametrize(
    "text",
    [
        "平成元年1月7日",  # 平成 began on 8 January 1989
        "昭和64年1月8日",  # 昭和 ended on 7 January 1989
        "令和元年4月30日",
        "平成45年1月1日",  # 平成 ended in its 31st year
        "平成0年1月1日",
        "昭和63年2月30日",
        "明治元年1月24日",
    ],
)
def test_a_day_outside_its_era_is_an_error(text: str) -> None:
    with pytest.raises(WarekiError):
        parse_wareki(text)


def test_an_era_year_that_falls_outside_the_era_is_an_error() -> None:
    # 平成 with 1980 would be 平成-8年: there is no such year.
    with pytest.raises(WarekiError):
        from_wareki(HEISEI, 1980 - 1988, 1, 1)
    assert from_wareki(SHOWA, 55, 1, 1) == date(1980, 1, 1)


def test_text_that_is_not_wareki_is_left_alone() -> None:
    assert parse_wareki("2026-04-01") is None
    assert parse_wareki("昭和") is None
    assert parse_wareki("R7-04-01") is None
    with pytest.raises(WarekiError):
        era_named("天平")
    assert era_named("Reiwa") is REIWA


def test_the_fiscal_year_turns_on_1_april_in_japan() -> None:
    assert fiscal_year_of(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == 2025  # 23:59 JST
    assert fiscal_year_of(datetime(2026, 3, 31, 15, 0, tzinfo=UTC)) == 2026  # 00:00 JST
    assert fiscal_year_of(date(2026, 1, 10)) == 2025
    assert fiscal_year_bounds(2026) == (date(2026, 4, 1), date(2027, 3, 31))

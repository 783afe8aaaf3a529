"""`date`: a day as "YYYY-MM-DD", optionally between a minimum and a maximum.

A bound is a fixed ISO date or one relative to the day of the request in Japan:
`today`, `today+7d`, `today-18y`, `today+1m`, `fiscal_year_start`, `fiscal_year_end`
(年度 April-March), each anchor with an optional offset in days, months or years. The
validator resolves them against the request's `now` (JST); the served JSON Schema
carries them resolved for the day it was served (`formatMinimum`/`formatMaximum`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.jp import DATE_PATTERN
from app.forms.validation import is_calendar_date
from app.jp_calendar import WarekiError, fiscal_year_bounds, fiscal_year_of, parse_wareki

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.json_schema import SchemaBuilder
    from app.forms.validation import AnswerChecker

_SLASHED_DATE = re.compile(r"([0-9]{4})(?:[-/.]|年)([0-9]{1,2})(?:[-/.]|月)([0-9]{1,2})日?")
_RELATIVE = re.compile(
    r"(?P<anchor>today|fiscal_year_start|fiscal_year_end)(?:(?P<amount>[+-][0-9]{1,4})(?P<unit>[dmy]))?"
)
BOUND_PATTERN = (
    r"^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|(?:today|fiscal_year_start|fiscal_year_end)(?:[+-][0-9]{1,4}[dmy])?)$"
)
# A day on which relative bounds are compared with each other when a definition is
# checked: min "today+7d" with max "today" is wrong on every day.
_REFERENCE_DAY = dt.date(2001, 1, 1)


def is_relative(bound: str) -> bool:
    return _RELATIVE.fullmatch(bound) is not None


def _add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later; the 31st becomes the month's last day when it has
    none (and 29 February the 28th in other years)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def resolve_bound(bound: str, today: dt.date | None) -> dt.date:
    """The day a bound names, `today` being the request's date in Japan."""
    relative = _RELATIVE.fullmatch(bound)
    if relative is None:
        return dt.date.fromisoformat(bound)
    if today is None:
        raise ValueError(f"the relative date bound {bound!r} needs the request's date")
    anchor = relative["anchor"]
    if anchor == "today":
        day = today
    else:
        first, last = fiscal_year_bounds(fiscal_year_of(today))
        day = first if anchor == "fiscal_year_start" else last
    if relative["amount"] is None:
        return day
    amount = int(relative["amount"])
    if relative["unit"] == "d":
        return day + dt.timedelta(days=amount)
    return _add_months(day, amount * (12 if relative["unit"] == "y" else 1))


def _japanese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@register_field_type
class DateField(FieldDefinition):
    type: Literal["date"]
    minimum: str | None = Field(default=None, pattern=BOUND_PATTERN)
    maximum: str | None = Field(default=None, pattern=BOUND_PATTERN)
    prefill: Literal["birth_date"] | None = None

    server_only_rules = ("calendar_date", "date_range")

    @property
    def has_relative_bounds(self) -> bool:
        return any(
            bound is not None and is_relative(bound) for bound in (self.minimum, self.maximum)
        )

    def canonical_text(self, text: str) -> str:
        """`2026/4/1` and `2026年4月1日` become `2026-04-01`, and so does a date in 和暦
        (`昭和63年2月3日`, `H1.1.8`); a 和暦 date outside its era is left for `check`."""
        slashed = _SLASHED_DATE.fullmatch(text)
        if slashed is not None:
            year, month, day = slashed.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
        try:
            wareki = parse_wareki(text)
        except WarekiError:
            return text
        return text if wareki is None else wareki.isoformat()

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        if not is_calendar_date(value):
            checker.report(
                path,
                "date",
                "日付を正しく入力してください（例: 2025-04-01）",
                "Enter a real date as YYYY-MM-DD (e.g. 2025-04-01)",
            )
            return
        # ISO dates compare correctly as strings.
        if self.minimum is not None:
            minimum = resolve_bound(self.minimum, checker.today)
            if value < minimum.isoformat():
                checker.report(
                    path,
                    "minimum",
                    f"{_japanese_date(minimum)}以降の日付を入力してください",
                    f"Enter a date on or after {minimum.isoformat()}",
                )
        if self.maximum is not None:
            maximum = resolve_bound(self.maximum, checker.today)
            if value > maximum.isoformat():
                checker.report(
                    path,
                    "maximum",
                    f"{_japanese_date(maximum)}以前の日付を入力してください",
                    f"Enter a date on or before {maximum.isoformat()}",
                )

    def json_schema(self, builder: SchemaBuilder, prefix: str) -> tuple[Schema, Schema]:
        """Relative bounds are resolved for the day the schema is served; a schema built
        without a day (an admin preview) states them in `x-madoguchi.date_bounds` only."""
        schema: Schema = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
        for keyword, bound in (("formatMinimum", self.minimum), ("formatMaximum", self.maximum)):
            if bound is not None and (builder.today is not None or not is_relative(bound)):
                schema[keyword] = resolve_bound(bound, builder.today).isoformat()
        return schema, {}

    def schema_annotations(self) -> Schema:
        annotations = super().schema_annotations()
        bounds = {"minimum": self.minimum, "maximum": self.maximum}
        relative = {name: bound for name, bound in bounds.items() if bound and is_relative(bound)}
        if relative:
            annotations["date_bounds"] = relative
        return annotations

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        fixed_valid = True
        for name, bound in (("minimum", self.minimum), ("maximum", self.maximum)):
            if bound is not None and not is_relative(bound) and not is_calendar_date(bound):
                fixed_valid = False
                checker.report(
                    f"{path}/{name}",
                    "date",
                    f"{name} が実在する日付ではありません",
                    f"{name} is not a real date",
                )
        if not fixed_valid or self.minimum is None or self.maximum is None:
            return
        if is_relative(self.minimum) == is_relative(self.maximum):
            low = resolve_bound(self.minimum, _REFERENCE_DAY)
            high = resolve_bound(self.maximum, _REFERENCE_DAY)
            checker.range(path, "minimum", low, "maximum", high)

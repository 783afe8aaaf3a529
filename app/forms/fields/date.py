"""`date`: a day as "YYYY-MM-DD", optionally between a minimum and a maximum."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.jp import DATE_PATTERN
from app.forms.validation import is_calendar_date

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.validation import AnswerChecker

_SLASHED_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")


def _japanese_date(value: str) -> str:
    day = dt.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


@register_field_type
class DateField(FieldDefinition):
    type: Literal["date"]
    minimum: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    maximum: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")
    prefill: Literal["birth_date"] | None = None

    server_only_rules = ("calendar_date", "date_range")

    def canonical_text(self, text: str) -> str:
        """`2026/4/1` becomes `2026-04-01`."""
        slashed = _SLASHED_DATE.fullmatch(text)
        if slashed is None:
            return text
        year, month, day = slashed.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"

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
        if self.minimum is not None and value < self.minimum:
            checker.report(
                path,
                "minimum",
                f"{_japanese_date(self.minimum)}以降の日付を入力してください",
                f"Enter a date on or after {self.minimum}",
            )
        if self.maximum is not None and value > self.maximum:
            checker.report(
                path,
                "maximum",
                f"{_japanese_date(self.maximum)}以前の日付を入力してください",
                f"Enter a date on or before {self.maximum}",
            )

    def value_schema(self) -> Schema:
        schema: Schema = {"type": "string", "format": "date", "pattern": DATE_PATTERN}
        if self.minimum is not None:
            schema["formatMinimum"] = self.minimum
        if self.maximum is not None:
            schema["formatMaximum"] = self.maximum
        return schema

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        bounds_valid = True
        for name, bound in (("minimum", self.minimum), ("maximum", self.maximum)):
            if bound is not None and not is_calendar_date(bound):
                bounds_valid = False
                checker.report(
                    f"{path}/{name}",
                    "date",
                    f"{name} が実在する日付ではありません",
                    f"{name} is not a real date",
                )
        if bounds_valid:
            checker.range(path, "minimum", self.minimum, "maximum", self.maximum)

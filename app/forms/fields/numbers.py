"""Numbers: `integer` (a whole number, e.g. 通数) and `number` (e.g. 面積 0.45)."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Literal

from app.forms.conditions import is_number
from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.normalize import normalize_text

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.validation import AnswerChecker

# Bounded so that int()/float() never see huge inputs (and never produce inf).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER_TEXT = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?")


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


class _Numeric(FieldDefinition):
    minimum: float | None = None
    maximum: float | None = None

    numeric = True

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        if self.has_type(value, checker, path):
            self._within_bounds(value, checker, path)
        return value

    def has_type(self, value: Any, checker: AnswerChecker, path: str) -> bool:
        raise NotImplementedError

    def _within_bounds(self, value: float, checker: AnswerChecker, path: str) -> None:
        if self.minimum is not None and value < self.minimum:
            minimum = _number_text(self.minimum)
            checker.report(
                path,
                "minimum",
                f"{minimum}以上の値を入力してください",
                f"Enter a value of at least {minimum}",
            )
        if self.maximum is not None and value > self.maximum:
            maximum = _number_text(self.maximum)
            checker.report(
                path,
                "maximum",
                f"{maximum}以下の値を入力してください",
                f"Enter a value of at most {maximum}",
            )

    def value_schema(self) -> Schema:
        schema: Schema = {"type": self.type}
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        checker.range(path, "minimum", self.minimum, "maximum", self.maximum)


@register_field_type
class IntegerField(_Numeric):
    type: Literal["integer"]
    minimum: int | None = None
    maximum: int | None = None

    quantity = "answer"

    @property
    def never_negative(self) -> bool:
        return self.minimum is not None and self.minimum >= 0

    def normalize(self, value: Any) -> Any:
        """`"2"` and `"２"` become 2; a whole float becomes an int."""
        if isinstance(value, float) and value.is_integer():
            return int(value)
        text = normalize_text(value)
        if isinstance(text, str) and _INTEGER_TEXT.fullmatch(text):
            return int(text)
        return text

    def has_type(self, value: Any, checker: AnswerChecker, path: str) -> bool:
        if isinstance(value, int) and not isinstance(value, bool):
            return True
        checker.report(path, "type", "整数で入力してください", "Enter a whole number")
        return False

    def operand_expectation(self, operand: Any) -> tuple[str, str] | None:
        if is_number(operand) and float(operand).is_integer():
            return None
        return "整数", "a whole number"


@register_field_type
class NumberField(_Numeric):
    type: Literal["number"]

    def normalize(self, value: Any) -> Any:
        """`"0.45"` becomes 0.45."""
        text = normalize_text(value)
        if isinstance(text, str) and _NUMBER_TEXT.fullmatch(text):
            return float(text) if "." in text else int(text)
        return text

    def has_type(self, value: Any, checker: AnswerChecker, path: str) -> bool:
        if is_number(value) and math.isfinite(value):
            return True
        checker.report(path, "type", "数値で入力してください", "Enter a number")
        return False

    def operand_expectation(self, operand: Any) -> tuple[str, str] | None:
        return None if is_number(operand) else ("数値", "a number")

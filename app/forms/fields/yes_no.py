"""Booleans: `checkbox` (a yes/no fact; `false` is an answer) and `consent` (同意: a
required consent is given only by `true`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from app.forms.fields.base import FieldDefinition, Schema, register_field_type

if TYPE_CHECKING:
    from app.forms.validation import AnswerChecker


class _YesNo(FieldDefinition):
    def normalize(self, value: Any) -> Any:
        return value

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        if not isinstance(value, bool):
            checker.report(
                path, "type", "「はい」か「いいえ」で回答してください", "Answer yes or no"
            )
        return value

    def value_schema(self) -> Schema:
        return {"type": "boolean"}

    def operand_expectation(self, operand: Any) -> tuple[str, str] | None:
        return None if isinstance(operand, bool) else ("true か false", "true or false")


@register_field_type
class CheckboxField(_YesNo):
    """A yes/no question answered with a boolean (unlike consent, `false` is an answer)."""

    type: Literal["checkbox"]


@register_field_type
class ConsentField(_YesNo):
    """同意: a statement the applicant must accept; only `true` answers it."""

    type: Literal["consent"]

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        super().check(value, checker, path, complete=complete)
        if value is False and self.required and complete:
            checker.report(
                path,
                "consent",
                "同意いただけない場合は申請できません",
                "You must agree to continue",
            )
        return value

    def completeness_schema(self) -> Schema:
        return {"const": True} if self.required else {}

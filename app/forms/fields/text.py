"""Free text: `text` (one line, optional pattern) and `textarea` (several lines)."""

from __future__ import annotations

import re
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, field_validator

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.jp import CANONICAL_TEXT_PATTERN, NO_NUL_LOOKAHEAD

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.validation import AnswerChecker

# Caps on what a citizen may send, applied even when an author sets nothing.
DEFAULT_TEXT_MAX_LENGTH = 200
DEFAULT_TEXTAREA_MAX_LENGTH = 4000
HARD_TEXT_MAX_LENGTH = 20000


def string_schema(max_length: int, min_length: int | None = None) -> Schema:
    """Canonical strings are stripped, never empty and hold no NUL."""
    return {
        "type": "string",
        "minLength": max(1, min_length or 0),
        "maxLength": max_length,
        "pattern": CANONICAL_TEXT_PATTERN,
    }


class FixedPatternField(FieldDefinition):
    """A text whose canonical form must match one pattern the type fixes (電話番号,
    郵便番号, 個人番号), unlike `text`, whose author may set one."""

    value_pattern: ClassVar[str]
    mismatch: ClassVar[tuple[str, str, str]]
    """The problem when the text does not match: code, Japanese, English."""

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        self.matches(value, checker, path)

    @cached_property
    def value_regex(self) -> re.Pattern[str]:
        return re.compile(self.value_pattern)

    def matches(self, value: str, checker: AnswerChecker, path: str) -> bool:
        """Whether the text matches; if not, the mismatch is reported."""
        if self.value_regex.fullmatch(value):
            return True
        checker.report(path, *self.mismatch)
        return False

    def value_schema(self) -> Schema:
        return {"type": "string", "pattern": self.value_pattern}


class _FreeText(FieldDefinition):
    min_length: int | None = Field(default=None, ge=0)
    max_length: int

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        checker.length(value, path, self.min_length, self.max_length)

    def value_schema(self) -> Schema:
        return string_schema(self.max_length, self.min_length)

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        checker.range(path, "min_length", self.min_length, "max_length", self.max_length)


@register_field_type
class TextField(_FreeText):
    type: Literal["text"]
    max_length: int = Field(default=DEFAULT_TEXT_MAX_LENGTH, ge=1, le=HARD_TEXT_MAX_LENGTH)
    pattern: str | None = None
    prefill: Literal["name", "address"] | None = None
    """ワンスオンリー: filled from the My Number card's 氏名 or 住所 (see docs/jpki.md)."""

    # Field validators (not model validators) so an error points at the key itself.
    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from exc
        return pattern

    @cached_property
    def pattern_regex(self) -> re.Pattern[str] | None:
        return None if self.pattern is None else re.compile(self.pattern)

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        super().check_text(value, checker, path)
        if self.pattern_regex is not None and self.pattern_regex.fullmatch(value) is None:
            checker.report(
                path,
                "pattern",
                "入力された形式が正しくありません",
                "Enter a value in the expected format",
            )

    def value_schema(self) -> Schema:
        schema = super().value_schema()
        if self.pattern is not None:
            schema["pattern"] = f"^{NO_NUL_LOOKAHEAD}(?:{self.pattern})$"
        return schema


@register_field_type
class TextareaField(_FreeText):
    type: Literal["textarea"]
    max_length: int = Field(default=DEFAULT_TEXTAREA_MAX_LENGTH, ge=1, le=HARD_TEXT_MAX_LENGTH)
    prefill: Literal["address"] | None = None

    def canonical_text(self, text: str) -> str:
        """Line breaks become \\n."""
        return text.replace("\r\n", "\n").replace("\r", "\n")

"""Answer validation (入力チェック): canonical answers checked against a definition.

Every problem is reported at once, each at the JSON Pointer of the answer, with a
stable code and a message in Japanese and English. Visibility decides what is asked:
a hidden field is never required and its answer is dropped from the result, but an
answer sent for it is still type-checked, so this validator and the published JSON
Schema agree on which answer objects are valid.

The walk over the answer object lives here; what one answer of one type must look
like is the field type's `check` (see `app.forms.fields`), which reports through the
`AnswerChecker` it is handed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.errors import FieldError
from app.forms.conditions import top_level_visibility
from app.forms.jp import DATE_PATTERN
from app.forms.normalize import normalize_answers

if TYPE_CHECKING:
    from app.forms.definition import ProcedureDefinition
    from app.forms.fields.base import FieldDefinition


@dataclass(frozen=True)
class ValidationResult:
    """The canonical answers of the visible fields, and every problem found."""

    answers: dict[str, Any]
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_answers(
    definition: ProcedureDefinition,
    answers: Any,
    *,
    partial: bool = False,
    today: dt.date | None = None,
) -> ValidationResult:
    """Normalise and check an answer object.

    `partial` (下書き, a draft): every answer given is checked, but missing required
    answers and too few group items are not errors yet. `today`: the request's date in
    Japan, which relative date bounds (`today-18y`) are resolved against.
    """
    if not isinstance(answers, dict):
        error = FieldError(
            "", "type", "回答の形式が正しくありません", "The answers must be a JSON object"
        )
        return ValidationResult({}, [error])
    checker = AnswerChecker(partial=partial, today=today)
    canonical = normalize_answers(definition, answers)
    # Visibility depends on the canonical answers alone, not on what checking finds.
    visible = top_level_visibility(definition, canonical)
    result: dict[str, Any] = {}
    for step in definition.steps:
        for field in step.fields:
            shown = visible[field.key]
            checked = checker.answer(field, canonical, field.pointer_segment, asked=shown)
            if shown and field.key in canonical:
                result[field.key] = checked
    checker.refuse_unknown(canonical, visible.keys(), "")
    return ValidationResult(result, checker.errors)


_DATE = re.compile(DATE_PATTERN)


def pointer(base: str, token: str | int) -> str:
    """`base` extended by one JSON Pointer reference token (RFC 6901 escaping)."""
    escaped = str(token).replace("~", "~0").replace("/", "~1")
    return f"{base}/{escaped}"


def is_calendar_date(value: str) -> bool:
    """YYYY-MM-DD (ASCII digits) naming a day that exists in the calendar."""
    if not _DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


class AnswerChecker:
    """Collects the problems of one answer object; field types report through it."""

    def __init__(self, *, partial: bool, today: dt.date | None = None) -> None:
        self.partial = partial
        self.today = today
        self.errors: list[FieldError] = []

    def report(self, path: str, code: str, message_ja: str, message_en: str) -> None:
        self.errors.append(FieldError(path, code, message_ja, message_en))

    def refuse_unknown(self, answers: dict[Any, Any], known: Collection[str], path: str) -> None:
        for key in answers:
            if key not in known:
                self.report(
                    pointer(path, key),
                    "unknown_field",
                    "この項目はこの手続では受け付けていません",
                    "This field is not part of the form",
                )

    def answer(
        self, field: FieldDefinition, answers: dict[str, Any], path: str, *, asked: bool
    ) -> Any:
        """Check one field's answer; returns its canonical value (None when absent).

        `asked`: the field is shown (inside a group: and so is the group), so unless
        this is a draft its answer must be complete.
        """
        complete = asked and not self.partial
        if field.key not in answers:
            if complete:
                field.report_missing(self, path)
            return None
        return field.check(answers[field.key], self, path, complete=complete)

    # --- what several field types report alike -------------------------------------------

    def required(self, path: str) -> None:
        self.report(path, "required", "必須項目です", "This field is required")

    def is_string(self, value: Any, path: str) -> bool:
        """A string without NUL (U+0000, which PostgreSQL text cannot hold)."""
        if not isinstance(value, str):
            self.report(path, "type", "文字列で入力してください", "Enter text")
            return False
        if "\x00" in value:
            self.report(
                path,
                "nul_character",
                "使用できない文字（NUL）が含まれています",
                "Remove the NUL character (U+0000)",
            )
            return False
        return True

    def is_object(self, value: Any, path: str) -> bool:
        if isinstance(value, dict):
            return True
        self.report(path, "type", "回答の形式が正しくありません", "The answer has the wrong shape")
        return False

    def length(self, value: str, path: str, minimum: int | None, maximum: int) -> None:
        if minimum is not None and len(value) < minimum:
            self.report(
                path,
                "min_length",
                f"{minimum}文字以上で入力してください",
                f"Enter at least {minimum} characters",
            )
        if len(value) > maximum:
            self.report(
                path,
                "max_length",
                f"{maximum}文字以内で入力してください",
                f"Enter at most {maximum} characters",
            )

    def not_an_option(self, path: str) -> None:
        self.report(path, "enum", "選択肢の中から選んでください", "Choose one of the options")

    def part(self, value: dict[str, Any], part: str, path: str, *, required: bool) -> str | None:
        """One string part of an object answer (address_jp, name_with_kana), if given."""
        if part not in value:
            if required:
                self.required(path)
            return None
        return value[part] if self.is_string(value[part], path) else None

    def too_few_items(self, path: str, minimum: int) -> None:
        self.report(
            path, "min_items", f"{minimum}件以上入力してください", f"Add at least {minimum} entries"
        )

    def too_many_items(self, path: str, maximum: int) -> None:
        self.report(
            path, "max_items", f"{maximum}件まで入力できます", f"Add at most {maximum} entries"
        )

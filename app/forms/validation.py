"""Answer validation (入力チェック): canonical answers checked against a definition.

Every problem is reported at once, each at the JSON Pointer of the answer, with a
stable code and a message in Japanese and English. Visibility decides what is asked:
a hidden field is never required and its answer is dropped from the result, but an
answer sent for it is still type-checked, so this validator and the published JSON
Schema agree on which answer objects are valid.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from app.errors import FieldError
from app.forms.conditions import holds, is_number
from app.forms.definition import (
    AddressJpField,
    CheckboxField,
    ConsentField,
    DateField,
    EmailField,
    FormField,
    GroupField,
    IntegerField,
    ItemField,
    MultiselectField,
    MyNumberField,
    NameWithKanaField,
    NumberField,
    PhoneJpField,
    PostalCodeJpField,
    ProcedureDefinition,
    RadioField,
    SelectField,
    TextareaField,
    TextField,
)
from app.forms.jp import (
    DATE_PATTERN,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    KATAKANA_PATTERN,
    MY_NUMBER_PATTERN,
    PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
    PREFECTURES,
    is_valid_my_number,
)
from app.forms.normalize import ADDRESS_PARTS, NAME_PARTS, normalize_answers

ADDRESS_PART_MAX_LENGTH = {"city": 100, "town": 100, "rest": 200}
NAME_PART_MAX_LENGTH = 100
_REQUIRED_ADDRESS_PARTS = ("prefecture", "city")


@dataclass(frozen=True)
class ValidationResult:
    """The canonical answers of the visible fields, and every problem found."""

    answers: dict[str, Any]
    errors: list[FieldError]

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_answers(
    definition: ProcedureDefinition, answers: Any, *, partial: bool = False
) -> ValidationResult:
    """Normalise and check an answer object.

    `partial` (下書き, a draft): every answer given is checked, but missing required
    answers and too few group items are not errors yet.
    """
    if not isinstance(answers, dict):
        error = FieldError(
            "", "type", "回答の形式が正しくありません", "The answers must be a JSON object"
        )
        return ValidationResult({}, [error])
    checker = _AnswerChecker(partial=partial)
    canonical = normalize_answers(definition, answers)
    visible: dict[str, bool] = {}
    result: dict[str, Any] = {}
    for step in definition.steps:
        step_shown = holds(step.when, canonical, visible)
        for field in step.fields:
            shown = step_shown and holds(field.when, canonical, visible)
            visible[field.key] = shown
            checked = checker.answer(field, canonical, pointer("", field.key), asked=shown)
            if shown and field.key in canonical:
                result[field.key] = checked
    checker.refuse_unknown(canonical, visible.keys(), "")
    return ValidationResult(result, checker.errors)


def pointer(base: str, token: str | int) -> str:
    """`base` extended by one JSON Pointer reference token (RFC 6901 escaping)."""
    escaped = str(token).replace("~", "~0").replace("/", "~1")
    return f"{base}/{escaped}"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def is_calendar_date(value: str) -> bool:
    """YYYY-MM-DD (ASCII digits) naming a day that exists in the calendar."""
    if not re.fullmatch(DATE_PATTERN, value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _japanese_date(value: str) -> str:
    day = dt.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


class _AnswerChecker:
    """Collects the problems of one answer object."""

    def __init__(self, *, partial: bool) -> None:
        self.partial = partial
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
        self, field: FormField | ItemField, answers: dict[str, Any], path: str, *, asked: bool
    ) -> Any:
        """Check one field's answer; returns its canonical value (None when absent).

        `asked`: the field is shown (inside a group: and so is the group), so unless
        this is a draft its answer must be complete.
        """
        complete = asked and not self.partial
        if field.key not in answers:
            if complete:
                self._missing(field, path)
            return None
        return self._value(field, answers[field.key], path, complete=complete)

    def _missing(self, field: FormField | ItemField, path: str) -> None:
        if field.required:
            self.report(path, "required", "必須項目です", "This field is required")
        elif isinstance(field, GroupField) and field.min_items > 0:
            self._too_few_items(path, field.min_items)

    def _value(self, field: FormField | ItemField, value: Any, path: str, *, complete: bool) -> Any:
        if isinstance(field, GroupField):
            return self._group(field, value, path, complete=complete)
        if isinstance(field, AddressJpField):
            self._address(value, path, complete=complete)
        elif isinstance(field, NameWithKanaField):
            self._name_with_kana(value, path, complete=complete)
        elif isinstance(field, CheckboxField | ConsentField):
            self._boolean(field, value, path, complete=complete)
        elif isinstance(field, IntegerField | NumberField):
            self._number(field, value, path)
        elif isinstance(field, MultiselectField):
            self._multiselect(field, value, path)
        elif self._is_string(value, path):
            self._string(field, value, path)
        return value

    # --- strings -----------------------------------------------------------------------

    def _is_string(self, value: Any, path: str) -> bool:
        if isinstance(value, str):
            return True
        self.report(path, "type", "文字列で入力してください", "Enter text")
        return False

    def _string(self, field: FormField | ItemField, value: str, path: str) -> None:
        if isinstance(field, TextField | TextareaField):
            self._length(value, path, field.min_length, field.max_length)
            pattern = field.pattern if isinstance(field, TextField) else None
            if pattern is not None and re.fullmatch(pattern, value) is None:
                self.report(
                    path,
                    "pattern",
                    "入力された形式が正しくありません",
                    "Enter a value in the expected format",
                )
        elif isinstance(field, SelectField | RadioField):
            if value not in {option.value for option in field.options}:
                self._not_an_option(path)
        elif isinstance(field, EmailField):
            if len(value) > EMAIL_MAX_LENGTH or not re.fullmatch(EMAIL_PATTERN, value):
                self.report(
                    path,
                    "email",
                    "メールアドレスの形式が正しくありません",
                    "Enter a valid email address",
                )
        elif isinstance(field, PhoneJpField):
            if not re.fullmatch(PHONE_PATTERN, value):
                self.report(
                    path,
                    "phone",
                    "電話番号は0から始まる10桁または11桁の数字で入力してください",
                    "Enter a phone number of 10 or 11 digits starting with 0",
                )
        elif isinstance(field, PostalCodeJpField):
            if not re.fullmatch(POSTAL_CODE_PATTERN, value):
                self.report(
                    path,
                    "postal_code",
                    "郵便番号は7桁の数字で入力してください（例: 389-0402）",
                    "Enter a 7-digit postal code (e.g. 389-0402)",
                )
        elif isinstance(field, MyNumberField):
            self._my_number(value, path)
        elif isinstance(field, DateField):
            self._date(field, value, path)

    def _length(self, value: str, path: str, minimum: int | None, maximum: int) -> None:
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

    def _not_an_option(self, path: str) -> None:
        self.report(path, "enum", "選択肢の中から選んでください", "Choose one of the options")

    def _my_number(self, value: str, path: str) -> None:
        if not re.fullmatch(MY_NUMBER_PATTERN, value):
            self.report(
                path,
                "pattern",
                "個人番号は12桁の数字で入力してください",
                "Enter the 12-digit My Number",
            )
        elif not is_valid_my_number(value):
            self.report(
                path,
                "check_digit",
                "個人番号が正しくありません。入力内容をご確認ください",
                "This is not a valid My Number; please check the digits",
            )

    def _date(self, field: DateField, value: str, path: str) -> None:
        if not is_calendar_date(value):
            self.report(
                path,
                "date",
                "日付を正しく入力してください（例: 2025-04-01）",
                "Enter a real date as YYYY-MM-DD (e.g. 2025-04-01)",
            )
            return
        # ISO dates compare correctly as strings.
        if field.minimum is not None and value < field.minimum:
            self.report(
                path,
                "minimum",
                f"{_japanese_date(field.minimum)}以降の日付を入力してください",
                f"Enter a date on or after {field.minimum}",
            )
        if field.maximum is not None and value > field.maximum:
            self.report(
                path,
                "maximum",
                f"{_japanese_date(field.maximum)}以前の日付を入力してください",
                f"Enter a date on or before {field.maximum}",
            )

    # --- numbers, booleans, choices ----------------------------------------------------

    def _number(self, field: IntegerField | NumberField, value: Any, path: str) -> None:
        if isinstance(field, IntegerField):
            if not isinstance(value, int) or isinstance(value, bool):
                self.report(path, "type", "整数で入力してください", "Enter a whole number")
                return
        elif not is_number(value) or not math.isfinite(value):
            self.report(path, "type", "数値で入力してください", "Enter a number")
            return
        if field.minimum is not None and value < field.minimum:
            minimum = _number_text(field.minimum)
            self.report(
                path,
                "minimum",
                f"{minimum}以上の値を入力してください",
                f"Enter a value of at least {minimum}",
            )
        if field.maximum is not None and value > field.maximum:
            maximum = _number_text(field.maximum)
            self.report(
                path,
                "maximum",
                f"{maximum}以下の値を入力してください",
                f"Enter a value of at most {maximum}",
            )

    def _boolean(
        self, field: CheckboxField | ConsentField, value: Any, path: str, *, complete: bool
    ) -> None:
        if not isinstance(value, bool):
            self.report(path, "type", "「はい」か「いいえ」で回答してください", "Answer yes or no")
        elif isinstance(field, ConsentField) and field.required and complete and not value:
            self.report(
                path,
                "consent",
                "同意いただけない場合は申請できません",
                "You must agree to continue",
            )

    def _multiselect(self, field: MultiselectField, value: Any, path: str) -> None:
        if not isinstance(value, list):
            self.report(path, "type", "選択肢をリストで送信してください", "Send a list of options")
            return
        options = {option.value for option in field.options}
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in options:
                self._not_an_option(pointer(path, index))
        if field.min_items is not None and len(value) < field.min_items:
            self.report(
                path,
                "min_items",
                f"{field.min_items}つ以上選んでください",
                f"Choose at least {field.min_items}",
            )
        if field.max_items is not None and len(value) > field.max_items:
            self.report(
                path,
                "max_items",
                f"{field.max_items}つまで選べます",
                f"Choose at most {field.max_items}",
            )

    # --- objects -----------------------------------------------------------------------

    def _is_object(self, value: Any, path: str) -> bool:
        if isinstance(value, dict):
            return True
        self.report(path, "type", "回答の形式が正しくありません", "The answer has the wrong shape")
        return False

    def _part(self, value: dict[str, Any], part: str, path: str, *, required: bool) -> str | None:
        """One string part of an address_jp / name_with_kana answer, if given."""
        if part not in value:
            if required:
                self.report(path, "required", "必須項目です", "This field is required")
            return None
        return value[part] if self._is_string(value[part], path) else None

    def _address(self, value: Any, path: str, *, complete: bool) -> None:
        if not self._is_object(value, path):
            return
        self.refuse_unknown(value, ADDRESS_PARTS, path)
        for part in ADDRESS_PARTS:
            part_path = pointer(path, part)
            required = complete and part in _REQUIRED_ADDRESS_PARTS
            text = self._part(value, part, part_path, required=required)
            if text is None:
                continue
            if part != "prefecture":
                self._length(text, part_path, None, ADDRESS_PART_MAX_LENGTH[part])
            elif text not in PREFECTURES:
                self.report(
                    part_path,
                    "prefecture",
                    "都道府県名を正しく入力してください（例: 長野県）",
                    "Enter a prefecture name in Japanese (e.g. 長野県)",
                )

    def _name_with_kana(self, value: Any, path: str, *, complete: bool) -> None:
        if not self._is_object(value, path):
            return
        self.refuse_unknown(value, NAME_PARTS, path)
        for part in NAME_PARTS:
            part_path = pointer(path, part)
            text = self._part(value, part, part_path, required=complete)
            if text is None:
                continue
            self._length(text, part_path, None, NAME_PART_MAX_LENGTH)
            if part == "kana" and not re.fullmatch(KATAKANA_PATTERN, text):
                self.report(
                    part_path,
                    "katakana",
                    "フリガナはカタカナで入力してください",
                    "Enter the reading in katakana",
                )

    def _group(self, field: GroupField, value: Any, path: str, *, complete: bool) -> Any:
        """A repeating group: each item is an object of the group's fields, whose
        conditions look at earlier fields of the same item."""
        if not isinstance(value, list):
            self.report(path, "type", "入力欄のリストで送信してください", "Send a list of entries")
            return value
        if complete and len(value) < field.min_items:
            self._too_few_items(path, field.min_items)
        if len(value) > field.max_items:
            self.report(
                path,
                "max_items",
                f"{field.max_items}件まで入力できます",
                f"Add at most {field.max_items} entries",
            )
        items: list[Any] = []
        for index, item in enumerate(value):
            item_path = pointer(path, index)
            if not self._is_object(item, item_path):
                items.append(item)
                continue
            visible: dict[str, bool] = {}
            kept: dict[str, Any] = {}
            for inner in field.fields:
                shown = holds(inner.when, item, visible)
                visible[inner.key] = shown
                checked = self.answer(
                    inner, item, pointer(item_path, inner.key), asked=shown and complete
                )
                if shown and inner.key in item:
                    kept[inner.key] = checked
            self.refuse_unknown(item, visible.keys(), item_path)
            items.append(kept)
        return items

    def _too_few_items(self, path: str, minimum: int) -> None:
        self.report(
            path, "min_items", f"{minimum}件以上入力してください", f"Add at least {minimum} entries"
        )

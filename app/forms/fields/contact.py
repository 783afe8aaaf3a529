"""How to reach the applicant: `email`, `phone_jp` (電話番号), `postal_code_jp` (郵便番号)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.fields.text import FixedPatternField, string_schema
from app.forms.jp import (
    DASHES,
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    PHONE_PATTERN,
    POSTAL_CODE_PATTERN,
)

if TYPE_CHECKING:
    from app.forms.validation import AnswerChecker

_POSTAL_WITH_HYPHEN = re.compile(r"[0-9]{3}-[0-9]{4}")
_EMAIL = re.compile(EMAIL_PATTERN)


@register_field_type
class EmailField(FieldDefinition):
    type: Literal["email"]

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        if len(value) > EMAIL_MAX_LENGTH or not _EMAIL.fullmatch(value):
            checker.report(
                path,
                "email",
                "メールアドレスの形式が正しくありません",
                "Enter a valid email address",
            )

    def value_schema(self) -> Schema:
        return {**string_schema(EMAIL_MAX_LENGTH), "format": "email", "pattern": EMAIL_PATTERN}


@register_field_type
class PhoneJpField(FixedPatternField):
    """A Japanese telephone number: 10 or 11 digits starting with 0, hyphens allowed."""

    type: Literal["phone_jp"]

    value_pattern = PHONE_PATTERN
    mismatch = (
        "phone",
        "電話番号は0から始まる10桁または11桁の数字で入力してください",
        "Enter a phone number of 10 or 11 digits starting with 0",
    )

    def canonical_text(self, text: str) -> str:
        """Dash-like characters (ー, −, ‐ …) become `-`."""
        return DASHES.sub("-", text)


@register_field_type
class PostalCodeJpField(FixedPatternField):
    """郵便番号: 7 digits; "389-0402" is accepted and stored as "3890402"."""

    type: Literal["postal_code_jp"]

    value_pattern = POSTAL_CODE_PATTERN
    mismatch = (
        "postal_code",
        "郵便番号は7桁の数字で入力してください（例: 389-0402）",
        "Enter a 7-digit postal code (e.g. 389-0402)",
    )

    def canonical_text(self, text: str) -> str:
        code = DASHES.sub("-", text).removeprefix("〒").strip()
        return code.replace("-", "") if _POSTAL_WITH_HYPHEN.fullmatch(code) else code

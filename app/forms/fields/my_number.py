"""`my_number`: the 個人番号 (12 digits with its check digit), only under `my_number_use`.

The value is encrypted at rest and masked for staff (`app.submissions.my_number`
finds it through `is_my_number`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from app.forms.fields.base import Schema, register_field_type
from app.forms.fields.text import FixedPatternField
from app.forms.jp import DASHES, MY_NUMBER_PATTERN, is_valid_my_number

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.validation import AnswerChecker

_SPACES_AND_HYPHENS = re.compile(r"[\s-]")


@register_field_type
class MyNumberField(FixedPatternField):
    """個人番号 (12 digits with its check digit). Only under `my_number_use`."""

    type: Literal["my_number"]

    comparable = False
    is_my_number = True
    server_only_rules = ("my_number_check_digit",)
    value_pattern = MY_NUMBER_PATTERN
    mismatch = ("pattern", "個人番号は12桁の数字で入力してください", "Enter the 12-digit My Number")

    def canonical_text(self, text: str) -> str:
        """The card prints the number in groups of four ("1234 5678 9012")."""
        return _SPACES_AND_HYPHENS.sub("", DASHES.sub("-", text))

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        if self.matches(value, checker, path) and not is_valid_my_number(value):
            checker.report(
                path,
                "check_digit",
                "個人番号が正しくありません。入力内容をご確認ください",
                "This is not a valid My Number; please check the digits",
            )

    def value_schema(self) -> Schema:
        # The 12th digit is the check digit of the first 11 (個人番号の検査用数字).
        return {**super().value_schema(), "x-check-digit": "my_number"}

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        if not checker.definition.my_number_use:
            checker.report(
                f"{path}/type",
                "my_number_not_allowed",
                "個人番号の項目は番号利用事務の手続（my_number_use: true）でのみ使えます",
                "A my_number field is only allowed when my_number_use is true",
            )

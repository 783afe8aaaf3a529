"""Options: `select` (a drop-down), `radio` (buttons) and `multiselect` (a list)."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.language import Localized, Option
from app.forms.normalize import normalize_items, normalize_text
from app.forms.validation import pointer

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.validation import AnswerChecker


def _localized(text: Localized) -> dict[str, str | None]:
    return {"ja": text.ja, "en": text.en}


def _sex_options(cls: type, prefill: str | None, info: ValidationInfo) -> str | None:
    values = {option.value for option in info.data.get("options", [])}
    if prefill == "sex" and not {"male", "female"} <= values:
        raise ValueError("prefill: sex needs options 'male' and 'female' (and 'unknown')")
    return prefill


class _Choice(FieldDefinition):
    options: list[Option] = Field(min_length=1)

    @property
    def option_values(self) -> list[str]:
        return [option.value for option in self.options]

    @cached_property
    def option_value_set(self) -> frozenset[str]:
        """The option values, found once per (immutable) field, to check answers with."""
        return frozenset(self.option_values)

    def schema_annotations(self) -> Schema:
        options = [
            {"value": option.value, "label": _localized(option.label)} for option in self.options
        ]
        return {**super().schema_annotations(), "options": options}

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        seen: set[str] = set()
        for index, option in enumerate(self.options):
            value_path = f"{path}/options/{index}/value"
            if option.value in seen:
                checker.duplicate(value_path, option.value)
            seen.add(option.value)
            if unicodedata.normalize("NFKC", option.value).strip() != option.value:
                # Answers are NFKC-normalised before they are matched against options.
                checker.report(
                    value_path,
                    "not_normalized",
                    "選択肢の値は半角英数字など正規化された形（NFKC、前後の空白なし）で書いてください",
                    "Write option values in NFKC-normalised form without surrounding spaces",
                )

    def operand_expectation(self, operand: Any) -> tuple[str, str] | None:
        if operand in self.option_values:
            return None
        return "選択肢の値", "one of the option values"


class _SingleChoice(_Choice):
    prefill: Literal["sex"] | None = None
    _prefill_sex = field_validator("prefill")(_sex_options)

    def single_choice_options(self) -> Sequence[Option]:
        return self.options

    def check_text(self, value: str, checker: AnswerChecker, path: str) -> None:
        if value not in self.option_value_set:
            checker.not_an_option(path)

    def value_schema(self) -> Schema:
        return {"type": "string", "enum": self.option_values}

    def prefilled(self, value: Any, current: Any) -> Any:
        """Only when the form offers the certified value (a form may omit 不明)."""
        return value if value in self.option_values else None


@register_field_type
class SelectField(_SingleChoice):
    type: Literal["select"]


@register_field_type
class RadioField(_SingleChoice):
    type: Literal["radio"]


@register_field_type
class MultiselectField(_Choice):
    type: Literal["multiselect"]
    min_items: int | None = Field(default=None, ge=0)
    max_items: int | None = Field(default=None, ge=1)

    multiple_choice = True

    def normalize(self, value: Any) -> Any:
        """Option values, NFKC-normalised; blanks dropped, repeats removed (first kept)."""
        return normalize_items(value, normalize_text)

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        if not isinstance(value, list):
            checker.report(
                path, "type", "選択肢をリストで送信してください", "Send a list of options"
            )
            return value
        for index, item in enumerate(value):
            if not isinstance(item, str) or item not in self.option_value_set:
                checker.not_an_option(pointer(path, index))
        if self.min_items is not None and len(value) < self.min_items:
            checker.report(
                path,
                "min_items",
                f"{self.min_items}つ以上選んでください",
                f"Choose at least {self.min_items}",
            )
        if self.max_items is not None and len(value) > self.max_items:
            checker.report(
                path,
                "max_items",
                f"{self.max_items}つまで選べます",
                f"Choose at most {self.max_items}",
            )
        return value

    def value_schema(self) -> Schema:
        schema: Schema = {
            "type": "array",
            "items": {"type": "string", "enum": self.option_values},
            "uniqueItems": True,
            "minItems": max(1, self.min_items or 0),
        }
        if self.max_items is not None:
            schema["maxItems"] = self.max_items
        return schema

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        super().check_definition(checker, path)
        checker.range(path, "min_items", self.min_items, "max_items", self.max_items)
        if self.min_items is not None and self.min_items > len(self.options):
            checker.report(
                f"{path}/min_items",
                "min_greater_than_max",
                "min_items が選択肢の数より大きくなっています",
                "min_items is greater than the number of options",
            )

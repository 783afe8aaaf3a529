"""Answer normalisation (正規化): what a citizen typed -> the canonical answer form.

Runs before validation, so the validator and the published JSON Schema both see the
canonical form. Every string is NFKC-normalised (全角数字 -> 半角, 半角カナ -> 全角)
and stripped; an empty answer ("", null, [], {}) counts as not answered and is dropped.
Values of the wrong type are left as they are for the validator to report.
Normalising twice gives the same result as normalising once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jaconv

from app.forms.definition import (
    AddressJpField,
    CheckboxField,
    ConsentField,
    DateField,
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
    TextareaField,
)
from app.forms.jp import DASHES, FULLWIDTH_SPACE

ADDRESS_PARTS = ("prefecture", "city", "town", "rest")
NAME_PARTS = ("name", "kana")

# Bounded so that int()/float() never see huge inputs (and never produce inf).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]{1,18}")
_NUMBER_TEXT = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?")
_SLASHED_DATE = re.compile(r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})")
_POSTAL_WITH_HYPHEN = re.compile(r"[0-9]{3}-[0-9]{4}")
_WHITESPACE = re.compile(r"\s+")


def normalize_answers(definition: ProcedureDefinition, answers: Any) -> Any:
    """The canonical form of a whole answer object; unknown keys are kept for the
    validator to refuse. A non-object is returned unchanged."""
    fields = [field for step in definition.steps for field in step.fields]
    return _normalize_object(fields, answers)


def _normalize_object(fields: Sequence[FormField | ItemField], answers: Any) -> Any:
    if not isinstance(answers, dict):
        return answers
    by_key = {field.key: field for field in fields}
    normalized: dict[str, Any] = {}
    for key, value in answers.items():
        field = by_key.get(key)
        if field is None:
            normalized[key] = value
            continue
        canonical = normalize_value(field, value)
        if canonical is not None:
            normalized[key] = canonical
    return normalized


def normalize_value(field: FormField | ItemField, value: Any) -> Any:
    """The canonical form of one answer, or None when it counts as not answered."""
    if value is None:
        return None
    if isinstance(field, CheckboxField | ConsentField):
        return value
    if isinstance(field, IntegerField):
        return _integer(value)
    if isinstance(field, NumberField):
        return _number(value)
    if isinstance(field, MultiselectField):
        return _choices(value)
    if isinstance(field, AddressJpField):
        return _parts(value, {part: _text for part in ADDRESS_PARTS})
    if isinstance(field, NameWithKanaField):
        return _parts(value, {"name": _name, "kana": _kana})
    if isinstance(field, GroupField):
        if not isinstance(value, list):
            return value
        return [_normalize_object(field.fields, item) for item in value] or None
    text = _text(value)
    if not isinstance(text, str):
        return text
    return _canonical_string(field, text) or None


def _canonical_string(field: FormField | ItemField, text: str) -> str:
    if isinstance(field, TextareaField):
        return text.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(field, PhoneJpField):
        return DASHES.sub("-", text)
    if isinstance(field, PostalCodeJpField):
        code = DASHES.sub("-", text).removeprefix("〒").strip()
        return code.replace("-", "") if _POSTAL_WITH_HYPHEN.fullmatch(code) else code
    if isinstance(field, MyNumberField):
        # The card prints the number in groups of four ("1234 5678 9012").
        return re.sub(r"[\s-]", "", DASHES.sub("-", text))
    if isinstance(field, DateField):
        slashed = _SLASHED_DATE.fullmatch(text)
        if slashed is None:
            return text
        year, month, day = slashed.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return text


def _text(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).strip() or None


def _name(value: Any) -> Any:
    """氏名: NFKC turns the full-width space between family and given name into an
    ASCII one; put back exactly one full-width space, as printed on a 住民票."""
    text = _text(value)
    if not isinstance(text, str):
        return text
    return _WHITESPACE.sub(FULLWIDTH_SPACE, text)


def _kana(value: Any) -> Any:
    """フリガナ: hiragana becomes katakana, spaces become one full-width space."""
    text = _name(value)
    if not isinstance(text, str):
        return text
    return jaconv.hira2kata(text)


def _parts(value: Any, normalizers: Mapping[str, Callable[[Any], Any]]) -> Any:
    if not isinstance(value, dict):
        return value
    parts: dict[str, Any] = {}
    for key, part in value.items():
        normalizer = normalizers.get(key)
        canonical = part if normalizer is None else (None if part is None else normalizer(part))
        if canonical is not None:
            parts[key] = canonical
    return parts or None


def _choices(value: Any) -> Any:
    """Option values, NFKC-normalised; blanks dropped, repeats removed (first kept)."""
    if not isinstance(value, list):
        return value
    chosen: list[Any] = []
    for item in value:
        canonical = _text(item)
        if canonical is not None and (not isinstance(canonical, str) or canonical not in chosen):
            chosen.append(canonical)
    return chosen or None


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = _text(value)
    if isinstance(text, str) and _INTEGER_TEXT.fullmatch(text):
        return int(text)
    return text


def _number(value: Any) -> Any:
    text = _text(value)
    if isinstance(text, str) and _NUMBER_TEXT.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text

"""Who and where: `address_jp` (住所) and `name_with_kana` (氏名とフリガナ), answered as
objects of string parts."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import jaconv

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.fields.text import string_schema
from app.forms.jp import FULLWIDTH_SPACE, KATAKANA_PATTERN, PREFECTURES, split_address
from app.forms.normalize import normalize_parts, normalize_text
from app.forms.validation import pointer

if TYPE_CHECKING:
    from app.forms.validation import AnswerChecker

ADDRESS_PARTS = ("prefecture", "city", "town", "rest")
ADDRESS_PART_MAX_LENGTH = {"city": 100, "town": 100, "rest": 200}
_REQUIRED_ADDRESS_PARTS = ("prefecture", "city")
NAME_PARTS = ("name", "kana")
NAME_PART_MAX_LENGTH = 100
_WHITESPACE = re.compile(r"\s+")
_KATAKANA = re.compile(KATAKANA_PATTERN)
_PART_SEGMENTS = {part: pointer("", part) for part in (*ADDRESS_PARTS, *NAME_PARTS)}


def _parts_object(properties: Schema) -> Schema:
    return {"type": "object", "properties": properties, "additionalProperties": False}


def normalize_name(value: Any) -> Any:
    """氏名: NFKC turns the full-width space between family and given name into an
    ASCII one; put back exactly one full-width space, as printed on a 住民票."""
    text = normalize_text(value)
    if not isinstance(text, str):
        return text
    return _WHITESPACE.sub(FULLWIDTH_SPACE, text)


def normalize_kana(value: Any) -> Any:
    """フリガナ: hiragana becomes katakana, spaces become one full-width space."""
    text = normalize_name(value)
    if not isinstance(text, str):
        return text
    return jaconv.hira2kata(text)


class _Parts(FieldDefinition):
    """An answer made of named text parts; no other keys are taken."""

    comparable = False
    parts: ClassVar[tuple[str, ...]]
    required_parts: ClassVar[tuple[str, ...]]
    """The parts a complete answer must have."""
    part_normalizers: ClassVar[Mapping[str, Callable[[Any], Any]]]
    """How each part is normalised."""

    def normalize(self, value: Any) -> Any:
        return normalize_parts(value, self.part_normalizers)

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        if checker.is_object(value, path):
            checker.refuse_unknown(value, self.parts, path)
            for part in self.parts:
                part_path = path + _PART_SEGMENTS[part]
                required = complete and part in self.required_parts
                text = checker.part(value, part, part_path, required=required)
                if text is not None:
                    self.check_part(part, text, checker, part_path)
        return value

    def check_part(self, part: str, text: str, checker: AnswerChecker, path: str) -> None:
        raise NotImplementedError

    def completeness_schema(self) -> Schema:
        return {"required": list(self.required_parts)}


@register_field_type
class AddressJpField(_Parts):
    """住所: 都道府県, 市区町村, 町域, and the rest (番地・建物名)."""

    type: Literal["address_jp"]
    prefill: Literal["address"] | None = None

    parts = ADDRESS_PARTS
    required_parts = _REQUIRED_ADDRESS_PARTS
    part_normalizers = MappingProxyType(dict.fromkeys(ADDRESS_PARTS, normalize_text))

    def check_part(self, part: str, text: str, checker: AnswerChecker, path: str) -> None:
        if part != "prefecture":
            checker.length(text, path, None, ADDRESS_PART_MAX_LENGTH[part])
        elif text not in PREFECTURES:
            checker.report(
                path,
                "prefecture",
                "都道府県名を正しく入力してください（例: 長野県）",
                "Enter a prefecture name in Japanese (e.g. 長野県)",
            )

    def value_schema(self) -> Schema:
        return _parts_object(
            {
                "prefecture": {"type": "string", "enum": list(PREFECTURES), "title": "都道府県"},
                "city": {**string_schema(ADDRESS_PART_MAX_LENGTH["city"]), "title": "市区町村"},
                "town": {**string_schema(ADDRESS_PART_MAX_LENGTH["town"]), "title": "町域"},
                "rest": {
                    **string_schema(ADDRESS_PART_MAX_LENGTH["rest"]),
                    "title": "番地・建物名",
                },
            }
        )

    def prefilled(self, value: Any, current: Any) -> Any:
        """The certified 住所 split into 都道府県, 市区町村 and the rest (番地 etc.), each
        as the card writes it; None when it cannot be split with certainty. The
        postcode is not on the card and 町域 is not told apart from the 番地."""
        parts = split_address(value) if isinstance(value, str) else None
        if parts is None:
            return None
        prefecture, city, rest = parts
        if (
            len(city) > ADDRESS_PART_MAX_LENGTH["city"]
            or len(rest) > ADDRESS_PART_MAX_LENGTH["rest"]
        ):
            return None
        return {"prefecture": prefecture, "city": city, **({"rest": rest} if rest else {})}


@register_field_type
class NameWithKanaField(_Parts):
    """氏名 and フリガナ; the フリガナ is katakana only (hiragana is converted)."""

    type: Literal["name_with_kana"]
    prefill: Literal["name"] | None = None
    """Fills the 氏名 part; the card has no フリガナ, so the citizen adds it."""

    parts = NAME_PARTS
    required_parts = NAME_PARTS
    part_normalizers = MappingProxyType({"name": normalize_name, "kana": normalize_kana})

    def check_part(self, part: str, text: str, checker: AnswerChecker, path: str) -> None:
        checker.length(text, path, None, NAME_PART_MAX_LENGTH)
        if part == "kana" and not _KATAKANA.fullmatch(text):
            checker.report(
                path,
                "katakana",
                "フリガナはカタカナで入力してください",
                "Enter the reading in katakana",
            )

    def value_schema(self) -> Schema:
        return _parts_object(
            {
                "name": {**string_schema(NAME_PART_MAX_LENGTH), "title": "氏名"},
                "kana": {
                    **string_schema(NAME_PART_MAX_LENGTH),
                    "pattern": KATAKANA_PATTERN,
                    "title": "フリガナ",
                },
            }
        )

    def prefilled(self, value: Any, current: Any) -> Any:
        """The certified 氏名, keeping the フリガナ the citizen already typed."""
        kana = current.get("kana") if isinstance(current, dict) else None
        return {"name": value, **({"kana": kana} if kana else {})}

    def prefill_fact_of(self, answer: Any) -> Any:
        """The 氏名 part; the フリガナ is the citizen's own."""
        return answer.get("name") if isinstance(answer, dict) else None

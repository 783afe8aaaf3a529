"""Answer normalisation (正規化): what a citizen typed -> the canonical answer form.

Runs before validation, so the validator and the published JSON Schema both see the
canonical form. Every string loses its format characters (zero-width, bidi overrides:
a name cannot display reversed to staff) and fillers, is NFKC-normalised (全角数字 ->
半角, 半角カナ -> 全角) and stripped; an empty answer ("", null, [], {}) counts as not
answered and is dropped.
Values of the wrong type are left as they are for the validator to report.
Normalising twice gives the same result as normalising once.

The walk lives here; each field type's `normalize` knows its own canonical form and
builds it from the helpers below.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from app.text import without_invisible

if TYPE_CHECKING:
    from app.forms.definition import ProcedureDefinition
    from app.forms.fields.base import FieldDefinition


def normalize_answers(definition: ProcedureDefinition, answers: Any) -> Any:
    """The canonical form of a whole answer object; unknown keys are kept for the
    validator to refuse. A non-object is returned unchanged."""
    return normalize_object(definition.fields_by_key, answers)


def normalize_object(fields_by_key: Mapping[str, FieldDefinition], answers: Any) -> Any:
    """The canonical form of an object of fields (the answers, or one group item)."""
    if not isinstance(answers, dict):
        return answers
    normalized: dict[str, Any] = {}
    for key, value in answers.items():
        field = fields_by_key.get(key)
        if field is None:
            normalized[key] = value
            continue
        canonical = normalize_value(field, value)
        if canonical is not None:
            normalized[key] = canonical
    return normalized


def normalize_value(field: FieldDefinition, value: Any) -> Any:
    """The canonical form of one answer, or None when it counts as not answered."""
    if value is None:
        return None
    return field.normalize(value)


def normalize_text(value: Any) -> Any:
    """Format characters (zero-width, bidi overrides) and fillers removed, NFKC and
    stripped; None when nothing is left, so an answer of only invisible characters is
    not an answer. A non-string is returned as is."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", without_invisible(value)).strip() or None


def normalize_items(value: Any, normalize_item: Callable[[Any], Any]) -> Any:
    """A list answer (options, attachment ids) item by item: blanks dropped, a repeated
    text removed (the first kept); an item of the wrong type stays where it is for the
    validator to report; an empty list is unanswered."""
    if not isinstance(value, list):
        return value
    items: list[Any] = []
    for item in value:
        canonical = normalize_item(item)
        if canonical is not None and (not isinstance(canonical, str) or canonical not in items):
            items.append(canonical)
    return items or None


def normalize_parts(value: Any, normalizers: Mapping[str, Callable[[Any], Any]]) -> Any:
    """An object answer (address, name) part by part; unknown parts are kept as they are
    for the validator to refuse, empty parts dropped, an empty object is unanswered."""
    if not isinstance(value, dict):
        return value
    parts: dict[str, Any] = {}
    for key, part in value.items():
        normalizer = normalizers.get(key)
        canonical = part if normalizer is None else (None if part is None else normalizer(part))
        if canonical is not None:
            parts[key] = canonical
    return parts or None

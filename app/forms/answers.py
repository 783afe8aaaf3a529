"""Walking stored answers field by field, wherever a field sits (top level or inside
each item of a repeating group), for the modules that act on answers of one kind of
field: the 個人番号 (encrypted at rest) and attachments (checked against uploads)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from app.forms.definition import FieldDefinition, ProcedureDefinition
from app.forms.validation import pointer


@dataclass(frozen=True)
class AnswerSlot:
    """Where one answer is: its JSON Pointer, the object holding it and its key there."""

    pointer: str
    container: dict[str, Any]
    key: str
    field: FieldDefinition

    @property
    def value(self) -> Any:
        return self.container[self.key]


def answer_slots(
    definition: ProcedureDefinition,
    answers: Mapping[str, Any],
    wanted: Callable[[FieldDefinition], bool],
) -> Iterator[AnswerSlot]:
    """Every answer given to a `wanted` field, in document order; a group's own answer
    (its list) comes before the answers inside its items. `answers` must be a dict to
    write through `container`."""
    container: Any = answers
    for key, field in definition.fields_by_key.items():
        if key not in answers:
            continue
        if wanted(field):
            yield AnswerSlot(field.pointer_segment, container, key, field)
        inner_fields = [inner for inner in field.item_fields if wanted(inner)]
        items = answers[key]
        if not inner_fields or not isinstance(items, list):
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue
            item_path = pointer(field.pointer_segment, index)
            for inner in inner_fields:
                if inner.key in item:
                    yield AnswerSlot(item_path + inner.pointer_segment, item, inner.key, inner)

"""Walking stored answers field by field, wherever a field sits (top level or inside
each item of a repeating group), for the modules that act on answers of one kind of
field: the 個人番号 (encrypted at rest) and attachments (checked against uploads)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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
    definition: ProcedureDefinition, answers: Mapping[str, Any]
) -> Iterator[AnswerSlot]:
    """Every answer given, in document order; a group's own answer (its list) comes
    before the answers inside its items. `answers` must be a dict to write through
    `container`."""
    container: Any = answers
    for step in definition.steps:
        for field in step.fields:
            if field.key not in answers:
                continue
            path = pointer("", field.key)
            yield AnswerSlot(path, container, field.key, field)
            items = answers[field.key]
            if not field.item_fields or not isinstance(items, list):
                continue
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                item_path = pointer(path, index)
                for inner in field.item_fields:
                    if inner.key in item:
                        yield AnswerSlot(pointer(item_path, inner.key), item, inner.key, inner)

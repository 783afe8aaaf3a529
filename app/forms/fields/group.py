"""`group`: a repeating group (繰り返し), e.g. the children (児童) of a 児童手当 claim.

The answer is a list of objects of the group's inner fields; an inner field's condition
looks at earlier fields of the same item.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from app.forms.fields.base import FieldDefinition, Schema, register_field_type
from app.forms.language import Localized
from app.forms.normalize import normalize_object
from app.forms.validation import pointer

if TYPE_CHECKING:
    from app.forms.definition_check import DefinitionChecker
    from app.forms.json_schema import SchemaBuilder
    from app.forms.validation import AnswerChecker

    ItemField = FieldDefinition
    """Statically any field; at run time the union of the types allowed in a group."""

DEFAULT_GROUP_MAX_ITEMS = 20
HARD_GROUP_MAX_ITEMS = 100


@register_field_type
class GroupField(FieldDefinition):
    """A repeating group, e.g. the children (児童) of a 児童手当 claim."""

    type: Literal["group"]
    fields: list[ItemField] = Field(min_length=1)
    min_items: int = Field(default=0, ge=0)
    max_items: int = Field(default=DEFAULT_GROUP_MAX_ITEMS, ge=1, le=HARD_GROUP_MAX_ITEMS)
    item_label: Localized | None = None

    comparable = False
    allowed_in_group = False
    quantity = "item_count"

    @property
    def needed(self) -> bool:
        return self.required or self.min_items > 0

    @property
    def item_fields(self) -> Sequence[FieldDefinition]:
        return self.fields

    @cached_property
    def fields_by_key(self) -> dict[str, FieldDefinition]:
        """The inner fields by key, found once per (immutable) group."""
        return {field.key: field for field in self.fields}

    def normalize(self, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [normalize_object(self.fields_by_key, item) for item in value] or None

    def report_missing(self, checker: AnswerChecker, path: str) -> None:
        if self.required:
            checker.required(path)
        elif self.min_items > 0:
            checker.too_few_items(path, self.min_items)

    def check(self, value: Any, checker: AnswerChecker, path: str, *, complete: bool) -> Any:
        """Each item is an object of the group's fields; hidden inner answers are dropped."""
        if not isinstance(value, list):
            checker.report(
                path, "type", "入力欄のリストで送信してください", "Send a list of entries"
            )
            return value
        if complete and len(value) < self.min_items:
            checker.too_few_items(path, self.min_items)
        if len(value) > self.max_items:
            checker.too_many_items(path, self.max_items)
        items: list[Any] = []
        for index, item in enumerate(value):
            item_path = pointer(path, index)
            if not checker.is_object(item, item_path):
                items.append(item)
                continue
            visible: dict[str, bool] = {}
            kept: dict[str, Any] = {}
            for inner in self.fields:
                shown = inner.when_holds(item, visible)
                visible[inner.key] = shown
                checked = checker.answer(
                    inner, item, item_path + inner.pointer_segment, asked=shown and complete
                )
                if shown and inner.key in item:
                    kept[inner.key] = checked
            checker.refuse_unknown(item, visible.keys(), item_path)
            items.append(kept)
        return items

    def json_schema(self, builder: SchemaBuilder, prefix: str) -> tuple[Schema, Schema]:
        item_value, item_completeness = builder.object_schema(
            [(inner, None) for inner in self.fields], f"{prefix}{self.key}."
        )
        value = {"type": "array", "items": item_value, "minItems": 1, "maxItems": self.max_items}
        completeness: Schema = {}
        # Canonical answers never hold an empty list, so minItems 1 is already in `value`.
        if self.min_items > 1:
            completeness["minItems"] = self.min_items
        if item_completeness:
            completeness["items"] = item_completeness
        return value, completeness

    def schema_annotations(self) -> Schema:
        if self.item_label is None:
            return {}
        return {"item_label": {"ja": self.item_label.ja, "en": self.item_label.en}}

    def check_definition(self, checker: DefinitionChecker, path: str) -> None:
        checker.range(path, "min_items", self.min_items, "max_items", self.max_items)
        checker.group_fields(self, path)

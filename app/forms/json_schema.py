"""JSON Schema 2020-12 of a procedure's canonical answers, for form renderers.

The schema accepts exactly the canonical answer objects the server's validator accepts
(`partial=False`), except for the rules JSON Schema cannot express, listed in
`SERVER_ONLY_RULES` and in the schema's `x-madoguchi.server_only_rules`:
the 個人番号 check digit, that a date is a real calendar date, and a date field's
minimum/maximum (published as the non-standard `formatMinimum`/`formatMaximum`).

Conditions become `$defs` named `visible.<field>` (`visible.<group>.<field>` inside a
repeating group; `step.<step>` for a step) and `allOf: [{if, then}]` blocks that
require the field when it is shown. A comparison on a field also requires that field
to be visible, as the server does. Everything a renderer needs beyond JSON Schema
(field type, step, English labels, option labels, the raw conditions) is under
`x-madoguchi`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.forms.definition import (
    AllOf,
    AnyOf,
    Condition,
    FieldDefinition,
    Localized,
    Not,
    ProcedureDefinition,
    Step,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"

SERVER_ONLY_RULES: list[dict[str, Any]] = [
    {
        "rule": "my_number_check_digit",
        "field_types": ["my_number"],
        "ja": "個人番号の検査用数字（12桁目）",
        "en": "The My Number check digit (12th digit)",
    },
    {
        "rule": "calendar_date",
        "field_types": ["date"],
        "ja": "実在する日付であること（例: 2月30日は不可）",
        "en": "The date exists in the calendar (e.g. no 30 February)",
    },
    {
        "rule": "date_range",
        "field_types": ["date"],
        "ja": "日付の範囲（formatMinimum / formatMaximum）",
        "en": "The date range (formatMinimum / formatMaximum)",
    },
]

_Entry = tuple[FieldDefinition, Step | None]
_Parts = tuple[dict[str, Any], dict[str, Any]]
"""(value schema, completeness schema) of an object of fields; see `_object`."""

_NUMERIC_KEYWORDS = {
    "greater_than": "exclusiveMinimum",
    "greater_or_equal": "minimum",
    "less_than": "exclusiveMaximum",
    "less_or_equal": "maximum",
}


def build_json_schema(
    definition: ProcedureDefinition, today: dt.date | None = None
) -> dict[str, Any]:
    """The schema; `today` (the serving day in Japan) resolves relative date bounds."""
    return SchemaBuilder(definition, today).build()


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A value schema and the completeness schema of an always-shown field, as one:
    `properties` and `items` merge, the larger `minItems` wins."""
    merged = dict(base)
    for keyword, value in extra.items():
        if keyword not in merged:
            merged[keyword] = value
        elif keyword == "properties":
            properties = dict(merged[keyword])
            for key, schema in value.items():
                properties[key] = _merge(properties.get(key, {}), schema)
            merged[keyword] = properties
        elif keyword == "items":
            merged[keyword] = _merge(merged[keyword], value)
        elif keyword == "minItems":
            merged[keyword] = max(merged[keyword], value)
        else:
            raise ValueError(f"both schemas set {keyword!r}")  # a bug in this module
    return merged


def _localized(text: Localized) -> dict[str, str | None]:
    return {"ja": text.ja, "en": text.en}


def _json_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _condition_dump(condition: Condition) -> dict[str, Any]:
    return condition.model_dump(by_alias=True, exclude_none=True)


class SchemaBuilder:
    """Builds one definition's schema; field types build theirs through it."""

    def __init__(self, definition: ProcedureDefinition, today: dt.date | None = None) -> None:
        self.definition = definition
        self.today = today
        self.defs: dict[str, dict[str, Any]] = {}

    def build(self) -> dict[str, Any]:
        definition = self.definition
        entries: list[_Entry] = [(f, step) for step in definition.steps for f in step.fields]
        value, completeness = self.object_schema(entries, prefix="")
        schema: dict[str, Any] = {"$schema": DIALECT, "title": definition.title.ja}
        if definition.description is not None:
            schema["description"] = definition.description.ja
        schema.update(_merge(value, completeness))
        if self.defs:
            schema["$defs"] = self.defs
        schema["x-madoguchi"] = {
            "procedure": definition.code,
            "title": _localized(definition.title),
            "steps": [self._step_annotation(step) for step in definition.steps],
            "server_only_rules": SERVER_ONLY_RULES,
        }
        if self.today is not None:
            # Relative date bounds were resolved for this day (JST).
            schema["x-madoguchi"]["bounds_as_of"] = self.today.isoformat()
        return schema

    def _step_annotation(self, step: Step) -> dict[str, Any]:
        annotation: dict[str, Any] = {
            "key": step.key,
            "title": _localized(step.title),
            "fields": [field.key for field in step.fields],
        }
        if step.description is not None:
            annotation["description"] = _localized(step.description)
        if step.when is not None:
            annotation["when"] = _condition_dump(step.when)
        return annotation

    # --- objects: the answer object and each group item --------------------------------

    def object_schema(self, entries: Sequence[_Entry], prefix: str) -> _Parts:
        """(value schema, completeness schema) of an object of fields.

        The value schema holds what every answer sent must satisfy, shown or not; the
        completeness schema what a shown field must also satisfy (required, consent
        given, group items complete). Fields are visited in document order so the
        visibility of every field a condition refers to is already in `$defs`.
        """
        properties: dict[str, Any] = {}
        required: list[str] = []
        complete_properties: dict[str, Any] = {}
        conditional: list[dict[str, Any]] = []
        for field, step in entries:
            visibility = self._register_visibility(field, step, prefix)
            type_schema, completeness = field.json_schema(self, prefix)
            properties[field.key] = self._annotated(field, step, type_schema)
            needed = field.needed
            if visibility is None:
                if needed:
                    required.append(field.key)
                if completeness:
                    complete_properties[field.key] = completeness
                continue
            then: dict[str, Any] = {}
            if needed:
                then["required"] = [field.key]
            if completeness:
                then["properties"] = {field.key: completeness}
            if then:
                conditional.append({"if": visibility, "then": then})
        value = {"type": "object", "properties": properties, "additionalProperties": False}
        completeness_schema: dict[str, Any] = {}
        if required:
            completeness_schema["required"] = required
        if complete_properties:
            completeness_schema["properties"] = complete_properties
        if conditional:
            completeness_schema["allOf"] = conditional
        return value, completeness_schema

    def _register_visibility(
        self, field: FieldDefinition, step: Step | None, prefix: str
    ) -> dict[str, Any] | None:
        """A `$ref` to the field's visibility in `$defs`, or None when always shown."""
        parts: list[dict[str, Any]] = []
        if step is not None and step.when is not None:
            step_name = f"step.{step.key}"
            if step_name not in self.defs:
                self.defs[step_name] = self._condition(step.when, prefix)
            parts.append(self._ref(step_name))
        if field.when is not None:
            parts.append(self._condition(field.when, prefix))
        if not parts:
            return None
        name = f"visible.{prefix}{field.key}"
        self.defs[name] = parts[0] if len(parts) == 1 else {"allOf": parts}
        return self._ref(name)

    @staticmethod
    def _ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/$defs/{name}"}

    def _condition(self, condition: Condition, prefix: str) -> dict[str, Any]:
        if isinstance(condition, AllOf):
            return {"allOf": [self._condition(part, prefix) for part in condition.all]}
        if isinstance(condition, AnyOf):
            return {"anyOf": [self._condition(part, prefix) for part in condition.any]}
        if isinstance(condition, Not):
            return {"not": self._condition(condition.not_, prefix)}
        operator, operand = condition.operator, condition.operand
        if operator == "not_equals":
            return {"not": self._comparison(condition.field, "equals", operand, prefix)}
        return self._comparison(condition.field, operator, operand, prefix)

    def _comparison(self, key: str, operator: str, operand: Any, prefix: str) -> dict[str, Any]:
        test: dict[str, Any]
        if operator == "equals":
            test = {"const": operand}
        elif operator == "in_":
            test = {"enum": list(operand)}
        elif operator == "contains":
            test = {"contains": {"const": operand}}
        else:
            test = {_NUMERIC_KEYWORDS[operator]: _json_number(operand)}
        schema: dict[str, Any] = {"required": [key], "properties": {key: test}}
        visibility = f"visible.{prefix}{key}"
        if visibility in self.defs:
            schema = {**self._ref(visibility), **schema}
        return schema

    # --- fields --------------------------------------------------------------------------

    @staticmethod
    def _annotated(
        field: FieldDefinition, step: Step | None, type_schema: dict[str, Any]
    ) -> dict[str, Any]:
        schema: dict[str, Any] = {"title": field.label.ja}
        if field.help is not None:
            schema["description"] = field.help.ja
        schema.update(type_schema)
        annotation: dict[str, Any] = {"type": field.type, "label": _localized(field.label)}
        if step is not None:
            annotation["step"] = step.key
        if field.help is not None:
            annotation["help"] = _localized(field.help)
        if field.when is not None:
            annotation["when"] = _condition_dump(field.when)
        # ワンスオンリー: several field types may be filled from the My Number card.
        prefill = getattr(field, "prefill", None)
        if prefill is not None:
            annotation["prefill"] = prefill
        annotation.update(field.schema_annotations())
        schema["x-madoguchi"] = annotation
        return schema

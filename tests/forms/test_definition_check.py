"""The definition checker: every problem of an authored definition, each at its path."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.forms import compiler
from app.forms.compiler import (
    DefinitionInvalid,
    check_definition,
    compile_definition,
    compiled_form_for,
)
from app.forms.definition import ProcedureDefinition


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(value)} for value in values]


def field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": label(key), **extra}


def definition() -> dict[str, Any]:
    """A valid definition touching every kind of node; each test breaks one thing."""
    return copy.deepcopy(
        {
            "code": "test-form",
            "title": label("テスト手続"),
            "department": label("市民課"),
            "fee_rules": [
                {
                    "kind": "per_unit",
                    "key": "copy_fee",
                    "label": label("交付手数料"),
                    "unit_price": 300,
                    "quantity_field": "copies",
                },
                {
                    "kind": "per_option",
                    "key": "certificate_fee",
                    "label": label("証明手数料"),
                    "option_field": "requests.certificate",
                    "prices": {"koseki": 450},
                    "quantity_field": "count",
                },
                {
                    "kind": "exemption",
                    "key": "welfare",
                    "label": label("減免"),
                    "when": {"field": "welfare", "equals": True},
                    "applies_to": ["copy_fee"],
                },
            ],
            "steps": [
                {
                    "key": "request",
                    "title": label("請求"),
                    "fields": [
                        field("copies", "integer", required=True, minimum=1, maximum=10),
                        field("requester", "radio", options=options("self", "agent")),
                        field(
                            "agent_name",
                            "text",
                            required=True,
                            when={"field": "requester", "equals": "agent"},
                        ),
                        field("welfare", "checkbox"),
                    ],
                },
                {
                    "key": "details",
                    "title": label("詳細"),
                    "when": {"field": "copies", "greater_than": 0},
                    "fields": [
                        field(
                            "requests",
                            "group",
                            fields=[
                                field("certificate", "select", options=options("koseki", "joseki")),
                                field("count", "integer", minimum=1),
                                field(
                                    "purpose",
                                    "text",
                                    when={"field": "certificate", "equals": "joseki"},
                                ),
                            ],
                        ),
                        field("documents", "multiselect", options=options("a", "b")),
                    ],
                },
            ],
        }
    )


def problems(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    return [(error.path, error.code) for error in raised.value.errors]


def fields_of(data: dict[str, Any], step: int = 0) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = data["steps"][step]["fields"]
    return fields


def test_a_valid_definition_is_returned_parsed() -> None:
    parsed = check_definition(definition())
    assert isinstance(parsed, ProcedureDefinition)
    assert parsed.steps[1].fields[0].key == "requests"


def test_the_error_is_a_422_problem_listing_every_error() -> None:
    data = definition()
    fields_of(data)[0]["type"] = "integr"
    fields_of(data)[1]["labl"] = "x"
    del fields_of(data)[3]["label"]
    with pytest.raises(DefinitionInvalid) as raised:
        check_definition(data)
    error = raised.value
    assert (error.status, error.code) == (422, "DEFINITION_INVALID")
    assert [(e.path, e.code) for e in error.errors] == [
        ("/steps/0/fields/0/type", "unknown_field_type"),
        ("/steps/0/fields/1/labl", "extra_forbidden"),
        ("/steps/0/fields/3/label", "missing"),
    ]
    assert "integr" in error.errors[0].message_ja
    assert error.errors[2].message_ja == "必須のキーがありません"


# --- shape errors: pydantic locations become pointers into the authored document -------


def test_shape_errors_inside_conditions_point_at_the_condition_node() -> None:
    data = definition()
    fields_of(data)[2]["when"] = {
        "all": [{"field": "requester", "equal": "agent"}, {"not": {"field": "x"}}]
    }
    assert problems(data) == [
        ("/steps/0/fields/2/when/all/0/equal", "extra_forbidden"),
        ("/steps/0/fields/2/when/all/1/not", "value_error"),
    ]


def test_shape_errors_in_fee_rules_and_nested_groups() -> None:
    data = definition()
    data["fee_rules"][0]["kind"] = "per_copy"
    data["fee_rules"][1]["prices"] = {"koseki": -1}
    fields_of(data, 1)[0]["fields"].append(field("inner", "group", fields=[]))
    fields_of(data)[2]["pattern"] = "([a-z]"
    fields_of(data)[0]["key"] = "Copies"
    assert problems(data) == [
        ("/fee_rules/0/kind", "unknown_fee_kind"),
        ("/fee_rules/1/prices", "value_error"),
        ("/steps/0/fields/0/key", "string_pattern_mismatch"),
        ("/steps/0/fields/2/pattern", "value_error"),
        ("/steps/1/fields/0/fields/3/type", "unknown_field_type"),
    ]


def test_a_field_without_a_type_or_a_rule_without_a_kind() -> None:
    data = definition()
    del fields_of(data)[1]["type"]
    del data["fee_rules"][0]["kind"]
    assert problems(data) == [
        ("/fee_rules/0/kind", "missing"),
        ("/steps/0/fields/1/type", "missing"),
    ]


def test_my_number_use_needs_its_legal_basis() -> None:
    data = definition() | {"my_number_use": True}
    assert problems(data) == [("/my_number_legal_basis", "value_error")]


def test_a_definition_that_is_not_an_object() -> None:
    assert problems(["not", "a", "definition"]) == [("", "model_type")]


# --- keys -------------------------------------------------------------------------------


def test_duplicate_keys() -> None:
    data = definition()
    fields_of(data, 1).append(field("copies", "text"))
    fields_of(data, 1)[0]["fields"].append(field("count", "text"))
    data["steps"][1]["key"] = "request"
    data["fee_rules"][2]["key"] = "copy_fee"
    assert problems(data) == [
        ("/steps/1/key", "duplicate_key"),
        ("/steps/1/fields/0/fields/3/key", "duplicate_key"),
        ("/steps/1/fields/2/key", "duplicate_key"),
        ("/fee_rules/2/key", "duplicate_key"),
    ]


def test_option_values_must_be_unique_and_in_canonical_form() -> None:
    data = definition()
    fields_of(data)[1]["options"] = options("self", "self", "ａｇｅｎｔ", " x")
    assert problems(data) == [
        ("/steps/0/fields/1/options/1/value", "duplicate_key"),
        ("/steps/0/fields/1/options/2/value", "not_normalized"),
        ("/steps/0/fields/1/options/3/value", "not_normalized"),
        # "agent" is no longer an option of the radio the condition compares.
        ("/steps/0/fields/2/when/equals", "value_mismatch"),
    ]


# --- conditions -------------------------------------------------------------------------


def test_conditions_refer_to_existing_earlier_fields() -> None:
    data = definition()
    fields_of(data)[0]["when"] = {"field": "copies", "greater_than": 0}
    fields_of(data)[1]["when"] = {"field": "welfare", "equals": True}
    fields_of(data)[3]["when"] = {"field": "no_such_field", "equals": "x"}
    data["steps"][0]["when"] = {"field": "requester", "equals": "self"}
    assert problems(data) == [
        ("/steps/0/when/field", "forward_reference"),
        ("/steps/0/fields/0/when/field", "forward_reference"),
        ("/steps/0/fields/1/when/field", "forward_reference"),
        ("/steps/0/fields/3/when/field", "unknown_reference"),
    ]


def test_conditions_in_a_group_refer_to_earlier_fields_of_the_same_item() -> None:
    data = definition()
    inner = fields_of(data, 1)[0]["fields"]
    inner[0]["when"] = {"field": "count", "greater_than": 1}
    inner[2]["when"] = {"field": "copies", "greater_than": 1}
    errors = problems(data)
    assert errors == [
        ("/steps/1/fields/0/fields/0/when/field", "forward_reference"),
        ("/steps/1/fields/0/fields/2/when/field", "unknown_reference"),
    ]


def test_prefill_when_needs_prefill_and_refers_to_earlier_fields() -> None:
    data = definition()
    # agent_name is the agent's own 氏名 only when an agent applies: valid.
    fields_of(data)[2].update(
        prefill="name", prefill_when={"field": "requester", "equals": "agent"}
    )
    check_definition(data)
    fields_of(data)[2]["prefill_when"] = {"field": "welfare", "equals": True}
    fields_of(data)[3]["prefill_when"] = {"field": "requester", "equals": "self"}
    fields_of(data, 1)[0]["fields"][2].update(
        prefill="name", prefill_when={"field": "certificate", "equals": "joseki"}
    )
    assert problems(data) == [
        ("/steps/0/fields/2/prefill_when/field", "forward_reference"),
        ("/steps/0/fields/3/prefill_when", "prefill_when_without_prefill"),
        ("/steps/1/fields/0/fields/2/prefill_when", "prefill_in_group"),
    ]


def test_operators_must_fit_the_field_type() -> None:
    data = definition()
    fields_of(data)[2]["when"] = {
        "any": [
            {"field": "requester", "greater_than": 1},
            {"field": "requester", "equals": "lawyer"},
            {"field": "requester", "contains": "self"},
            {"field": "copies", "in": [1, "two", True]},
            {"field": "copies", "equals": True},
        ]
    }
    fields_of(data, 1)[1]["when"] = {
        "all": [
            {"field": "requests", "equals": "x"},
            {"field": "copies", "equals": 1.5},
        ]
    }
    fields_of(data, 1).append(field("note", "text", when={"field": "documents", "equals": "a"}))
    fields_of(data, 1).append(field("note2", "text", when={"field": "documents", "contains": "c"}))
    path = "/steps/0/fields/2/when/any"
    assert problems(data) == [
        (f"{path}/0/greater_than", "operator_mismatch"),
        (f"{path}/1/equals", "value_mismatch"),
        (f"{path}/2/contains", "operator_mismatch"),
        (f"{path}/3/in/1", "value_mismatch"),
        (f"{path}/3/in/2", "value_mismatch"),
        (f"{path}/4/equals", "value_mismatch"),
        ("/steps/1/fields/1/when/all/0/equals", "operator_mismatch"),
        ("/steps/1/fields/1/when/all/1/equals", "value_mismatch"),
        ("/steps/1/fields/2/when/equals", "operator_mismatch"),
        ("/steps/1/fields/3/when/contains", "value_mismatch"),
    ]


def test_compared_strings_must_be_in_canonical_form() -> None:
    data = definition()
    fields_of(data).insert(0, field("postal", "postal_code_jp"))
    fields_of(data).append(field("x", "text", when={"field": "postal", "equals": "389-0402"}))
    assert problems(data) == [("/steps/0/fields/5/when/equals", "value_mismatch")]


# --- fields -------------------------------------------------------------------------------


def test_my_number_only_under_my_number_use() -> None:
    data = definition()
    fields_of(data).append(field("my_number", "my_number"))
    assert problems(data) == [("/steps/0/fields/4/type", "my_number_not_allowed")]
    data |= {"my_number_use": True, "my_number_legal_basis": "番号法別表第一"}
    assert check_definition(data).my_number_use


def test_minimum_above_maximum_anywhere() -> None:
    data = definition()
    fields_of(data)[0]["minimum"] = 11
    fields_of(data)[2] |= {"min_length": 10, "max_length": 5}
    fields_of(data, 1)[0] |= {"min_items": 3, "max_items": 2}
    fields_of(data, 1)[1] |= {"min_items": 3}
    fields_of(data).append(field("day", "date", minimum="2025-04-01", maximum="2025-03-31"))
    fields_of(data).append(field("day2", "date", minimum="2025-02-30"))
    assert problems(data) == [
        ("/steps/0/fields/0/minimum", "min_greater_than_max"),
        ("/steps/0/fields/2/min_length", "min_greater_than_max"),
        ("/steps/0/fields/4/minimum", "min_greater_than_max"),
        ("/steps/0/fields/5/minimum", "date"),
        ("/steps/1/fields/0/min_items", "min_greater_than_max"),
        ("/steps/1/fields/1/min_items", "min_greater_than_max"),
    ]


# --- fee rules ----------------------------------------------------------------------------


def test_per_unit_quantity_must_be_a_non_negative_integer_or_a_group() -> None:
    data = definition()
    data["fee_rules"][0]["quantity_field"] = "requester"
    assert problems(data) == [("/fee_rules/0/quantity_field", "field_type")]
    data["fee_rules"][0]["quantity_field"] = "nothing"
    assert problems(data) == [("/fee_rules/0/quantity_field", "unknown_reference")]
    data["fee_rules"][0]["quantity_field"] = "requests.certificate"
    assert problems(data) == [("/fee_rules/0/quantity_field", "field_type")]
    del fields_of(data)[0]["minimum"]
    data["fee_rules"][0]["quantity_field"] = "copies"
    assert problems(data) == [("/fee_rules/0/quantity_field", "quantity_minimum")]
    for quantity in ("requests", "requests.count"):
        data["fee_rules"][0]["quantity_field"] = quantity
        check_definition(data)


def test_per_option_needs_a_choice_field_and_known_options() -> None:
    data = definition()
    data["fee_rules"][1] |= {"prices": {"koseki": 450, "shohon": 300}, "quantity_field": "copies"}
    assert problems(data) == [
        ("/fee_rules/1/prices/shohon", "unknown_option"),
        ("/fee_rules/1/quantity_field", "unknown_reference"),
    ]
    data["fee_rules"][1] |= {"option_field": "requests.count", "prices": {"1": 1}}
    data["fee_rules"][1].pop("quantity_field")
    assert problems(data) == [("/fee_rules/1/option_field", "field_type")]


def test_exemptions_apply_to_existing_charges() -> None:
    data = definition()
    data["fee_rules"][2]["applies_to"] = ["copy_fee", "postage", "welfare"]
    assert problems(data) == [
        ("/fee_rules/2/applies_to/1", "unknown_reference"),
        ("/fee_rules/2/applies_to/2", "field_type"),
    ]


def test_fee_conditions_refer_to_existing_top_level_fields() -> None:
    data = definition()
    data["fee_rules"][0]["when"] = {"field": "documents", "contains": "a"}
    data["fee_rules"][2]["when"] = {"field": "count", "greater_than": 1}
    assert problems(data) == [("/fee_rules/2/when/field", "unknown_reference")]


# --- compiling ----------------------------------------------------------------------------


def test_compile_definition_refuses_a_parsed_definition_that_breaks_a_rule() -> None:
    data = definition()
    fields_of(data)[2]["when"] = {"field": "no_such_field", "equals": "x"}
    parsed = ProcedureDefinition.model_validate(data)
    with pytest.raises(DefinitionInvalid):
        compile_definition(parsed)


def test_compiled_forms_are_cached_by_key_and_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compiler, "CACHE_SIZE", 2)
    first = compiled_form_for("test-version-1", definition())
    assert compiled_form_for("test-version-1", definition()) is first
    second = compiled_form_for("test-version-2", definition())
    assert second is not first
    compiled_form_for("test-version-1", definition())
    compiled_form_for("test-version-3", definition())
    # version 2 was the least recently used of three, so it was evicted.
    assert compiled_form_for("test-version-1", definition()) is first
    assert compiled_form_for("test-version-2", definition()) is not second
    with pytest.raises(DefinitionInvalid):
        compiled_form_for("test-version-4", {"code": "x"})

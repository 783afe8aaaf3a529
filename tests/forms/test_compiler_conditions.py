"""Conditions (表示条件): a shown field is asked (and required when `required`); a hidden
field is not required, and an answer sent for it is type-checked but dropped."""

from __future__ import annotations

from typing import Any

from app.forms.compiler import CompiledForm, check_definition, compile_definition


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(value)} for value in values]


def field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": label(key), **extra}


def step(key: str, *fields: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"key": key, "title": label(key), "fields": list(fields), **extra}


def compile_steps(*steps: dict[str, Any]) -> CompiledForm:
    data = {
        "code": "test-form",
        "title": label("テスト手続"),
        "department": label("市民課"),
        "steps": list(steps),
    }
    return compile_definition(check_definition(data))


def compile_form(*fields: dict[str, Any]) -> CompiledForm:
    return compile_steps(step("main", *fields))


def codes(form: CompiledForm, answers: dict[str, Any]) -> list[tuple[str, str]]:
    return [(error.path, error.code) for error in form.validate(answers).errors]


REQUESTER = field("requester", "radio", required=True, options=options("self", "agent"))
AGENT_NAME = field(
    "agent_name", "text", required=True, when={"field": "requester", "equals": "agent"}
)


def test_a_shown_field_is_required() -> None:
    form = compile_form(REQUESTER, AGENT_NAME)
    assert codes(form, {"requester": "agent"}) == [("/agent_name", "required")]
    result = form.validate({"requester": "agent", "agent_name": "鈴木一郎"})
    assert result.ok
    assert result.answers == {"requester": "agent", "agent_name": "鈴木一郎"}


def test_a_hidden_field_is_not_required_and_its_answer_is_dropped() -> None:
    form = compile_form(REQUESTER, AGENT_NAME)
    assert form.validate({"requester": "self"}).ok
    result = form.validate({"requester": "self", "agent_name": "鈴木一郎"})
    assert result.ok
    assert result.answers == {"requester": "self"}


def test_an_answer_for_a_hidden_field_is_still_type_checked() -> None:
    form = compile_form(
        REQUESTER,
        field("copies", "integer", minimum=1, when={"field": "requester", "equals": "agent"}),
        field("agree", "consent", required=True, when={"field": "requester", "equals": "agent"}),
    )
    assert codes(form, {"requester": "self", "copies": "many"}) == [("/copies", "type")]
    assert codes(form, {"requester": "self", "copies": 0}) == [("/copies", "minimum")]
    # Not agreeing is only a problem where the consent is asked.
    assert form.validate({"requester": "self", "agree": False}).ok
    assert codes(form, {"requester": "agent", "agree": False}) == [("/agree", "consent")]


def test_a_step_condition_hides_all_its_fields() -> None:
    form = compile_steps(
        step("who", REQUESTER),
        step(
            "agent",
            field("agent_name", "text", required=True),
            field("agent_phone", "phone_jp", required=True),
            when={"field": "requester", "equals": "agent"},
        ),
    )
    assert codes(form, {"requester": "agent"}) == [
        ("/agent_name", "required"),
        ("/agent_phone", "required"),
    ]
    result = form.validate({"requester": "self", "agent_name": "鈴木"})
    assert result.ok
    assert result.answers == {"requester": "self"}


def test_hidden_fields_cascade() -> None:
    """C depends on B, B on A: once A hides B, B's answer no longer shows C."""
    form = compile_form(
        field("has_agent", "checkbox", required=True),
        field(
            "agent_kind",
            "select",
            required=True,
            options=options("family", "lawyer"),
            when={"field": "has_agent", "equals": True},
        ),
        field(
            "registration_number",
            "text",
            required=True,
            when={"field": "agent_kind", "equals": "lawyer"},
        ),
        field(
            "relationship",
            "text",
            required=True,
            when={"field": "agent_kind", "not_equals": "lawyer"},
        ),
    )
    assert codes(form, {"has_agent": True, "agent_kind": "lawyer"}) == [
        ("/registration_number", "required")
    ]
    # agent_kind is hidden, so it counts as not answered: not_equals holds.
    result = form.validate(
        {"has_agent": False, "agent_kind": "lawyer", "registration_number": "12345"}
    )
    assert [(e.path, e.code) for e in result.errors] == [("/relationship", "required")]
    assert result.answers == {"has_agent": False}


def test_nested_all_any_not() -> None:
    when = {
        "all": [
            {
                "any": [
                    {"field": "age", "greater_or_equal": 65},
                    {"field": "disabled", "equals": True},
                ]
            },
            {"not": {"field": "income", "in": ["high", "very_high"]}},
        ]
    }
    form = compile_form(
        field("age", "integer", required=True, minimum=0),
        field("disabled", "checkbox"),
        field("income", "select", options=options("low", "high", "very_high")),
        field("discount_reason", "textarea", required=True, when=when),
    )
    asked = [("/discount_reason", "required")]
    assert codes(form, {"age": 70}) == asked
    assert codes(form, {"age": 30, "disabled": True, "income": "low"}) == asked
    assert codes(form, {"age": 30, "disabled": False}) == []
    assert codes(form, {"age": 70, "income": "very_high"}) == []
    assert codes(form, {"age": 64}) == []


def test_numeric_comparisons_and_in() -> None:
    form = compile_form(
        field("count", "number"),
        field("over", "text", required=True, when={"field": "count", "greater_than": 2}),
        field("under", "text", required=True, when={"field": "count", "less_than": 2}),
        field("at_most", "text", required=True, when={"field": "count", "less_or_equal": 2}),
        field("one_of", "text", required=True, when={"field": "count", "in": [1, 2.5]}),
    )
    assert codes(form, {"count": 2.5}) == [("/over", "required"), ("/one_of", "required")]
    assert codes(form, {"count": 2}) == [("/at_most", "required")]
    assert codes(form, {"count": 1}) == [
        ("/under", "required"),
        ("/at_most", "required"),
        ("/one_of", "required"),
    ]
    # Without an answer, no comparison holds.
    assert codes(form, {}) == []


def test_a_comparison_with_an_answer_of_the_wrong_type_does_not_hold() -> None:
    """The answer is reported, and no condition treats it as a match: a list is not one
    of the strings, and 1 is not `true`."""
    form = compile_form(
        field("kind", "text"),
        field("detail", "text", required=True, when={"field": "kind", "in": ["a", "b"]}),
        field("note", "text", required=True, when={"field": "kind", "equals": "a"}),
        field("flag", "checkbox"),
        field("reason", "text", required=True, when={"field": "flag", "equals": True}),
    )
    assert codes(form, {"kind": ["a"], "flag": 1}) == [("/kind", "type"), ("/flag", "type")]
    assert codes(form, {"kind": {"a": "b"}}) == [("/kind", "type")]
    assert codes(form, {"kind": "a", "flag": True}) == [
        ("/detail", "required"),
        ("/note", "required"),
        ("/reason", "required"),
    ]


def test_contains_on_a_multiselect() -> None:
    form = compile_form(
        field("documents", "multiselect", options=options("juminhyo", "koseki", "inkan")),
        field(
            "koseki_purpose",
            "text",
            required=True,
            when={"field": "documents", "contains": "koseki"},
        ),
    )
    assert codes(form, {"documents": ["juminhyo", "koseki"]}) == [("/koseki_purpose", "required")]
    assert codes(form, {"documents": ["juminhyo"]}) == []


CHILDREN = field(
    "children",
    "group",
    required=True,
    when={"field": "has_children", "equals": True},
    fields=[
        field("name", "text", required=True),
        field("lives_with_applicant", "checkbox", required=True),
        field(
            "address",
            "address_jp",
            required=True,
            when={"field": "lives_with_applicant", "equals": False},
        ),
    ],
)


def test_conditions_inside_a_group_look_at_the_same_item() -> None:
    form = compile_form(field("has_children", "checkbox", required=True), CHILDREN)
    home = {"prefecture": "長野県", "city": "東御市"}
    result = form.validate(
        {
            "has_children": True,
            "children": [
                {"name": "花子", "lives_with_applicant": True, "address": home},
                {"name": "次郎", "lives_with_applicant": False},
            ],
        }
    )
    assert [(e.path, e.code) for e in result.errors] == [("/children/1/address", "required")]
    assert result.answers["children"][0] == {"name": "花子", "lives_with_applicant": True}


def test_a_hidden_group_asks_nothing_of_its_items_but_checks_their_types() -> None:
    form = compile_form(field("has_children", "checkbox", required=True), CHILDREN)
    assert codes(form, {"has_children": True}) == [("/children", "required")]
    stale = {"has_children": False, "children": [{"lives_with_applicant": False}]}
    result = form.validate(stale)
    assert result.ok
    assert result.answers == {"has_children": False}
    assert codes(form, {"has_children": False, "children": [{"name": 3}]}) == [
        ("/children/0/name", "type")
    ]

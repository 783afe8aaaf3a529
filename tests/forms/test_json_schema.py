"""The published JSON Schema: valid 2020-12, and it agrees with the server's validator.

For canonical (normalised) answers, the server accepts => the schema accepts, and the
schema accepts => the server accepts unless a server-only rule failed (個人番号 check
digit, real calendar date, date range).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from app.errors import FieldError
from app.forms.compiler import CompiledForm, check_definition, compile_definition
from app.forms.jp import (
    CANONICAL_TEXT_PATTERN,
    NO_NUL_LOOKAHEAD,
    PREFECTURES,
    my_number_check_digit,
)
from app.forms.normalize import normalize_answers


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": f"{ja} (en)"}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(value)} for value in values]


def field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": label(key), **extra}


RICH_DEFINITION: dict[str, Any] = {
    "code": "rich-form",
    "title": {"ja": "全項目の手続", "en": "Every field"},
    "department": label("市民課"),
    "my_number_use": True,
    "my_number_legal_basis": "番号法別表第一",
    "steps": [
        {
            "key": "applicant",
            "title": label("申請者"),
            "fields": [
                field("name", "name_with_kana", required=True, help=label("戸籍上の氏名")),
                field("address", "address_jp", required=True),
                field("postal", "postal_code_jp"),
                field("phone", "phone_jp", required=True),
                field("contact", "radio", options=options("phone", "email")),
                field(
                    "email", "email", required=True, when={"field": "contact", "equals": "email"}
                ),
                field("birth_date", "date", minimum="1900-01-01", maximum="2025-12-31"),
            ],
        },
        {
            "key": "request",
            "title": label("請求内容"),
            "fields": [
                field("kind", "select", required=True, options=options("juminhyo", "koseki")),
                field("copies", "integer", required=True, minimum=1, maximum=10),
                field(
                    "purpose",
                    "text",
                    required=True,
                    pattern="[A-Z]{2}[0-9]{2}",
                    when={"field": "kind", "in": ["koseki"]},
                ),
                field("docs", "multiselect", options=options("a", "b", "c"), max_items=2),
                field(
                    "doc_note",
                    "textarea",
                    required=True,
                    max_length=20,
                    when={"field": "docs", "contains": "c"},
                ),
                field("weight", "number", minimum=0.5, maximum=99.5),
                field(
                    "heavy_note",
                    "text",
                    required=True,
                    min_length=2,
                    when={
                        "all": [
                            {"field": "weight", "greater_than": 50},
                            {"not": {"field": "kind", "equals": "juminhyo"}},
                        ]
                    },
                ),
                field("mailing", "checkbox"),
                field("agree", "consent", required=True),
                field(
                    "mailing_consent",
                    "consent",
                    required=True,
                    when={"field": "mailing", "equals": True},
                ),
            ],
        },
        {
            "key": "family",
            "title": label("家族"),
            "when": {"field": "kind", "not_equals": "juminhyo"},
            "fields": [
                field("my_number", "my_number", required=True),
                field(
                    "children",
                    "group",
                    required=True,
                    min_items=2,
                    max_items=3,
                    fields=[
                        field("child_name", "text", required=True, max_length=10),
                        field("age", "integer", required=True, minimum=0, maximum=18),
                        field(
                            "school",
                            "select",
                            required=True,
                            options=options("elementary", "junior_high"),
                            when={"field": "age", "greater_or_equal": 6},
                        ),
                        field(
                            "guardian_consent",
                            "consent",
                            required=True,
                            when={
                                "any": [
                                    {"field": "age", "less_than": 15},
                                    {"field": "school", "equals": "junior_high"},
                                ]
                            },
                        ),
                        field(
                            "school_note",
                            "text",
                            when={"field": "school", "not_equals": "elementary"},
                        ),
                    ],
                ),
                field(
                    "summary",
                    "text",
                    required=True,
                    when={
                        "any": [
                            {"field": "copies", "less_or_equal": 1},
                            {"field": "docs", "contains": "a"},
                        ]
                    },
                ),
            ],
        },
    ],
}


def rich_form() -> CompiledForm:
    return compile_definition(check_definition(RICH_DEFINITION))


FORM = rich_form()
VALIDATOR = Draft202012Validator(FORM.json_schema)


def test_the_schema_is_valid_json_schema_2020_12() -> None:
    Draft202012Validator.check_schema(FORM.json_schema)
    assert FORM.json_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schema_describes_fields_for_a_renderer() -> None:
    schema = FORM.json_schema
    properties = schema["properties"]
    assert schema["title"] == "全項目の手続"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["name", "address", "phone", "kind", "copies", "agree"]
    assert properties["kind"]["enum"] == ["juminhyo", "koseki"]
    assert properties["kind"]["x-madoguchi"]["options"][1] == {
        "value": "koseki",
        "label": {"ja": "koseki", "en": "koseki (en)"},
    }
    assert properties["name"]["description"] == "戸籍上の氏名"
    assert properties["name"]["x-madoguchi"]["label"]["en"] == "name (en)"
    assert properties["agree"] == properties["agree"] | {"type": "boolean", "const": True}
    assert properties["my_number"]["pattern"] == "^[0-9]{12}$"
    assert properties["birth_date"]["format"] == "date"
    assert properties["birth_date"]["formatMinimum"] == "1900-01-01"
    assert properties["children"]["x-madoguchi"]["step"] == "family"
    assert properties["children"]["items"]["additionalProperties"] is False
    assert {rule["rule"] for rule in schema["x-madoguchi"]["server_only_rules"]} == {
        "my_number_check_digit",
        "calendar_date",
        "date_range",
    }


def test_conditions_become_if_then_blocks() -> None:
    schema = FORM.json_schema
    email_block = next(
        block for block in schema["allOf"] if block["then"].get("required") == ["email"]
    )
    assert email_block["if"] == {"$ref": "#/$defs/visible.email"}
    assert schema["$defs"]["visible.email"] == {
        "required": ["contact"],
        "properties": {"contact": {"const": "email"}},
    }
    consent_block = next(
        block for block in schema["allOf"] if block["then"].get("required") == ["mailing_consent"]
    )
    assert consent_block["then"]["properties"] == {"mailing_consent": {"const": True}}
    # A field inside a shown step is visible only when the step is.
    assert schema["$defs"]["visible.my_number"] == {"$ref": "#/$defs/step.family"}


def test_schema_and_validator_agree_on_hidden_answers() -> None:
    base = {
        "name": {"name": "山田太郎", "kana": "ヤマダ　タロウ"},
        "address": {"prefecture": "長野県", "city": "東御市"},
        "phone": "0268-62-1111",
        "kind": "juminhyo",
        "copies": 2,
        "agree": True,
    }
    for answers, accepted in [
        (base, True),
        (base | {"mailing": False, "mailing_consent": False}, True),
        (base | {"mailing": True, "mailing_consent": False}, False),
        (base | {"my_number": "123456789018"}, True),
        (base | {"my_number": "1234"}, False),
        (base | {"children": [{"age": 3}]}, True),
        (base | {"kind": "koseki"}, False),
    ]:
        assert FORM.validate(answers).ok is accepted, answers
        assert VALIDATOR.is_valid(answers) is accepted, answers


# --- agreement on many answer objects --------------------------------------------------

CHILD_7 = {"child_name": "花子", "age": 7, "school": "elementary", "guardian_consent": True}
CHILD_3 = {"child_name": "次郎", "age": 3, "guardian_consent": True}

EVERYTHING_SHOWN: dict[str, Any] = {
    "name": {"name": "山田 太郎", "kana": "やまだ たろう"},
    "address": {"prefecture": "長野県", "city": "東御市", "town": "県", "rest": "１２３"},
    "postal": "389-0402",
    "phone": "0268-62-1111",
    "contact": "email",
    "email": "taro@example.jp",
    "birth_date": "1990-04-01",
    "kind": "koseki",
    "copies": 1,
    "purpose": "AB12",
    "docs": ["a", "c"],
    "doc_note": "急ぎ",
    "weight": 60,
    "heavy_note": "重量物",
    "mailing": True,
    "agree": True,
    "mailing_consent": True,
    "my_number": "123456789018",
    "children": [CHILD_7, CHILD_3],
    "summary": "まとめ",
}
AT_THE_BOUNDARIES: dict[str, Any] = {
    key: value for key, value in EVERYTHING_SHOWN.items() if key != "heavy_note"
} | {"weight": 50, "copies": 2}
"""heavy_note is hidden at weight 50; summary is shown by docs alone."""
LITTLE_SHOWN: dict[str, Any] = {
    "name": {"name": "山田太郎", "kana": "ヤマダタロウ"},
    "address": {"prefecture": "東京都", "city": "千代田区"},
    "phone": "0312345678",
    "kind": "juminhyo",
    "copies": 2,
    "agree": True,
}

OTHER_GOOD: dict[str, list[Any]] = {
    "contact": ["phone"],
    "kind": ["juminhyo", "koseki"],
    "copies": [1, "５"],
    "docs": [["a"], ["c"], ["b", "a", "b"]],
    "weight": [60, 50, 10.5],
    "mailing": [True, False],
    "children": [[CHILD_3, CHILD_7 | {"school": "junior_high", "school_note": "部活"}]],
}

BAD: dict[str, list[Any]] = {
    "name": [
        {"name": "山田"},
        {"name": "山田", "kana": "Yamada"},
        {"name": "山田", "kana": 1},
        "山田",
    ],
    "address": [
        {"prefecture": "長野", "city": "東御市"},
        {"prefecture": "長野県"},
        {"prefecture": "長野県", "city": "東御市", "zip": "3890402"},
        {"prefecture": "長野県", "city": "東" * 101},
    ],
    "postal": ["12345", 3890402, "389-04020"],
    "phone": ["1234567890", "03-1234-567", "03--1234-5678", 312345678],
    "contact": ["fax", True],
    "email": ["taro@", "taro@example", 5],
    "birth_date": ["1899-12-31", "2026-01-01", "2023-02-30", "yesterday", 20230101],
    "kind": ["inkan", ["koseki"]],
    "copies": [0, 11, "abc", True, 2.5],
    "purpose": ["AB123", "ab12", 12],
    "docs": [["d"], ["a", "b", "c"], "a", [1]],
    "doc_note": ["x" * 21],
    "weight": [100, 0.1, "heavy", False],
    "heavy_note": ["x", 3],
    "mailing": ["yes", 1],
    "agree": [False, "true"],
    "mailing_consent": [False, 1],
    "my_number": ["123456789012", "1234", 123456789018],
    "children": [
        [CHILD_7],
        [CHILD_7, CHILD_3, CHILD_3, CHILD_3],
        [CHILD_7, CHILD_3 | {"age": 19}],
        [CHILD_7, CHILD_3 | {"guardian_consent": False}],
        [CHILD_7, CHILD_3 | {"pet": "dog"}],
        [CHILD_7, {"age": 3, "guardian_consent": True}],
        [CHILD_7, {"child_name": "次郎", "age": 8, "guardian_consent": True}],
        [CHILD_7, "次郎"],
        CHILD_7,
    ],
    "summary": [["x"]],
    "unknown_key": ["x"],
}


def server_only(error: FieldError) -> bool:
    if error.code in ("check_digit", "date"):
        return True
    return error.code in ("minimum", "maximum") and error.path == "/birth_date"


def agreement(raw: dict[str, Any]) -> str:
    """Check the validator against the schema on the canonical form of `raw`."""
    canonical = normalize_answers(FORM.definition, raw)
    assert normalize_answers(FORM.definition, canonical) == canonical
    ours = FORM.validate(canonical)
    assert FORM.validate(raw).errors == ours.errors
    schema_accepts = VALIDATOR.is_valid(canonical)
    if ours.ok:
        assert schema_accepts, (raw, list(VALIDATOR.iter_errors(canonical)))
        return "both accept"
    if schema_accepts:
        assert all(server_only(error) for error in ours.errors), (raw, ours.errors)
        return "server-only rule"
    return "both refuse"


def test_agreement_on_each_change_to_a_valid_answer_object() -> None:
    """Each answer left out, replaced by another good value or by a bad one, with
    conditional fields shown and hidden."""
    outcomes: Counter[str] = Counter()
    for base in (EVERYTHING_SHOWN, AT_THE_BOUNDARIES, LITTLE_SHOWN):
        assert agreement(base) == "both accept"
        for key in base:
            outcomes[agreement({k: v for k, v in base.items() if k != key})] += 1
        for values in (OTHER_GOOD, BAD):
            for key, choices in values.items():
                for value in choices:
                    outcomes[agreement(base | {key: value})] += 1
    assert outcomes["both accept"] >= 20, outcomes
    assert outcomes["both refuse"] >= 100, outcomes
    assert outcomes["server-only rule"] >= 4, outcomes


katakana = st.sampled_from(["ヤマダ　タロウ", "すずき はなこ", "ﾔﾏﾀﾞ", "ヴァン・ゴッホ"])
names = st.fixed_dictionaries(
    {"name": st.sampled_from(["山田太郎", "鈴木　花子"]), "kana": katakana}
)
addresses = st.fixed_dictionaries(
    {"prefecture": st.sampled_from(PREFECTURES), "city": st.sampled_from(["東御市", "上田市"])},
    optional={"town": st.sampled_from(["県", "和"]), "rest": st.sampled_from(["１２３", "1-2"])},
)
my_numbers = st.from_regex(r"[0-9]{11}", fullmatch=True).map(
    lambda digits: digits + str(my_number_check_digit(digits))
)
short_text = st.text(st.characters(codec="utf-8"), max_size=12)
words = st.text(st.characters(categories=("L", "N")), min_size=2, max_size=12)
children = st.builds(
    lambda name, age, school, note: {
        "child_name": name,
        "age": age,
        # school is asked from age 6; the consent is sent even where it is hidden.
        **({"school": school} if age >= 6 else {}),
        "guardian_consent": True,
        **note,
    },
    st.sampled_from(["花子", "次郎"]),
    st.integers(0, 18),
    st.sampled_from(["elementary", "junior_high"]),
    st.fixed_dictionaries({}, optional={"school_note": short_text}),
)

GOOD: dict[str, st.SearchStrategy[Any]] = {
    "name": names,
    "address": addresses,
    "postal": st.from_regex(r"[0-9]{3}-?[0-9]{4}", fullmatch=True),
    "phone": st.sampled_from(["0268-62-1111", "090-1234-5678", "0312345678"]),
    "contact": st.sampled_from(["phone", "email"]),
    "email": st.sampled_from(["taro@example.jp", "a.b+c@city.tomi.nagano.jp"]),
    "birth_date": st.dates(dt.date(1900, 1, 1), dt.date(2025, 12, 31)).map(dt.date.isoformat),
    "kind": st.sampled_from(["juminhyo", "koseki"]),
    "copies": st.integers(1, 10) | st.integers(1, 10).map(str),
    "purpose": st.from_regex(r"[A-Z]{2}[0-9]{2}", fullmatch=True),
    "docs": st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=2, unique=True),
    "doc_note": short_text,
    "weight": st.floats(0.5, 99.5) | st.integers(1, 99),
    "heavy_note": words,
    "mailing": st.booleans(),
    "agree": st.just(True),
    "mailing_consent": st.just(True),
    "my_number": my_numbers,
    "children": st.lists(children, min_size=2, max_size=3),
    "summary": words,
}


@st.composite
def answer_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Good answers, up to two left out, and up to two bad answers."""
    left_out = draw(st.sets(st.sampled_from(list(GOOD)), max_size=2))
    answers = {key: draw(strategy) for key, strategy in GOOD.items() if key not in left_out}
    for key in draw(st.sets(st.sampled_from(list(BAD)), max_size=2)):
        answers[key] = draw(st.sampled_from(BAD[key]))
    return answers


def test_agreement_on_generated_answer_objects() -> None:
    outcomes: Counter[str] = Counter()

    @settings(
        max_examples=300,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(answer_objects())
    def agree(raw: dict[str, Any]) -> None:
        outcomes[agreement(raw)] += 1

    agree()
    assert outcomes["both accept"] >= 20, outcomes
    assert outcomes["both refuse"] >= 20, outcomes


# --- answers generated from the schema are accepted ---------------------------------------
# Each answer is drawn from its property's schema as a client reading the schema would:
# standard keywords (type, enum, const, pattern, lengths, bounds, items, format "date") and
# the annotations that state what JSON Schema cannot (formatMinimum/formatMaximum,
# x-check-digit). Objects the whole schema accepts, in canonical (normalised) form, must
# be accepted by the server: no rule of the validator is left unstated.


def _string_values(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    if schema.get("format") == "date":
        low = dt.date.fromisoformat(schema.get("formatMinimum", "1900-01-01"))
        high = dt.date.fromisoformat(schema.get("formatMaximum", "2100-12-31"))
        return st.dates(low, high).map(dt.date.isoformat)
    if schema.get("x-check-digit") == "my_number":
        return my_numbers
    pattern = schema.get("pattern")
    min_size, max_size = schema.get("minLength", 0), min(schema.get("maxLength", 12), 12)
    if pattern is None or pattern == CANONICAL_TEXT_PATTERN:
        text = st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)
        return text if pattern is None else text.filter(lambda s: re.search(pattern, s) is not None)
    generating = pattern.replace(NO_NUL_LOOKAHEAD, "", 1)
    values = st.from_regex(generating, fullmatch=True)
    return values.filter(lambda s: re.search(pattern, s) is not None and len(s) <= max_size + 250)


def from_property_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum", -1000), schema.get("maximum", 1000))
    if kind == "number":
        low, high = schema.get("minimum", -1000), schema.get("maximum", 1000)
        return st.floats(low, high, allow_nan=False) | st.integers(math.ceil(low), int(high))
    if kind == "string":
        return _string_values(schema)
    if kind == "array":
        return st.lists(
            from_property_schema(schema["items"]),
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3),
            unique_by=(lambda v: repr(v)) if schema.get("uniqueItems") else None,
        )
    assert kind == "object", schema
    # Every property drawn: a hidden field's answer is allowed (it is type-checked, then
    # dropped), so only the conditions decide which objects the schema accepts.
    return st.fixed_dictionaries(
        {key: from_property_schema(part) for key, part in schema["properties"].items()}
    )


def test_answers_generated_from_the_schema_are_accepted() -> None:
    accepted: Counter[str] = Counter()
    objects = from_property_schema(FORM.json_schema)

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(objects)
    def generated(answers: dict[str, Any]) -> None:
        assume(VALIDATOR.is_valid(answers))
        assume(normalize_answers(FORM.definition, answers) == answers)
        result = FORM.validate(answers)
        assert result.ok, (answers, result.errors)
        accepted["kind=" + answers["kind"]] += 1

    generated()
    assert sum(accepted.values()) >= 20, accepted

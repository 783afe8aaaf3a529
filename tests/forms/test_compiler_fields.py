"""Each field type: canonical answers accepted, bad ones refused at the right path,
with the right code and message; normalisation; drafts (partial mode)."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import FieldError
from app.forms.compiler import CompiledForm, check_definition, compile_definition

VALID_MY_NUMBER = "123456789018"


def label(ja: str) -> dict[str, str]:
    return {"ja": ja, "en": ja}


def options(*values: str) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(value)} for value in values]


def compile_form(*fields: dict[str, Any], **extra: Any) -> CompiledForm:
    data = {
        "code": "test-form",
        "title": label("テスト手続"),
        "department": label("市民課"),
        "steps": [{"key": "main", "title": label("入力"), "fields": list(fields)}],
        **extra,
    }
    return compile_definition(check_definition(data))


def field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": label(key), **extra}


def only_error(form: CompiledForm, answers: Any, **kwargs: Any) -> FieldError:
    result = form.validate(answers, **kwargs)
    assert len(result.errors) == 1, result.errors
    return result.errors[0]


def codes(form: CompiledForm, answers: Any) -> list[tuple[str, str]]:
    return [(error.path, error.code) for error in form.validate(answers).errors]


# --- text-like fields ------------------------------------------------------------------


def test_text_accepts_a_string_within_its_limits() -> None:
    form = compile_form(field("name", "text", required=True, min_length=2, max_length=5))
    result = form.validate({"name": "山田太郎"})
    assert result.ok
    assert result.answers == {"name": "山田太郎"}


def test_text_refuses_too_long_and_too_short_with_the_limit_in_the_message() -> None:
    form = compile_form(field("name", "text", min_length=2, max_length=5))
    too_long = only_error(form, {"name": "あいうえおか"})
    assert (too_long.path, too_long.code) == ("/name", "max_length")
    assert too_long.message_ja == "5文字以内で入力してください"
    assert too_long.message_en == "Enter at most 5 characters"
    too_short = only_error(form, {"name": "あ"})
    assert (too_short.code, too_short.message_ja) == ("min_length", "2文字以上で入力してください")


def test_text_default_max_length_is_200() -> None:
    form = compile_form(field("note", "text"))
    assert form.validate({"note": "x" * 200}).ok
    assert only_error(form, {"note": "x" * 201}).message_ja == "200文字以内で入力してください"


def test_text_pattern_must_match_the_whole_answer() -> None:
    form = compile_form(field("code", "text", pattern="[A-Z]{3}"))
    assert form.validate({"code": "ABC"}).ok
    error = only_error(form, {"code": "ABCD"})
    assert (error.path, error.code) == ("/code", "pattern")


def test_textarea_normalises_line_endings_and_counts_characters() -> None:
    form = compile_form(field("body", "textarea", max_length=5))
    result = form.validate({"body": "ab\r\ncd"})
    assert result.answers == {"body": "ab\ncd"}
    assert only_error(form, {"body": "abc\ndef"}).code == "max_length"


def test_a_non_string_for_a_text_field_is_a_type_error() -> None:
    form = compile_form(field("name", "text"))
    error = only_error(form, {"name": 12})
    assert (error.path, error.code, error.message_en) == ("/name", "type", "Enter text")


def test_format_characters_and_fillers_are_removed_wherever_they_are() -> None:
    """Zero-width and bidi characters (format characters) and Hangul fillers (letters)
    go; text without them, full-width or not, is kept as NFKC makes it."""
    form = compile_form(field("name", "text"), field("note", "textarea"))
    sent = {"name": "東御\u200b花子\u3164", "note": "\u202e市役所\u3000ＡＢＣ"}
    assert form.validate(sent).answers == {"name": "東御花子", "note": "市役所 ABC"}
    assert form.validate({"name": "東御　花子"}).answers == {"name": "東御 花子"}
    assert form.validate({"name": "東御花子"}).answers == {"name": "東御花子"}


def test_required_field_missing_or_blank_is_reported_as_required() -> None:
    form = compile_form(field("name", "text", required=True))
    for answers in ({}, {"name": ""}, {"name": "　 "}, {"name": None}):
        error = only_error(form, answers)
        assert (error.path, error.code) == ("/name", "required")
        assert (error.message_ja, error.message_en) == ("必須項目です", "This field is required")


def test_email() -> None:
    form = compile_form(field("email", "email"))
    assert form.validate({"email": "ｔａｒｏ＠example.jp"}).answers == {"email": "taro@example.jp"}
    for bad in ("taro", "taro@localhost", "taro@@example.jp", "ta ro@example.jp"):
        error = only_error(form, {"email": bad})
        assert (error.code, error.message_ja) == ("email", "メールアドレスの形式が正しくありません")


def test_phone_keeps_hyphens_and_needs_10_or_11_digits_from_0() -> None:
    form = compile_form(field("phone", "phone_jp"))
    assert form.validate({"phone": "０２６８－６２－１１１１"}).answers == {"phone": "0268-62-1111"}
    assert form.validate({"phone": "090‐1234‐5678"}).answers == {"phone": "090-1234-5678"}
    assert form.validate({"phone": "0268621111"}).ok
    for bad in ("268-62-1111", "0268-62-111", "090-1234-56789", "0268--62-1111", "03(1234)5678"):
        error = only_error(form, {"phone": bad})
        assert (error.path, error.code) == ("/phone", "phone"), bad


def test_postal_code_is_stored_without_hyphen() -> None:
    form = compile_form(field("postal", "postal_code_jp"))
    for typed in ("389-0402", "３８９－０４０２", "〒389-0402", "3890402"):
        assert form.validate({"postal": typed}).answers == {"postal": "3890402"}
    error = only_error(form, {"postal": "389-040"})
    assert (error.code, error.message_en) == (
        "postal_code",
        "Enter a 7-digit postal code (e.g. 389-0402)",
    )


def test_my_number_checks_the_check_digit() -> None:
    form = compile_form(
        field("my_number", "my_number"), my_number_use=True, my_number_legal_basis="番号法別表"
    )
    assert form.validate({"my_number": "1234 5678 9018"}).answers == {"my_number": VALID_MY_NUMBER}
    assert form.validate({"my_number": "０００００００００００００"[:12]}).ok
    wrong_digit = only_error(form, {"my_number": "123456789012"})
    assert (wrong_digit.path, wrong_digit.code) == ("/my_number", "check_digit")
    too_short = only_error(form, {"my_number": "12345678901"})
    assert too_short.code == "pattern"
    assert too_short.message_ja == "個人番号は12桁の数字で入力してください"


def test_date_must_be_a_real_date_within_its_range() -> None:
    form = compile_form(field("day", "date", minimum="2025-04-01", maximum="2026-03-31"))
    assert form.validate({"day": "2025/4/1"}).answers == {"day": "2025-04-01"}
    assert form.validate({"day": "２０２５－０５－０１"}).answers == {"day": "2025-05-01"}
    for bad in ("2025-02-30", "2025-13-01", "R7-04-01", "20250401"):
        assert codes(form, {"day": bad}) == [("/day", "date")], bad
    early = only_error(form, {"day": "2025-03-31"})
    assert (early.code, early.message_ja) == ("minimum", "2025年4月1日以降の日付を入力してください")
    late = only_error(form, {"day": "2026-04-01"})
    assert (late.code, late.message_en) == ("maximum", "Enter a date on or before 2026-03-31")


# --- numbers, booleans, choices ---------------------------------------------------------


def test_integer_accepts_numbers_and_digit_strings() -> None:
    form = compile_form(field("copies", "integer", minimum=1, maximum=10))
    assert form.validate({"copies": 3}).answers == {"copies": 3}
    assert form.validate({"copies": "３"}).answers == {"copies": 3}
    assert form.validate({"copies": 3.0}).answers == {"copies": 3}
    assert form.validate({"copies": "10"}).ok


@pytest.mark.parametrize("bad", [True, 2.5, "2.5", "三", [3]])
def test_integer_refuses_what_is_not_a_whole_number(bad: Any) -> None:
    form = compile_form(field("copies", "integer"))
    error = only_error(form, {"copies": bad})
    assert (error.path, error.code) == ("/copies", "type")
    assert error.message_ja == "整数で入力してください"


def test_integer_range() -> None:
    form = compile_form(field("copies", "integer", minimum=1, maximum=10))
    low = only_error(form, {"copies": 0})
    assert (low.code, low.message_ja, low.message_en) == (
        "minimum",
        "1以上の値を入力してください",
        "Enter a value of at least 1",
    )
    assert only_error(form, {"copies": 11}).message_ja == "10以下の値を入力してください"


def test_number_accepts_decimals() -> None:
    form = compile_form(field("area", "number", minimum=0.5, maximum=100))
    assert form.validate({"area": "１２.５"}).answers == {"area": 12.5}
    assert form.validate({"area": 7}).answers == {"area": 7}
    assert only_error(form, {"area": 0.25}).message_ja == "0.5以上の値を入力してください"
    assert only_error(form, {"area": False}).code == "type"
    assert only_error(form, {"area": "1,000"}).code == "type"


def test_select_and_radio_need_one_of_the_options() -> None:
    form = compile_form(
        field("kind", "select", options=options("juminhyo", "koseki")),
        field("who", "radio", options=options("self", "agent")),
    )
    assert form.validate({"kind": "koseki", "who": "self"}).ok
    result = form.validate({"kind": "inkan", "who": "Self"})
    assert [(e.path, e.code) for e in result.errors] == [("/kind", "enum"), ("/who", "enum")]
    assert result.errors[0].message_ja == "選択肢の中から選んでください"


def test_checkbox_is_a_boolean_and_false_is_an_answer() -> None:
    form = compile_form(field("mailing", "checkbox", required=True))
    assert form.validate({"mailing": False}).answers == {"mailing": False}
    assert only_error(form, {"mailing": "true"}).code == "type"
    assert only_error(form, {"mailing": 1}).code == "type"


def test_required_consent_is_only_answered_by_true() -> None:
    form = compile_form(field("agree", "consent", required=True))
    assert form.validate({"agree": True}).ok
    refused = only_error(form, {"agree": False})
    assert (refused.path, refused.code) == ("/agree", "consent")
    assert refused.message_en == "You must agree to continue"
    assert only_error(form, {}).code == "required"


def test_multiselect_is_a_list_of_distinct_options() -> None:
    form = compile_form(
        field("docs", "multiselect", options=options("a", "b", "c"), min_items=2, max_items=2)
    )
    assert form.validate({"docs": ["a", "b", "a"]}).answers == {"docs": ["a", "b"]}
    assert codes(form, {"docs": ["a", "x"]}) == [("/docs/1", "enum")]
    assert codes(form, {"docs": ["a"]}) == [("/docs", "min_items")]
    assert codes(form, {"docs": ["a", "b", "c"]}) == [("/docs", "max_items")]
    assert codes(form, {"docs": "a"}) == [("/docs", "type")]
    assert only_error(form, {"docs": ["a"]}).message_ja == "2つ以上選んでください"


# --- structured fields ------------------------------------------------------------------


def test_address() -> None:
    form = compile_form(field("address", "address_jp", required=True))
    answer = {"prefecture": "長野県", "city": "東御市", "town": "県", "rest": "１２３－４"}
    assert form.validate({"address": answer}).answers == {
        "address": {"prefecture": "長野県", "city": "東御市", "town": "県", "rest": "123-4"}
    }
    assert form.validate({"address": {"prefecture": "東京都", "city": "千代田区"}}).ok


def test_address_problems_point_inside_the_address() -> None:
    form = compile_form(field("address", "address_jp", required=True))
    result = form.validate({"address": {"prefecture": "長野", "rest": 5, "building": "x"}})
    assert [(e.path, e.code) for e in result.errors] == [
        ("/address/building", "unknown_field"),
        ("/address/prefecture", "prefecture"),
        ("/address/city", "required"),
        ("/address/rest", "type"),
    ]
    assert codes(form, {"address": "長野県東御市"}) == [("/address", "type")]
    assert codes(form, {"address": {"city": "", "town": " "}}) == [("/address", "required")]


def test_name_with_kana_normalises_the_reading_to_katakana() -> None:
    form = compile_form(field("applicant", "name_with_kana", required=True))
    result = form.validate({"applicant": {"name": "山田　太郎", "kana": "やまだ  たろう"}})
    assert result.answers == {"applicant": {"name": "山田　太郎", "kana": "ヤマダ　タロウ"}}
    half_width = form.validate({"applicant": {"name": "山田 太郎", "kana": "ﾔﾏﾀﾞ ﾀﾛｳ"}})
    assert half_width.answers["applicant"] == {"name": "山田　太郎", "kana": "ヤマダ　タロウ"}


def test_name_with_kana_refuses_a_reading_that_is_not_katakana() -> None:
    form = compile_form(field("applicant", "name_with_kana", required=True))
    error = only_error(form, {"applicant": {"name": "山田太郎", "kana": "Yamada"}})
    assert (error.path, error.code) == ("/applicant/kana", "katakana")
    assert error.message_ja == "フリガナはカタカナで入力してください"
    assert codes(form, {"applicant": {"name": "山田太郎"}}) == [("/applicant/kana", "required")]


def child_group(**extra: Any) -> dict[str, Any]:
    return field(
        "children",
        "group",
        fields=[
            field("name", "name_with_kana", required=True),
            field("birth_date", "date", required=True),
            field("my_number", "my_number"),
        ],
        **extra,
    )


def compile_children(**extra: Any) -> CompiledForm:
    return compile_form(
        child_group(**extra), my_number_use=True, my_number_legal_basis="番号法別表第一"
    )


def test_group_items_are_validated_one_by_one_with_their_index_in_the_path() -> None:
    form = compile_children(min_items=1, max_items=3)
    child = {"name": {"name": "山田花子", "kana": "やまだ はなこ"}, "birth_date": "2020-05-05"}
    result = form.validate({"children": [child, {"birth_date": "2020-02-30", "age": 3}]})
    assert [(e.path, e.code) for e in result.errors] == [
        ("/children/1/name", "required"),
        ("/children/1/birth_date", "date"),
        ("/children/1/age", "unknown_field"),
    ]
    assert result.answers["children"][0]["name"]["kana"] == "ヤマダ　ハナコ"


def test_group_item_counts() -> None:
    form = compile_children(min_items=2, max_items=2)
    child = {"name": {"name": "山田花子", "kana": "ヤマダハナコ"}, "birth_date": "2020-05-05"}
    assert form.validate({"children": [child, child]}).ok
    too_few = only_error(form, {"children": [child]})
    assert (too_few.path, too_few.code, too_few.message_ja) == (
        "/children",
        "min_items",
        "2件以上入力してください",
    )
    assert codes(form, {"children": [child] * 3}) == [("/children", "max_items")]
    assert codes(form, {}) == [("/children", "min_items")]
    assert codes(form, {"children": ["花子"]}) == [
        ("/children", "min_items"),
        ("/children/0", "type"),
    ]


# --- the answer object ------------------------------------------------------------------


def test_unknown_answers_are_refused() -> None:
    form = compile_form(field("name", "text"))
    error = only_error(form, {"name": "x", "nmae": "y"})
    assert (error.path, error.code) == ("/nmae", "unknown_field")
    assert error.message_en == "This field is not part of the form"
    assert codes(form, {"a/b": 1}) == [("/a~1b", "unknown_field")]
    assert codes(form, {"nmae": None}) == [("/nmae", "unknown_field")]


@pytest.mark.parametrize("answers", [None, [], "name", 3])
def test_answers_that_are_not_an_object_give_one_error_at_the_root(answers: Any) -> None:
    form = compile_form(field("name", "text", required=True))
    assert codes(form, answers) == [("", "type")]


def test_every_problem_is_reported_at_once() -> None:
    form = compile_form(
        field("name", "text", required=True),
        field("copies", "integer", minimum=1),
        field("postal", "postal_code_jp"),
    )
    assert codes(form, {"copies": 0, "postal": "abc", "extra": 1}) == [
        ("/name", "required"),
        ("/copies", "minimum"),
        ("/postal", "postal_code"),
        ("/extra", "unknown_field"),
    ]


def test_partial_drafts_skip_completeness_but_check_every_answer_given() -> None:
    form = compile_form(
        field("name", "text", required=True),
        field("agree", "consent", required=True),
        child_group(min_items=2),
        field("copies", "integer", minimum=1),
        my_number_use=True,
        my_number_legal_basis="番号法別表第一",
    )
    draft = {"agree": False, "children": [{"birth_date": "2020-05-05"}]}
    assert form.validate(draft, partial=True).ok
    assert codes(form, {"copies": 0, "children": [{"birth_date": "x"}]} | {"agree": False}) == [
        ("/name", "required"),
        ("/agree", "consent"),
        ("/children", "min_items"),
        ("/children/0/name", "required"),
        ("/children/0/birth_date", "date"),
        ("/copies", "minimum"),
    ]
    partial = form.validate({"copies": 0, "children": [{"birth_date": "x"}]}, partial=True)
    assert [(e.path, e.code) for e in partial.errors] == [
        ("/children/0/birth_date", "date"),
        ("/copies", "minimum"),
    ]

"""Fees (手数料): what a citizen is charged for their answers, in integer yen."""

from __future__ import annotations

from typing import Any

from app.forms.compiler import CompiledForm, FeeBreakdown, check_definition, compile_definition


def label(ja: str, en: str | None = None) -> dict[str, str | None]:
    return {"ja": ja, "en": en}


def options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"value": value, "label": label(ja, value.title())} for value, ja in pairs]


def field(key: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "label": label(key), **extra}


def compile_form(fields: list[dict[str, Any]], fee_rules: list[dict[str, Any]]) -> CompiledForm:
    data = {
        "code": "test-form",
        "title": label("テスト手続"),
        "department": label("市民課"),
        "fee_rules": fee_rules,
        "steps": [{"key": "main", "title": label("入力"), "fields": fields}],
    }
    return compile_definition(check_definition(data))


def fee_for(form: CompiledForm, answers: dict[str, Any]) -> FeeBreakdown:
    result = form.validate(answers)
    assert result.ok, result.errors
    return form.calculate_fee(result.answers)


def lines(breakdown: FeeBreakdown) -> list[tuple[str, int | None, int | None, int]]:
    return [(i.key, i.unit_price, i.quantity, i.amount) for i in breakdown.items]


COPIES = field("copies", "integer", required=True, minimum=0, maximum=10)
COPY_FEE = {
    "kind": "per_unit",
    "key": "copy_fee",
    "label": label("交付手数料", "Issuance fee"),
    "unit_price": 300,
    "quantity_field": "copies",
    "unit": label("通", "copy"),
}
MAILING = field("mailing", "checkbox")
POSTAGE = {
    "kind": "fixed",
    "key": "postage",
    "label": label("郵送料", "Postage"),
    "amount": 140,
    "when": {"field": "mailing", "equals": True},
}
WELFARE = field("welfare", "checkbox")


def exemption(key: str, applies_to: list[str] | None = None) -> dict[str, Any]:
    return {
        "kind": "exemption",
        "key": key,
        "label": label("生活保護受給者の減免", "Waived for public assistance recipients"),
        "when": {"field": "welfare", "equals": True},
        "applies_to": applies_to or [],
    }


def test_fixed_fee() -> None:
    form = compile_form(
        [field("breed", "text", required=True)],
        [{"kind": "fixed", "key": "registration", "label": label("登録手数料"), "amount": 3000}],
    )
    breakdown = fee_for(form, {"breed": "柴犬"})
    assert breakdown.total == 3000
    assert lines(breakdown) == [("registration", None, None, 3000)]
    assert form.fee_summary.ja == "3,000円"


def test_per_unit_fee_multiplies_the_quantity() -> None:
    form = compile_form([COPIES], [COPY_FEE])
    breakdown = fee_for(form, {"copies": "３"})
    assert breakdown.total == 900
    assert lines(breakdown) == [("copy_fee", 300, 3, 900)]
    assert (form.fee_summary.ja, form.fee_summary.en) == ("1通 300円", "¥300 per copy")


def test_a_line_with_quantity_zero_is_left_out() -> None:
    form = compile_form([COPIES], [COPY_FEE])
    breakdown = fee_for(form, {"copies": 0})
    assert breakdown.total == 0
    assert breakdown.items == []


def test_per_unit_fee_on_a_group_counts_items_or_sums_a_field() -> None:
    dogs = field(
        "dogs",
        "group",
        required=True,
        fields=[field("name", "text", required=True), field("tags", "integer", minimum=0)],
    )
    form = compile_form(
        [dogs],
        [
            {
                "kind": "per_unit",
                "key": "registration",
                "label": label("登録手数料"),
                "unit_price": 3000,
                "quantity_field": "dogs",
                "unit": label("頭", "dog"),
            },
            {
                "kind": "per_unit",
                "key": "tag_fee",
                "label": label("鑑札再交付"),
                "unit_price": 1600,
                "quantity_field": "dogs.tags",
            },
        ],
    )
    breakdown = fee_for(
        form, {"dogs": [{"name": "ポチ", "tags": 2}, {"name": "タロ"}, {"name": "ハナ", "tags": 1}]}
    )
    assert lines(breakdown) == [("registration", 3000, 3, 9000), ("tag_fee", 1600, 3, 4800)]
    assert breakdown.total == 13800
    assert form.fee_summary.ja == "登録手数料 1頭 3,000円、鑑札再交付 1件 1,600円"


CERTIFICATE = field(
    "certificate",
    "select",
    required=True,
    options=options(("koseki", "戸籍謄本"), ("joseki", "除籍謄本"), ("none", "不要")),
)
PER_CERTIFICATE = {
    "kind": "per_option",
    "key": "certificate_fee",
    "label": label("証明手数料", "Certificate fee"),
    "option_field": "certificate",
    "prices": {"koseki": 450, "joseki": 750},
}


def test_per_option_fee_charges_the_chosen_option() -> None:
    form = compile_form([CERTIFICATE, COPIES], [PER_CERTIFICATE | {"quantity_field": "copies"}])
    breakdown = fee_for(form, {"certificate": "joseki", "copies": 2})
    assert lines(breakdown) == [("certificate_fee.joseki", 750, 2, 1500)]
    assert breakdown.items[0].label.ja == "証明手数料（除籍謄本）"
    assert breakdown.items[0].label.en == "Certificate fee (Joseki)"
    # An option without a price costs nothing.
    assert fee_for(form, {"certificate": "none", "copies": 2}).items == []
    assert form.fee_summary.ja == "戸籍謄本 450円・除籍謄本 750円"


def test_per_option_fee_in_a_group_gives_one_line_per_option() -> None:
    requests = field(
        "requests",
        "group",
        required=True,
        fields=[CERTIFICATE, field("copies", "integer", required=True, minimum=1)],
    )
    form = compile_form(
        [requests],
        [PER_CERTIFICATE | {"option_field": "requests.certificate", "quantity_field": "copies"}],
    )
    breakdown = fee_for(
        form,
        {
            "requests": [
                {"certificate": "joseki", "copies": 1},
                {"certificate": "koseki", "copies": 2},
                {"certificate": "joseki", "copies": 3},
                {"certificate": "none", "copies": 5},
            ]
        },
    )
    assert lines(breakdown) == [
        ("certificate_fee.koseki", 450, 2, 900),
        ("certificate_fee.joseki", 750, 4, 3000),
    ]
    assert breakdown.total == 3900


def test_a_rule_applies_only_when_its_condition_holds() -> None:
    form = compile_form([COPIES, MAILING], [COPY_FEE, POSTAGE])
    assert fee_for(form, {"copies": 1}).total == 300
    with_postage = fee_for(form, {"copies": 1, "mailing": True})
    assert lines(with_postage) == [("copy_fee", 300, 1, 300), ("postage", None, None, 140)]
    assert with_postage.total == 440
    assert form.fee_summary.ja == "交付手数料 1通 300円、郵送料 140円（該当する場合）"
    assert form.fee_summary.en == "Issuance fee ¥300 per copy; Postage ¥140 (if applicable)"


def test_an_exemption_without_targets_waives_everything() -> None:
    form = compile_form([COPIES, MAILING, WELFARE], [COPY_FEE, POSTAGE, exemption("welfare")])
    breakdown = fee_for(form, {"copies": 2, "mailing": True, "welfare": True})
    assert lines(breakdown) == [
        ("copy_fee", 300, 2, 600),
        ("postage", None, None, 140),
        ("welfare", None, None, -740),
    ]
    assert breakdown.total == 0
    assert fee_for(form, {"copies": 2, "mailing": True}).total == 740
    assert form.fee_summary.ja.endswith("減免あり（生活保護受給者の減免）")


def test_an_exemption_waives_only_the_rules_it_names_and_nothing_twice() -> None:
    form = compile_form(
        [COPIES, MAILING, WELFARE],
        [
            exemption("first", ["copy_fee"]),
            COPY_FEE,
            POSTAGE,
            exemption("second", ["copy_fee"]),
        ],
    )
    breakdown = fee_for(form, {"copies": 2, "mailing": True, "welfare": True})
    assert lines(breakdown) == [
        ("first", None, None, -600),
        ("copy_fee", 300, 2, 600),
        ("postage", None, None, 140),
    ]
    assert breakdown.total == 140


def test_a_hidden_quantity_is_not_charged() -> None:
    extra_copies = field(
        "extra_copies", "integer", minimum=0, when={"field": "mailing", "equals": True}
    )
    form = compile_form([MAILING, extra_copies], [COPY_FEE | {"quantity_field": "extra_copies"}])
    assert form.calculate_fee({"extra_copies": 4}).total == 0
    assert fee_for(form, {"mailing": False, "extra_copies": 4}).total == 0
    assert fee_for(form, {"mailing": True, "extra_copies": 4}).total == 1200


def test_no_fee_rules_means_free() -> None:
    form = compile_form([COPIES], [])
    assert (form.fee_summary.ja, form.fee_summary.en) == ("無料", "Free")
    assert fee_for(form, {"copies": 1}).as_dict() == {"total": 0, "currency": "JPY", "items": []}


def test_breakdown_as_dict() -> None:
    form = compile_form([COPIES], [COPY_FEE])
    assert fee_for(form, {"copies": 2}).as_dict() == {
        "total": 600,
        "currency": "JPY",
        "items": [
            {
                "key": "copy_fee",
                "label": {"ja": "交付手数料", "en": "Issuance fee"},
                "unit_price": 300,
                "quantity": 2,
                "amount": 600,
            }
        ],
    }

"""Every shipped catalog definition: checks, compiles to valid JSON Schema 2020-12,
accepts realistic answers, and agrees with a generic JSON Schema validator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from app.forms.compiler import check_definition, compile_definition
from app.forms.service import read_catalog_directory
from app.jp_calendar import local_date
from tests.forms.sample_answers import sample_answers

CATALOG = {definition["code"]: definition for definition in read_catalog_directory()}
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
"""The catalog's relative date bounds (today, fiscal_year_start) are resolved here."""
TODAY = local_date(NOW)


def test_the_catalog_has_the_procedures_the_municipalities_need() -> None:
    assert len(CATALOG) >= 15
    for code in (
        "juminhyo-copy",
        "koseki-certificate",
        "income-tax-certificate",
        "dog-registration",
        "bulky-waste",
        "child-allowance-claim",
        "child-allowance-status",
        "nursery-application",
        "pregnancy-notification",
        "long-term-care-certification",
        "disaster-damage-certificate",
    ):
        assert code in CATALOG


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_definition_compiles_to_valid_2020_12_schema(code: str) -> None:
    form = compile_definition(check_definition(CATALOG[code]))
    jsonschema.Draft202012Validator.check_schema(form.json_schema)
    assert form.json_schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_realistic_answers_pass_both_validators(code: str) -> None:
    form = compile_definition(check_definition(CATALOG[code]))
    generic = jsonschema.Draft202012Validator(form.json_schema_on(TODAY))
    for seed in range(25):
        result = form.validate(sample_answers(form.definition, seed, TODAY), now=NOW)
        assert result.ok, (seed, [e.as_dict() for e in result.errors])
        assert list(generic.iter_errors(result.answers)) == []
        assert form.calculate_fee(result.answers).total >= 0


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_broken_answers_are_refused_by_both_validators(code: str) -> None:
    form = compile_definition(check_definition(CATALOG[code]))
    generic = jsonschema.Draft202012Validator(form.json_schema_on(TODAY))
    answers: dict[str, Any] = form.validate(
        sample_answers(form.definition, 0, TODAY), now=NOW
    ).answers
    answers["not_a_field"] = "x"
    assert not form.validate(answers, now=NOW).ok
    assert not generic.is_valid(answers)
    required = [
        f.key
        for step in form.definition.steps
        if step.when is None
        for f in step.fields
        if f.required and f.when is None
    ]
    if required:
        del answers["not_a_field"]
        del answers[required[0]]
        errors = form.validate(answers, now=NOW).errors
        assert [e.path for e in errors] == [f"/{required[0]}"]
        assert errors[0].code == "required"
        assert not generic.is_valid(answers)


def _fee(code: str, seed: int, patch: dict[str, Any]) -> tuple[int, list[tuple[str, int]]]:
    form = compile_definition(check_definition(CATALOG[code]))
    result = form.validate({**sample_answers(form.definition, seed, TODAY), **patch}, now=NOW)
    assert result.ok, [e.as_dict() for e in result.errors]
    fee = form.calculate_fee(result.answers)
    return fee.total, [(item.key, item.amount) for item in fee.items]


def test_juminhyo_is_300_yen_per_copy() -> None:
    assert _fee("juminhyo-copy", 1, {"copies": 1})[0] == 300
    assert _fee("juminhyo-copy", 1, {"copies": 3})[0] == 900


def test_dog_registration_3000_plus_550_for_the_vaccination_tag() -> None:
    vaccinated = {
        "vaccinated_this_year": True,
        "vaccination_date": "2026-05-10",
        "clinic_name": "とうみ動物病院",
        "tag_issued_by_clinic": False,
        "vaccination_certificate_number": "R8-123",
    }
    assert _fee("dog-registration", 1, vaccinated) == (
        3550,
        [("registration_fee", 3000), ("vaccination_tag_fee", 550)],
    )
    # The vaccination answers are hidden, and dropped, once the answer is "no".
    assert _fee("dog-registration", 1, {**vaccinated, "vaccinated_this_year": False}) == (
        3000,
        [("registration_fee", 3000)],
    )


def test_koseki_prices_each_certificate_kind_per_copy_and_waives_pension_claims() -> None:
    certificates = [
        {"certificate_type": "koseki_full", "person_name": "東御 花子", "copies": 2},
        {"certificate_type": "joseki_full", "person_name": "東御 太郎", "copies": 1},
    ]
    total, _ = _fee(
        "koseki-certificate",
        2,
        {"certificates": certificates, "purpose": "other", "purpose_other": "相続手続"},
    )
    assert total == 2 * 450 + 750
    waived, items = _fee(
        "koseki-certificate", 2, {"certificates": certificates, "purpose": "pension"}
    )
    assert waived == 0
    assert items[-1] == ("pension_exemption", -(2 * 450 + 750))


def test_income_certificate_waived_for_public_assistance() -> None:
    certificate = {
        "fiscal_year": _first_option("income-tax-certificate"),
        "certificate_type": "income_and_tax",
        "copies": 2,
    }
    patch = {"certificates": [certificate], "purpose": "other", "purpose_other": "住宅ローン"}
    total, _ = _fee("income-tax-certificate", 3, {**patch, "public_assistance": False})
    assert total == 600
    assert _fee("income-tax-certificate", 3, {**patch, "public_assistance": True})[0] == 0


def _first_option(code: str) -> str:
    for step in CATALOG[code]["steps"]:
        for field in step["fields"]:
            for inner in field.get("fields", []):
                if inner["key"] == "fiscal_year":
                    return str(inner["options"][0]["value"])
    raise AssertionError("no fiscal_year field")


# The applicant's address fields that are not the card holder's registered 住所 (the card
# states only that one), so the card never fills them.
NOT_THE_REGISTERED_ADDRESS = {
    # 現に住んでいる場所: where the recipient lives now, which may be a refuge from
    # domestic violence away from the registered address.
    "child-allowance-status",
    # 住所（現在の連絡先）: where the evacuated applicant can be reached and mailed.
    "disaster-damage-certificate",
    # 使用場所: where the water is used, not where the user lives.
    "water-service",
}


def _prefill_marks(code: str) -> dict[str, tuple[str, Any]]:
    """Each field the card may fill: its fact and its `prefill_when` (None: always)."""
    definition = check_definition(CATALOG[code])
    marks = {}
    for step in definition.steps:
        for field in step.fields:
            fact = getattr(field, "prefill", None)
            if fact is not None:
                when = field.prefill_when
                marks[field.key] = (fact, when and when.model_dump(exclude_none=True))
    return marks


@pytest.mark.parametrize("code", sorted(CATALOG))
def test_the_applicants_own_name_birth_date_sex_and_address_come_from_the_card(
    code: str,
) -> None:
    marks = {key: fact for key, (fact, when) in _prefill_marks(code).items() if when is None}
    fields = {f["key"] for step in CATALOG[code]["steps"] for f in step["fields"]}
    assert marks.get("applicant_name") == "name"
    assert marks.get("applicant_birth_date") == "birth_date"
    if "applicant_sex" in fields:
        assert marks["applicant_sex"] == "sex"
    if code in NOT_THE_REGISTERED_ADDRESS:
        assert "address" not in marks.values()
    elif code != "long-term-care-certification":
        assert marks.get("applicant_address") == "address"
    # Always filled: only the applicant's own fields, never a child's, a spouse's, a
    # site's or an office's.
    applicant = {"applicant_name", "applicant_birth_date", "applicant_sex", "applicant_address"}
    assert set(marks) <= applicant


def test_long_term_care_fills_the_insured_person_only_when_they_apply() -> None:
    """要介護認定: the insured person may apply, or a family member or an office for them.
    The card fills the insured person's fields when they apply themselves, and the
    applicant's 住所 when a family member applies (an office's address is on no card)."""
    self_applies = {"field": "applicant_type", "equals": "self"}
    assert _prefill_marks("long-term-care-certification") == {
        "applicant_name": ("name", None),
        "applicant_birth_date": ("birth_date", None),
        "applicant_address": ("address", {"field": "applicant_type", "equals": "family"}),
        "insured_name": ("name", self_applies),
        "insured_birth_date": ("birth_date", self_applies),
        "insured_sex": ("sex", self_applies),
        "insured_address": ("address", self_applies),
    }

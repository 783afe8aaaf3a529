"""ワンスオンリー on a phone: the card's 住所 fills the applicant's address, cut into
都道府県, 市区町村 and the rest, each part marked as coming from the card; an address the
server cannot cut with certainty is shown to the citizen instead of being guessed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.web.browser.conftest import PROJECT_ROOT
from tests.web.browser.helpers import TOMI, checker, load_card, log_in_with_card, submission_id

FROM_CARD = "マイナンバーカードから入力"


@pytest.fixture(scope="module")
def omachi_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TEST ONLY card whose address is in 大町市 (町 inside the city's name)."""
    folder = tmp_path_factory.mktemp("card") / "omachi"
    subprocess.run(
        [
            *(sys.executable, "-m", "app.auth.jpki.testca", "mint-card", "--name", "大町　一郎"),
            *("--birth-date", "1970-01-02", "--sex", "1"),
            *("--address", "長野県大町市大字大町３８８７番地", "--out", str(folder)),
        ],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return folder


def fill_from_card(page, card: Path) -> None:
    """防犯灯 (no login needed) started, and its first step filled from the card."""
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    prefill = page.locator("section.prefill")
    assert "住所" in prefill.inner_text()  # the panel says the address can be filled
    load_card(page, card)
    page.get_by_role("button", name="カードから入力する").click()
    page.locator("#prefill-result").wait_for()


def test_the_address_is_filled_from_the_card_and_marked(phone, test_card, screenshots):
    page = phone
    fill_from_card(page, test_card)
    result = page.locator("#prefill-result").inner_text()
    assert "マイナンバーカードから入力しました: 氏名、生年月日、住所" in result
    assert page.locator("#f-applicant_address-prefecture").input_value() == "長野県"
    assert page.locator("#f-applicant_address-city").input_value() == "東御市"
    assert page.locator("#f-applicant_address-rest").input_value() == "県２８１番地２"
    assert page.locator("#f-applicant_address-town").input_value() == ""  # not on the card
    address = page.locator("[data-path='/applicant_address']")
    assert address.locator("legend .tag.from-card").inner_text() == FROM_CARD
    # The postcode is not on the card: left to the citizen, not marked.
    assert page.locator("#f-applicant_postal_code").input_value() == ""
    postal = page.locator("[data-path='/applicant_postal_code']")
    assert postal.locator(".tag.from-card").count() == 0
    assert page.locator("#prefill-unsplit-address").count() == 0
    checker(page, screenshots)("55-address-from-card")

    # The citizen changes the address: it is theirs now, no longer marked as the card's.
    page.locator("#f-applicant_address-rest").fill("県２８１番地３")
    assert address.locator(".tag.from-card").count() == 0
    name = page.locator("[data-path='/applicant_name']")
    assert name.locator(".tag.from-card").inner_text() == FROM_CARD


def test_an_address_the_card_cannot_split_is_shown_not_guessed(phone, omachi_card, screenshots):
    page = phone
    fill_from_card(page, omachi_card)
    unsplit = page.locator("#prefill-unsplit-address")
    assert "長野県大町市大字大町３８８７番地" in unsplit.inner_text()
    assert "住所欄は入力していません" in unsplit.inner_text()
    assert page.locator("#f-applicant_address-prefecture").input_value() == ""
    assert page.locator("#f-applicant_address-city").input_value() == ""
    address = page.locator("[data-path='/applicant_address']")
    assert address.locator(".tag.from-card").count() == 0
    assert page.locator("#f-applicant_name-name").input_value() == "大町　一郎"
    checker(page, screenshots)("56-address-not-split")


def test_the_insured_persons_fields_come_from_the_card_only_when_they_apply(
    phone, test_card, screenshots
):
    """要介護認定: the card fills the insured person's page when the insured person
    applies; when a family member applies, that page offers nothing from the card."""
    page = phone
    page.goto(f"/#/m/{TOMI}/p/long-term-care-certification")
    page.get_by_role("button", name="申請を始める").click()
    log_in_with_card(page, test_card)
    page.get_by_role("heading", name="申請の種類と申請者").wait_for()
    page.get_by_label("新規").check()
    page.get_by_label("家族").check()
    # The family member's own details are not needed to look at the next page: saved
    # as a draft, then opened.
    identifier = submission_id(page)
    page.get_by_role("button", name="下書きを保存").click()
    page.get_by_text("下書きを保存しました").wait_for()
    page.goto(f"/#/s/{identifier}/step/1")
    page.get_by_role("heading", name="被保険者", exact=True).wait_for()
    assert page.locator("section.prefill").count() == 0

    page.goto(f"/#/s/{identifier}/step/0")
    page.get_by_role("heading", name="申請の種類と申請者").wait_for()
    page.get_by_label("本人（被保険者）").check()
    page.get_by_role("button", name="次へ").click()
    page.get_by_role("heading", name="被保険者", exact=True).wait_for()
    page.get_by_role("button", name="カードから入力する").click()
    result = page.locator("#prefill-result").inner_text()
    assert "被保険者の氏名、被保険者の生年月日、性別、被保険者の住所" in result
    assert "申請者" not in result  # a family member's fields, not asked here
    assert page.locator("#f-insured_name-name").input_value() == "東御　花子"
    assert page.locator("#f-insured_address-city").input_value() == "東御市"
    assert page.get_by_label("女").is_checked()
    for key in ("insured_name", "insured_birth_date", "insured_sex", "insured_address"):
        assert page.locator(f"[data-path='/{key}'] .tag.from-card").count() == 1, key
    checker(page, screenshots)("57-insured-from-card")

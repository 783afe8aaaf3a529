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
from tests.web.browser.helpers import TOMI, checker, load_card

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

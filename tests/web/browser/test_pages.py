"""The other pages and promises of the web client: English, 200% text at 360 px, a
procedure without the card, production hiding the test card, the privacy notice and
accessibility statement linked from every page, and display conditions computed in the
browser exactly as the server computes them."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from app.forms.conditions import top_level_visibility
from app.forms.definition import ProcedureDefinition
from tests.web.browser.a11y import assert_accessible
from tests.web.browser.helpers import (
    TOMI,
    checker,
    log_in_with_card,
    overflowing,
    snap,
    submission_id,
)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_english_and_200_percent_text_without_the_card(phone, screenshots):
    page = phone
    page.goto("/")
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Choose your municipality").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"

    # Browser text zoom to 200%: everything reflows, nothing scrolls sideways.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    page.get_by_role("link", name="Tomi City").click()
    page.get_by_role("link", name="Request for a new or repaired street light").click()
    page.get_by_text("No My Number card needed").wait_for()
    page.get_by_role("button", name="Start the application").click()
    page.locator("form").wait_for()
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert no_horizontal_scroll(page)
    assert_accessible(page, "20-english-200-percent")
    snap(page, screenshots, "20-english-200-percent")

    # Submitting the empty step: the summary takes the focus, every field says why.
    page.get_by_role("button", name="Next").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.evaluate("node => node === document.activeElement")
    assert "This field is required" in summary.inner_text()
    assert no_horizontal_scroll(page)
    assert_accessible(page, "21-english-errors")
    snap(page, screenshots, "21-english-errors")


def test_every_input_is_labelled(phone, web_server):
    page = phone
    page.goto(f"/#/m/{TOMI}/p/bulky-waste")
    page.get_by_role("button", name="申請を始める").click()
    page.locator("form").wait_for()
    first_step = page.url
    steps = int(page.locator(".progress").inner_text().split("/")[-1])
    group_items_checked = 0
    for index in range(steps):
        page.goto(first_step.replace("/step/0", f"/step/{index}"))
        page.get_by_text(f"ステップ {index + 1} / {steps}").wait_for()
        if page.get_by_role("button", name="品目を追加").count():
            page.get_by_role("button", name="品目を追加").click()
            group_items_checked += page.locator("[id^='f-items-0-']").count()
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input, select, textarea')]
                .filter((node) => !node.labels?.length && !node.getAttribute('aria-label'))
                .map((node) => node.id)"""
        )
        assert unlabelled == [], f"step {index}"
    assert group_items_checked > 0  # the repeating group's inputs were among them


def test_production_offers_the_card_app_not_the_test_card(phone):
    page = phone
    page.route(
        "**/api/v1/client-config",
        lambda route: route.fulfill(json={"environment": "production", "test_card_enabled": False}),
    )
    page.goto(f"/#/m/{TOMI}/p/juminhyo-copy/login")
    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    assert page.locator("#test-card-files").count() == 0
    assert page.locator("#dev-banner").is_hidden()
    assert page.get_by_text("カード読み取りアプリ").first.is_visible()
    # Logging in takes the 4-digit PIN; signing takes the 6–16 character password.
    assert page.get_by_text(re.compile("暗証番号（数字4桁）が必要です")).is_visible()
    assert page.get_by_text("署名用電子証明書のパスワード").count() == 0


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {"requester_type": "self"},
        {"requester_type": "agent", "scope": "some_members"},
        {"requester_type": "household", "scope": "one_person", "purpose": "other"},
    ],
)
def test_conditions_match_the_server(phone, web_server, answers):
    """The browser's visibility of every field equals app.forms.conditions'."""
    page = phone
    page.goto("/")
    page.locator("h1").wait_for()
    detail = httpx.get(f"{web_server}/api/v1/municipalities/{TOMI}/procedures/juminhyo-copy").json()
    in_browser = page.evaluate(
        """async ([definition, answers]) => {
            const { topLevelVisibility } = await import('/assets/conditions.js');
            return topLevelVisibility(definition, answers);
        }""",
        [detail["definition"], answers],
    )
    definition = ProcedureDefinition.model_validate(detail["definition"])
    assert in_browser == top_level_visibility(definition, answers), json.dumps(answers)


def test_a_refused_submit_focuses_the_summary_and_links_to_the_step(phone, screenshots):
    page = phone
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    page.goto(page.url.replace("/step/0", "/review"))
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    page.get_by_role("button", name="申請する").click()

    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.evaluate("node => node === document.activeElement")
    assert "要望の種類: 必須項目です" in summary.inner_text()
    assert_accessible(page, "22-submit-refused")
    snap(page, screenshots, "22-submit-refused")

    summary.get_by_role("link", name="要望の種類: 必須項目です").click()
    page.get_by_text("ステップ 1 /").wait_for()
    field = page.locator("[data-path='/request_type']")
    assert "必須項目です" in field.locator(".field-error").inner_text()


def test_privacy_and_accessibility_are_linked_from_every_page(phone, screenshots):
    page = phone
    step = checker(page, screenshots)
    for address in ("/", f"/#/m/{TOMI}", f"/#/m/{TOMI}/p/bulky-waste", "/#/me", "/analyst"):
        page.goto(address)
        page.locator("h1").first.wait_for()
        footer = page.locator("footer")
        assert footer.get_by_role("link", name="個人情報の取扱い").is_visible(), address
        assert footer.get_by_role("link", name="アクセシビリティ方針").is_visible(), address

    page.goto("/")
    page.locator("footer").get_by_role("link", name="個人情報の取扱い").click()
    page.get_by_role("heading", name="個人情報の取扱い").wait_for()
    assert "この端末に保存するもの" in page.locator("main").inner_text()
    step("70-privacy")
    page.locator("footer").get_by_role("link", name="アクセシビリティ方針").click()
    page.get_by_role("heading", name="アクセシビリティ方針").wait_for()
    assert "JIS X 8341-3" in page.locator("main").inner_text()
    step("71-accessibility")


def test_procedures_are_found_by_category_and_by_words(phone, screenshots):
    page = phone
    page.goto(f"/#/m/{TOMI}")
    page.get_by_role("heading", name="東御市の電子申請").wait_for()
    every = page.locator("ul.procedures li:visible").count()
    assert every >= 10
    assert page.get_by_role("heading", name="市民課").is_visible()  # grouped by 担当課

    page.get_by_label("分類（担当課）").select_option("税務課")
    page.get_by_text(re.compile(r"^\d+件の手続があります。$")).wait_for()
    shown = page.locator("ul.procedures li:visible")
    assert 0 < shown.count() < every
    assert page.locator("section.category:visible h2").all_inner_texts() == ["税務課"]
    assert page.get_by_text(f"{shown.count()}件の手続があります。").is_visible()
    checker(page, screenshots)("02b-procedures-category")

    # Words narrow within the category; full-width and half-width are alike.
    page.get_by_label("手続を探す（名前・担当課）").fill("住民票")
    page.get_by_text("該当する手続はありません。別の言葉でお試しください。").wait_for()
    page.get_by_label("分類（担当課）").select_option("")
    page.get_by_text("1件の手続があります。").wait_for()
    assert (
        page.locator("ul.procedures li:visible")
        .all_inner_texts()[0]
        .startswith("住民票の写しの交付請求")
    )


def test_an_application_no_longer_there_says_so_and_is_forgotten(phone, screenshots):
    """A draft deleted elsewhere or purged: "申請が見つかりません", not an error page, and
    マイページ no longer lists it."""
    page = phone
    gone = "00000000-0000-4000-8000-000000000000"
    page.goto("/")
    page.locator("h1").wait_for()
    page.evaluate(
        """id => localStorage.setItem('madoguchi.applications', JSON.stringify({[id]: {
            id, token: 'not-a-real-token-but-a-device-key-000000', municipality: '202193',
            procedure: 'street-light-request', title: {ja: '防犯灯'}, status: 'draft',
            step: 0}}))""",
        gone,
    )
    page.goto(f"/#/s/{gone}/step/0")
    page.get_by_role("heading", name="申請が見つかりません。").wait_for()
    checker(page, screenshots)("15-not-found")
    assert page.evaluate("localStorage.getItem('madoguchi.applications')") == "{}"
    page.get_by_role("link", name="マイページを開く").click()
    page.get_by_text("申請はまだありません。").wait_for()


def test_production_card_app_texts_ask_for_the_signing_password_when_signing(
    phone, test_card, screenshots
):
    """The card app hand-off names the 6–16 character 署名用パスワード for signing and
    prefill, and says it is not the 4-digit login PIN."""
    page = phone
    page.goto("/#/me")
    page.get_by_role("button", name="ログインする").click()
    log_in_with_card(page, test_card)
    page.get_by_role("heading", name="マイページ").wait_for()
    page.goto(f"/#/m/{TOMI}/p/juminhyo-copy")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    identifier = submission_id(page)

    # The same tab as the production client sees it (the card login is kept).
    page.route(
        "**/api/v1/client-config",
        lambda route: route.fulfill(json={"environment": "production", "test_card_enabled": False}),
    )
    page.reload()
    page.get_by_text("ステップ 1 /").wait_for()
    prefill = page.locator("section.prefill")
    assert "署名用電子証明書のパスワード（英数字6〜16文字）が必要です" in prefill.inner_text()
    assert "4桁" not in prefill.inner_text()

    page.goto(f"/#/s/{identifier}/review")
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    card = page.locator("section.card-panel")
    text = card.inner_text()
    assert "署名用電子証明書のパスワード（英数字6〜16文字）が必要です" in text
    assert "ログインの暗証番号（数字4桁）ではありません" in text
    assert page.locator("#test-card-files").count() == 0
    checker(page, screenshots)("10b-review-card-app")


def test_the_error_page_says_what_happened_and_passes_axe(phone, screenshots):
    """An unexpected answer from the server, then no connection at all: the error page
    (its heading focused) passes axe and offers a way on; an unknown address shows the
    start page, not an error."""
    page = phone
    step = checker(page, screenshots)
    procedures = f"**/api/v1/municipalities/{TOMI}/procedures"
    page.route(procedures, lambda route: route.fulfill(status=502, body="Bad Gateway"))
    page.goto(f"/#/m/{TOMI}")
    heading = page.get_by_role("heading", name="ページを表示できませんでした")
    heading.wait_for()
    assert heading.evaluate("node => node === document.activeElement")
    assert "時間をおいてもう一度お試しください" in page.locator("main").inner_text()
    assert page.get_by_role("link", name="最初のページに戻る").is_visible()
    assert page.get_by_role("link", name="マイページを開く").is_visible()
    step("16-error-page")

    page.unroute(procedures)
    page.route(procedures, lambda route: route.abort())
    page.get_by_role("button", name="もう一度読み込む").click()
    page.locator("#error-detail").filter(has_text="通信できませんでした").wait_for()
    step("16b-error-page-offline")

    # In English at 200% text: said in English, nothing wider than the screen.
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="This page could not be shown").wait_for()
    page.locator("#error-detail").filter(has_text="No connection").wait_for()
    assert no_horizontal_scroll(page)
    assert overflowing(page) == []
    step("16c-error-page-english-200-percent")
    page.get_by_role("button", name="日本語").click()
    page.evaluate("document.documentElement.style.fontSize = ''")
    # Switching the language draws the page again, asking the server again: wait until
    # that answer (still no connection) is shown before the server comes back.
    page.get_by_role("heading", name="ページを表示できませんでした").wait_for()
    page.locator("#error-detail").filter(has_text="通信できませんでした").wait_for()

    # The server answers again: もう一度読み込む shows the page asked for.
    page.unroute(procedures)
    page.get_by_role("button", name="もう一度読み込む").click()
    page.get_by_role("heading", name="東御市の電子申請").wait_for()

    page.goto("/#/no/such/page")
    page.get_by_role("heading", name="市区町村を選んでください").wait_for()
    assert page.url.endswith("#/")
    step("16d-unknown-address")

"""住民票の写し on a phone, end to end: catalog -> card login -> a validation error fixed
-> draft resumed after a reload -> review -> card signature -> 受付番号 -> demo payment
-> status page with its timeline. Every page is scanned with axe-core and photographed
at 360x640 under test-output/web/."""

from __future__ import annotations

import re
from pathlib import Path

from tests.web.a11y import assert_accessible

CARD_FILES = ("auth.key.pem", "auth.cer", "sign.key.pem", "sign.cer")


def snap(page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def load_card(page, card: Path) -> None:
    page.set_input_files("#test-card-files", [str(card / name) for name in CARD_FILES])
    page.get_by_text("テスト用カードを読み込みました。").wait_for()


def test_juminhyo_from_catalog_to_status_page(phone, web_server, test_card, screenshots):
    page = phone
    checked: list[str] = []

    def step(name: str) -> None:
        page.wait_for_load_state("networkidle")
        assert_accessible(page, name)
        snap(page, screenshots, name)
        checked.append(name)

    page.goto("/")
    page.get_by_role("heading", name="市区町村を選んでください").wait_for()
    assert page.locator("html").get_attribute("lang") == "ja"
    step("01-municipalities")

    page.get_by_role("link", name="東御市").click()
    page.get_by_role("heading", name="東御市の電子申請").wait_for()
    step("02-procedures")

    page.get_by_role("link", name="住民票の写しの交付請求").click()
    page.get_by_role("heading", name="住民票の写しの交付請求").wait_for()
    assert page.get_by_text("マイナンバーカードでのログインと電子署名が必要です").is_visible()
    step("03-procedure")

    page.get_by_role("button", name="申請を始める").click()
    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    assert page.get_by_text("テスト用カード（開発専用）").is_visible()
    step("04-login")
    load_card(page, test_card)
    page.get_by_role("button", name="ログインする").click()

    # Step 1: a wrong postal code is refused by the server, shown, focused, then fixed.
    page.get_by_role("heading", name="請求者").wait_for()
    page.get_by_label("本人", exact=True).check()
    page.locator("#f-applicant_name-name").fill("東御　花子")
    page.locator("#f-applicant_name-kana").fill("とうみ はなこ")
    page.locator("#f-applicant_birth_date").fill("1990-05-01")
    page.locator("#f-applicant_postal_code").fill("389-05")
    page.locator("#f-applicant_address-prefecture").select_option("長野県")
    page.locator("#f-applicant_address-city").fill("東御市")
    page.locator("#f-applicant_address-rest").fill("県281-2")
    page.locator("#f-applicant_phone").fill("0268-62-1111")
    assert page.locator("#f-agent_relationship").is_hidden()
    step("05-step-requester")
    page.get_by_role("button", name="次へ").click()

    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.evaluate("node => node === document.activeElement")
    assert "郵便番号は7桁の数字で入力してください" in summary.inner_text()
    assert "必須項目です" in summary.inner_text()  # the e-mail address, left empty
    postal = page.locator("[data-path='/applicant_postal_code']")
    assert "郵便番号は7桁の数字で入力してください" in postal.locator(".field-error").inner_text()
    assert page.locator("#f-applicant_postal_code").get_attribute("aria-invalid") == "true"
    step("06-validation-error")

    summary.get_by_role("link", name=re.compile("郵便番号")).click()
    assert page.locator("#f-applicant_postal_code").evaluate(
        "node => node === document.activeElement"
    )
    page.locator("#f-applicant_postal_code").fill("389-0517")
    page.locator("#f-applicant_email").fill("hanako@example.jp")
    page.get_by_role("button", name="次へ").click()

    # Step 2, then a reload: the draft comes back from the server.
    page.get_by_role("heading", name="請求内容").wait_for()
    assert page.locator("#f-principal_name-name").is_hidden()  # shown for household/agent
    page.reload()
    page.get_by_role("heading", name="請求内容").wait_for()
    page.get_by_role("button", name="戻る").click()
    page.get_by_role("heading", name="請求者").wait_for()
    assert page.locator("#f-applicant_name-kana").input_value() == "トウミ　ハナコ"
    assert page.locator("#f-applicant_postal_code").input_value() == "3890517"
    step("07-draft-resumed")
    page.get_by_role("button", name="次へ").click()

    page.get_by_role("heading", name="請求内容").wait_for()
    page.get_by_label("世帯の一部の方").check()
    page.get_by_role("button", name="世帯員を追加").click()
    page.locator("#f-members-0-name-name").fill("東御　太郎")
    page.locator("#f-members-0-name-kana").fill("トウミ　タロウ")
    page.locator("#f-members-0-birth_date").fill("2015-04-02")
    page.locator("#f-purpose").select_option("other")
    page.locator("#f-purpose_other").fill("児童の手続")
    page.locator("#f-submit_to").fill("東御市教育委員会")
    page.locator("#f-copies").fill("２")
    step("08-step-certificate")
    page.get_by_role("button", name="次へ").click()

    page.get_by_role("heading", name="確認").wait_for()
    page.get_by_label(re.compile("請求内容に誤りがなく")).check()
    step("09-step-confirmation")
    page.get_by_role("button", name="確認画面へ").click()

    page.get_by_role("heading", name="申請内容の確認").wait_for()
    assert "東御　太郎（トウミ　タロウ）" in page.locator("main").inner_text()
    # The card was dropped from memory by the reload; pick its files again, in two goes.
    page.set_input_files("#test-card-files", [str(test_card / n) for n in CARD_FILES[:2]])
    page.get_by_text("ファイルが足りません: sign.key.pem, sign.cer").wait_for()
    page.set_input_files("#test-card-files", [str(test_card / n) for n in CARD_FILES[2:]])
    page.get_by_text("テスト用カードを読み込みました。").wait_for()
    step("10-review")
    page.get_by_role("button", name="署名して申請する").click()

    page.get_by_role("heading", name="申請を受け付けました").wait_for()
    reference = page.locator("#reference-number").inner_text()
    assert re.fullmatch(r"TOMI-\S+", reference), reference
    assert page.get_by_text("600円").first.is_visible()
    step("11-received")

    page.get_by_role("button", name="手数料を支払う").click()
    page.wait_for_url(re.compile(r"/payments/demo/"))
    step("12-demo-payment")
    page.get_by_role("button", name=re.compile("Pay|支払")).first.click()

    page.wait_for_url(re.compile(r"#/s/"))
    page.get_by_role("heading", name="申請の状況").wait_for()
    assert page.get_by_text("決済画面から戻りました").is_visible()
    assert page.locator("#status-reference").inner_text() == reference
    page.locator("#current-status").filter(has_text=re.compile("お支払い済み|審査中")).wait_for()
    assert page.locator("#timeline li").count() >= 3
    step("13-status")
    assert len(checked) == 13

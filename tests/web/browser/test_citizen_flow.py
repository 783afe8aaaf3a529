"""住民票の写し on a phone, end to end: the catalog searched -> what to prepare -> card
login -> prefill from the card (marked) -> a validation error fixed -> the draft after a
reload -> 和暦 birth dates -> the review with the computed fee -> card signature -> the
fee due (not a green 受付) -> demo payment -> status page. Every page passes axe (any
impact) and is photographed at 360x640 under test-output/web/."""

from __future__ import annotations

import re

from tests.web.browser.helpers import CARD_FILES, TOMI, checker, log_in_with_card


def test_juminhyo_from_catalog_to_status_page(phone, web_server, test_card, screenshots):
    page = phone
    step = checker(page, screenshots)

    page.goto("/")
    page.get_by_role("heading", name="市区町村を選んでください").wait_for()
    assert page.locator("html").get_attribute("lang") == "ja"
    step("01-municipalities")

    page.get_by_role("link", name="東御市").click()
    page.get_by_role("heading", name="東御市の電子申請").wait_for()
    page.get_by_label("手続を探す（名前・担当課）").fill("住民票")
    page.get_by_text("1件の手続があります。").wait_for()
    assert page.get_by_role("link", name="粗大ごみ戸別収集の申込み").is_hidden()
    step("02-procedures-search")

    page.get_by_role("link", name="住民票の写しの交付請求").click()
    page.get_by_role("heading", name="住民票の写しの交付請求").wait_for()
    prepare = page.locator(
        "section", has=page.get_by_role("heading", name="申請の前に準備するもの")
    )
    assert "署名用電子証明書のパスワード（英数字6〜16文字）" in prepare.inner_text()
    assert "暗証番号（数字4桁）：ログインに使います" in prepare.inner_text()
    facts = page.locator("dl.facts").inner_text()
    assert "所要時間の目安" in facts and "結果のお知らせ" in facts and "1通 300円" in facts
    assert page.get_by_role("link", name="個人情報の取扱い").first.is_visible()
    step("03-procedure")

    page.get_by_role("button", name="申請を始める").click()
    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    assert page.get_by_text("テスト用カード（開発専用）").is_visible()
    assert page.get_by_text(re.compile("利用者証明用電子証明書の暗証番号（数字4桁）")).is_visible()
    step("04-login")
    log_in_with_card(page, test_card)

    # Step 1: filled from the card (name and birth date), marked as such.
    page.get_by_role("heading", name="請求者").wait_for()
    page.get_by_role("button", name="カードから入力する").click()
    page.get_by_text(
        re.compile("マイナンバーカードから入力しました: 請求者の氏名、生年月日")
    ).wait_for()
    assert page.locator("#f-applicant_name-name").input_value() == "東御　花子"
    name_field = page.locator("[data-path='/applicant_name']")
    assert name_field.locator(".tag.from-card").inner_text() == "マイナンバーカードから入力"
    birth = page.locator("[data-path='/applicant_birth_date']")
    assert birth.locator(".tag.from-card").count() == 1
    assert page.locator("#f-applicant_birth_date-era").input_value() == "heisei"
    assert page.locator("#f-applicant_birth_date-year").input_value() == "2"
    assert "西暦: 1990年5月1日" in birth.inner_text()
    step("05-prefilled-from-card")

    # A wrong postal code is refused by the server, shown, focused, then fixed.
    page.get_by_label("本人", exact=True).check()
    page.locator("#f-applicant_name-kana").fill("とうみ はなこ")
    page.locator("#f-applicant_postal_code").fill("389-05")
    page.locator("#f-applicant_address-prefecture").select_option("長野県")
    page.locator("#f-applicant_address-city").fill("東御市")
    page.locator("#f-applicant_address-rest").fill("県281-2")
    page.locator("#f-applicant_phone").fill("0268-62-1111")
    assert page.locator("#f-agent_relationship").is_hidden()
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

    # A household member's birth date in 和暦: 元号 + 年 + 月 + 日, the 西暦 shown.
    page.get_by_role("heading", name="請求内容").wait_for()
    page.get_by_label("世帯の一部の方").check()
    page.get_by_role("button", name="世帯員を追加").click()
    page.locator("#f-members-0-name-name").fill("東御　太郎")
    page.locator("#f-members-0-name-kana").fill("トウミ　タロウ")
    page.locator("#f-members-0-birth_date-era").select_option(label="平成")
    page.locator("#f-members-0-birth_date-year").fill("２７")
    page.locator("#f-members-0-birth_date-month").fill("4")
    page.locator("#f-members-0-birth_date-day").fill("2")
    assert "西暦: 2015年4月2日" in page.locator("[data-path='/members/0/birth_date']").inner_text()
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

    # The review: answers as a Japanese reader expects them, and the fee computed for
    # these answers (300円 × 2通 = 600円) before anything is signed.
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    text = page.locator("main").inner_text()
    assert "東御　太郎（トウミ　タロウ）" in text
    assert "〒389-0517" in text
    assert "平成2年（1990年）5月1日" in text
    assert "平成27年（2015年）4月2日" in text
    fee = page.locator("#fee-table")
    assert "住民票の写し交付手数料" in fee.inner_text()
    assert "300円 × 2通" in fee.inner_text()
    assert page.locator("#fee-total").inner_text() == "600円"
    assert "1通 300円" not in text  # not the catalogue's summary
    assert "署名用電子証明書のパスワード（英数字6〜16文字）" in text
    # The card was dropped from memory by the reload; pick its files again, in two goes.
    page.set_input_files("#test-card-files", [str(test_card / n) for n in CARD_FILES[:2]])
    page.get_by_text("ファイルが足りません: sign.key.pem, sign.cer").wait_for()
    page.set_input_files("#test-card-files", [str(test_card / n) for n in CARD_FILES[2:]])
    page.get_by_text("テスト用カードを読み込みました。").wait_for()
    step("10-review-with-fee")
    page.get_by_role("button", name="署名して申請する").click()

    # Money is due: the page says so, and nothing is green until it is paid.
    page.get_by_role("heading", name="手数料のお支払いが必要です").wait_for()
    reference = page.locator("#reference-number").inner_text()
    assert re.fullmatch(r"TOMI-\S+", reference), reference
    assert page.locator("#amount-due").inner_text() == "600円"
    assert page.locator(".panel.success").count() == 0
    assert "pending" in (page.locator("#done-panel").get_attribute("class") or "")
    step("11-payment-due")

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

    page.get_by_role("link", name="マイページ").first.click()
    page.get_by_role("heading", name="マイページ").wait_for()
    card = page.locator("article.application", has_text="住民票の写しの交付請求")
    assert reference in card.inner_text()
    step("14-mypage")


def test_a_double_tap_on_start_makes_one_draft(phone, web_server):
    """A double tap on 申請を始める (no card needed) makes one draft, not two."""
    page = phone
    created: list[str] = []
    page.on(
        "response",
        lambda response: (
            created.append(response.url)
            if response.request.method == "POST"
            and response.url.endswith("/submissions")
            and response.status == 201
            else None
        ),
    )
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    start = page.get_by_role("button", name="申請を始める")
    start.dblclick()
    page.get_by_text("ステップ 1 /").wait_for()
    page.wait_for_load_state("networkidle")
    assert len(created) == 1
    applications = page.evaluate("JSON.parse(localStorage.getItem('madoguchi.applications'))")
    assert len(applications) == 1

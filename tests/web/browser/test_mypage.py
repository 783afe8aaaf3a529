"""マイページ: a returned application (差戻し) corrected and resubmitted from it, an
application withdrawn, and the card's applications from another device."""

from __future__ import annotations

import re

import httpx

from tests.web.browser.helpers import (
    TOMI,
    checker,
    log_in_with_card,
    staff_transition,
    submission_id,
)

REPAIR_ANSWERS = {
    "request_type": "repair",
    "applicant_name": {"name": "東御　花子", "kana": "トウミ　ハナコ"},
    "applicant_postal_code": "3890517",
    "applicant_address": {"prefecture": "長野県", "city": "東御市", "rest": "県281-2"},
    "applicant_phone": "0268621111",
    "location_address": {"prefecture": "長野県", "city": "東御市", "rest": "県100"},
    "landmark": "公民館の前",
    "symptom": "not_lit",
}


def start_street_light(page, web_server: str) -> tuple[str, str]:
    """Starts 防犯灯 in the browser; the answers are saved as the form would save them."""
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    identifier = submission_id(page)
    token = page.evaluate(
        "id => JSON.parse(localStorage.getItem('madoguchi.applications'))[id].token", identifier
    )
    saved = httpx.patch(
        f"{web_server}/api/v1/submissions/{identifier}",
        json={"answers": REPAIR_ANSWERS},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert saved.status_code == 200, saved.text
    return identifier, token


def send_over_api(web_server: str, identifier: str, token: str) -> None:
    """Submits the application as another tab would, behind the page's back."""
    sent = httpx.post(
        f"{web_server}/api/v1/submissions/{identifier}/submit",
        json={},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": identifier},
    )
    assert sent.status_code == 200, sent.text


def read_over_api(web_server: str, identifier: str, token: str) -> dict:
    """The application as its owner reads it over the API."""
    response = httpx.get(
        f"{web_server}/api/v1/submissions/{identifier}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_returned_application_is_corrected_and_resubmitted_from_mypage(
    phone, web_server, screenshots
):
    page = phone
    step = checker(page, screenshots)
    identifier, token = start_street_light(page, web_server)
    page.goto(f"/#/s/{identifier}/review")
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    assert page.get_by_text("手数料はかかりません。").is_visible()
    page.get_by_role("button", name="申請する").click()
    page.get_by_role("heading", name="申請を受け付けました").wait_for()
    # Nothing is due: this is the green 受付.
    assert "success" in (page.locator("#done-panel").get_attribute("class") or "")
    assert page.locator("#payment-section").count() == 0
    step("39-received")
    reference = page.locator("#reference-number").inner_text()

    message = "故障している防犯灯の番号（灯具に貼られた番号）を記入してください。"
    staff_transition(web_server, identifier, {"action": "start_review"})
    staff_transition(web_server, identifier, {"action": "return", "message": message})

    # The start page lists it first thing, with what to do.
    page.goto("/")
    waiting = page.locator(f"#waiting-applications li[data-id='{identifier}']")
    waiting.wait_for()
    assert "防犯灯" in waiting.inner_text() and "差戻し" in waiting.inner_text()
    assert waiting.get_by_role("link", name="修正して再申請する").is_visible()
    step("39b-home-returned")

    page.goto("/#/me")
    page.get_by_role("heading", name="マイページ").wait_for()
    card = page.locator(f"article[data-id='{identifier}']")
    card.get_by_text("差戻し", exact=True).wait_for()
    assert message in card.inner_text()
    assert reference in card.inner_text()
    step("40-mypage-returned")

    card.get_by_role("link", name="修正して再申請する").click()
    page.get_by_role("heading", name="要望者").wait_for()
    assert page.locator("#return-message").inner_text() == message
    step("41-correcting")
    page.get_by_role("button", name="次へ").click()
    page.get_by_role("heading", name="場所").wait_for()
    page.locator("#f-light_number").fill("東御-0123")
    while page.get_by_role("heading", name="申請内容の確認").count() == 0:
        heading = page.locator("h1").inner_text()
        page.get_by_role("button", name=re.compile("次へ|確認画面へ")).click()
        page.wait_for_function(
            "text => document.querySelector('h1')?.innerText !== text", arg=heading
        )
    assert "東御-0123" in page.locator("main").inner_text()
    assert page.locator("#return-message").inner_text() == message
    step("42-review-resubmit")
    page.get_by_role("button", name="再申請する").click()

    page.get_by_role("heading", name="再申請を受け付けました").wait_for()
    assert page.locator("#reference-number").inner_text() == reference  # same 受付番号
    step("43-resubmitted")

    stored = httpx.get(
        f"{web_server}/api/v1/submissions/{identifier}",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert stored["status"] == "resubmitted"
    assert stored["answers"]["light_number"] == "東御-0123"

    page.get_by_role("link", name="マイページを開く").click()
    page.locator(f"article[data-id='{identifier}']").get_by_text("再申請", exact=True).wait_for()


def test_a_draft_is_deleted_from_mypage(phone, web_server, screenshots):
    """下書きを削除: asked inline first, then gone from the server and the list."""
    page = phone
    step = checker(page, screenshots)
    draft, draft_token = start_street_light(page, web_server)
    page.goto("/#/me")
    page.get_by_role("heading", name="マイページ").wait_for()
    draft_card = page.locator(f"article[data-id='{draft}']")
    draft_card.get_by_text("下書き", exact=True).wait_for()
    draft_card.get_by_role("button", name="下書きを削除").click()
    confirm = draft_card.locator(".confirm")
    confirm.wait_for()
    assert confirm.evaluate("node => node === document.activeElement")
    step("44-delete-draft-confirm")
    confirm.get_by_role("button", name="下書きを削除").click()
    page.get_by_text(re.compile("の下書きを削除しました")).wait_for()
    assert page.locator(f"article[data-id='{draft}']").count() == 0
    gone = httpx.get(
        f"{web_server}/api/v1/submissions/{draft}",
        headers={"Authorization": f"Bearer {draft_token}"},
    )
    assert gone.status_code == 404


def test_an_application_is_withdrawn_from_mypage(phone, web_server, screenshots):
    page = phone
    step = checker(page, screenshots)
    sent, sent_token = start_street_light(page, web_server)
    send_over_api(web_server, sent, sent_token)

    page.goto("/#/me")
    page.get_by_role("heading", name="マイページ").wait_for()
    sent_card = page.locator(f"article[data-id='{sent}']")
    sent_card.get_by_role("button", name="申請を取り下げる").click()
    confirm = sent_card.locator(".confirm")
    confirm.wait_for()
    assert confirm.evaluate("node => node === document.activeElement")
    sent_card.get_by_label(re.compile("取下げの理由")).fill("自治会で対応しました")
    step("45-withdraw-confirm")
    confirm.get_by_role("button", name="申請を取り下げる").click()
    page.get_by_text(re.compile("を取り下げました")).wait_for()
    page.locator(f"article[data-id='{sent}']").get_by_text("取下げ", exact=True).wait_for()
    stored = read_over_api(web_server, sent, sent_token)
    assert stored["status"] == "withdrawn"
    assert stored["timeline"][-1]["comment"] == "自治会で対応しました"


def test_mypage_lists_the_cards_applications_after_a_login_on_another_device(
    browser, web_server, test_card, screenshots
):
    def phone_context():
        context = browser.new_context(
            viewport={"width": 360, "height": 640}, base_url=web_server, locale="ja-JP"
        )
        context.set_default_timeout(15_000)
        return context

    first = phone_context()
    try:
        page = first.new_page()
        page.goto(f"/#/m/{TOMI}/p/koseki-certificate")
        page.get_by_role("button", name="申請を始める").click()
        log_in_with_card(page, test_card)
        page.get_by_text("ステップ 1 /").wait_for()
        identifier = submission_id(page)
    finally:
        first.close()

    other = phone_context()
    try:
        page = other.new_page()
        page.goto("/#/me")
        page.get_by_role("heading", name="マイページ").wait_for()
        assert page.locator(f"article[data-id='{identifier}']").count() == 0
        page.get_by_role("button", name="ログインする").click()
        log_in_with_card(page, test_card)
        page.get_by_role("heading", name="マイページ").wait_for()
        card = page.locator(f"article[data-id='{identifier}']")
        card.wait_for()
        assert "戸籍" in card.inner_text() and "下書き" in card.inner_text()
        assert page.get_by_text(re.compile("カードでログインしています")).is_visible()
        checker(page, screenshots)("46-mypage-card-login")
    finally:
        other.close()


def is_focused(locator) -> bool:
    return bool(locator.evaluate("node => node === document.activeElement"))


def test_a_draft_submitted_elsewhere_cannot_be_deleted_and_says_so(phone, web_server, screenshots):
    """The draft is sent from another tab while マイページ still offers 下書きを削除: the
    server's refusal is shown where the question was, and the focus moves to it."""
    page = phone
    draft, draft_token = start_street_light(page, web_server)
    page.goto("/#/me")
    draft_card = page.locator(f"article[data-id='{draft}']")
    draft_card.get_by_role("button", name="下書きを削除").wait_for()
    send_over_api(web_server, draft, draft_token)

    draft_card.get_by_role("button", name="下書きを削除").click()
    draft_card.locator(".confirm").get_by_role("button", name="下書きを削除").click()
    refusal = draft_card.get_by_role("alert")
    refusal.wait_for()
    assert "申請の状態が「申請済み」に変わったため、実行できませんでした" in refusal.inner_text()
    assert is_focused(refusal)
    checker(page, screenshots)("47-delete-refused")
    assert read_over_api(web_server, draft, draft_token)["status"] == "submitted"


def test_a_failed_withdrawal_is_said_and_focused(phone, web_server, screenshots):
    """On the status page: the network fails, then the application is decided before the
    second try. Each time the message replaces the question and takes the focus."""
    page = phone
    step = checker(page, screenshots)
    sent, sent_token = start_street_light(page, web_server)
    send_over_api(web_server, sent, sent_token)
    page.goto(f"/#/s/{sent}")
    page.get_by_role("heading", name="申請の状況").wait_for()

    def withdraw() -> None:
        page.get_by_role("button", name="申請を取り下げる").click()
        page.locator(".confirm").get_by_role("button", name="申請を取り下げる").click()

    page.route(f"**/api/v1/submissions/{sent}/withdraw", lambda route: route.abort())
    withdraw()
    offline = page.get_by_role("alert").filter(has_text="通信できませんでした")
    offline.wait_for()
    assert is_focused(offline)
    step("48-withdraw-network-error")
    page.unroute(f"**/api/v1/submissions/{sent}/withdraw")

    staff_transition(web_server, sent, {"action": "start_review"})
    staff_transition(web_server, sent, {"action": "approve"})
    withdraw()
    refused = page.get_by_role("alert").filter(has_text="申請の状態が「承認」に変わったため")
    refused.wait_for()
    assert is_focused(refused)
    step("49-withdraw-refused")
    stored = read_over_api(web_server, sent, sent_token)
    assert stored["status"] == "approved"

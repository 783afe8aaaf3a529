"""The card login expires (15 minutes, or a new tab): the client asks for the card again
and resumes where the citizen was, with what they typed; a payment return lands there
too. Never "申請が見つかりません". The expired token is a real one for the same card,
signed with the server's key, that the server refuses with 401."""

from __future__ import annotations

import re

import httpx

from tests.web.browser.helpers import (
    TOMI,
    checker,
    expired_citizen_token,
    log_in_with_card,
    submission_id,
)

DOG = {
    "applicant_name": {"name": "東御　花子", "kana": "トウミ　ハナコ"},
    "applicant_birth_date": "1990-05-01",
    "applicant_postal_code": "3890517",
    "applicant_address": {"prefecture": "長野県", "city": "東御市", "rest": "県281-2"},
    "applicant_phone": "0268621111",
    "applicant_email": "hanako@example.jp",
    "dog_name": "ポチ",
    "breed": "柴犬",
    "coat_color": "赤",
    "sex": "male",
    "dog_birth_date": "2025-01-10",
    "acquired_date": "2025-03-01",
    "obligations": True,
}


def expire_login(page) -> None:
    """The browser still holds its token, but the server's clock has passed its expiry."""
    page.evaluate(
        """token => {
            const stored = JSON.parse(sessionStorage.getItem('madoguchi.citizen'));
            sessionStorage.setItem('madoguchi.citizen', JSON.stringify({...stored, token}));
        }""",
        expired_citizen_token(citizen_token(page)),
    )


def citizen_token(page) -> str:
    return str(page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi.citizen')).token"))


def test_an_expired_card_login_mid_way_is_renewed_and_the_step_resumes(
    phone, web_server, test_card, screenshots
):
    page = phone
    step = checker(page, screenshots)
    page.goto(f"/#/m/{TOMI}/p/dog-registration")
    page.get_by_role("button", name="申請を始める").click()
    log_in_with_card(page, test_card)
    page.get_by_text("ステップ 1 /").wait_for()
    step_url = page.url
    identifier = submission_id(page)
    page.locator("#f-applicant_name-kana").fill("トウミ　ハナコ")
    page.locator("#f-applicant_phone").fill("0268-62-1111")

    expire_login(page)
    page.locator("#f-applicant_email").fill("hanako@example.jp")
    page.get_by_role("button", name="次へ").click()

    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    assert page.get_by_text(re.compile("ログインの有効期限が切れた")).is_visible()
    assert page.get_by_text("申請が見つかりません").count() == 0
    step("50-login-expired")

    log_in_with_card(page, test_card)
    page.wait_for_url(step_url)
    page.get_by_text("ステップ 1 /").wait_for()
    # What was typed before and after the expiry is all still there.
    assert page.locator("#f-applicant_name-kana").input_value() == "トウミ　ハナコ"
    assert page.locator("#f-applicant_phone").input_value() == "0268-62-1111"
    assert page.locator("#f-applicant_email").input_value() == "hanako@example.jp"
    step("51-login-renewed-step-resumed")

    page.get_by_role("button", name="下書きを保存").click()
    page.locator("#draft-saved").wait_for()
    stored = httpx.get(
        f"{web_server}/api/v1/submissions/{identifier}",
        headers={"Authorization": f"Bearer {citizen_token(page)}"},
    ).json()
    assert stored["answers"]["applicant_email"] == "hanako@example.jp"
    assert stored["answers"]["applicant_phone"] == "0268-62-1111"


def test_a_payment_return_after_the_login_expired_asks_for_the_card_and_lands_on_the_status(
    phone, web_server, test_card, screenshots
):
    page = phone
    page.goto("/#/me")
    page.get_by_role("button", name="ログインする").click()
    log_in_with_card(page, test_card)
    page.get_by_role("heading", name="マイページ").wait_for()
    created = httpx.post(
        f"{web_server}/api/v1/municipalities/{TOMI}/procedures/dog-registration/submissions",
        json={"answers": DOG, "submit": True},
        headers={"Authorization": f"Bearer {citizen_token(page)}"},
    )
    assert created.status_code == 201, created.text
    identifier = created.json()["id"]

    page.goto(f"/#/s/{identifier}")
    page.get_by_role("heading", name="申請の状況").wait_for()
    assert page.locator("#amount-due").inner_text() == "3,000円"
    page.get_by_role("button", name="手数料を支払う").click()
    page.wait_for_url(re.compile(r"/payments/demo/"))
    expire_login(page)  # the citizen took longer than the login lasts
    page.get_by_role("button", name="支払う / Pay").click()

    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    assert page.get_by_text("申請が見つかりません").count() == 0
    log_in_with_card(page, test_card)
    page.get_by_role("heading", name="申請の状況").wait_for()
    assert page.get_by_text("決済画面から戻りました").is_visible()
    page.locator("#current-status").filter(has_text=re.compile("お支払い済み|審査中")).wait_for()
    checker(page, screenshots)("52-payment-return-after-login")

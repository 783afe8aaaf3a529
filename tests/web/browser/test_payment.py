"""粗大ごみ with a fee: the review shows the computed lines (unit price × quantity), the
page after sending asks for the money instead of a green 受付, and a konbini payment
shows its 払込番号 and deadline on the status page."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.web.browser.helpers import TOMI, checker, submission_id


def today_in_japan() -> date:
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def bulky_waste_answers() -> dict:
    collection_day = today_in_japan() + timedelta(days=14)
    return {
        "applicant_name": {"name": "東御　花子", "kana": "トウミ　ハナコ"},
        "applicant_postal_code": "3890517",
        "applicant_address": {"prefecture": "長野県", "city": "東御市", "rest": "県281-2"},
        "applicant_phone": "0268-62-1111",
        "applicant_email": "hanako@example.jp",
        "housing_type": "house",
        "placement": "玄関前",
        "preferred_date": collection_day.isoformat(),
        "items": [{"category": "futon", "quantity": 2}, {"category": "bicycle", "quantity": 1}],
        "rules": True,
    }


def test_fee_lines_then_payment_due_then_a_konbini_voucher(phone, web_server, screenshots):
    page = phone
    step = checker(page, screenshots)
    page.goto(f"/#/m/{TOMI}/p/bulky-waste")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    identifier = submission_id(page)
    token = page.evaluate(
        "id => JSON.parse(localStorage.getItem('madoguchi.applications'))[id].token", identifier
    )
    saved = httpx.patch(
        f"{web_server}/api/v1/submissions/{identifier}",
        json={"answers": bulky_waste_answers()},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert saved.status_code == 200, saved.text

    page.goto(f"/#/s/{identifier}/review")
    page.get_by_role("heading", name="申請内容の確認").wait_for()
    fee = page.locator("#fee-table").inner_text()
    assert "粗大ごみ処理手数料（布団・毛布（1枚））" in fee
    assert "300円 × 2点" in fee and "600円" in fee
    assert "500円 × 1点" in fee
    assert page.locator("#fee-total").inner_text() == "1,100円"
    step("80-review-fee-lines")
    page.get_by_role("button", name="申請する").click()

    page.get_by_role("heading", name="手数料のお支払いが必要です").wait_for()
    assert page.locator(".panel.success").count() == 0
    assert page.get_by_text("申請を受け付けました").count() == 0
    assert page.locator("#amount-due").inner_text() == "1,100円"
    page.get_by_role("button", name="手数料を支払う").click()
    page.wait_for_url(re.compile(r"/payments/demo/"))
    page.get_by_role("button", name=re.compile("コンビニ払い")).click()

    page.get_by_role("heading", name="申請の状況").wait_for()
    voucher = page.locator("#konbini-voucher")
    voucher.wait_for()
    assert re.fullmatch(r"\d{11}", page.locator("#konbini-number").inner_text())
    due = today_in_japan() + timedelta(days=3)  # the voucher's 3 days
    assert page.locator("#konbini-deadline").inner_text().startswith(due.strftime("%Y/%m/%d"))
    assert page.get_by_role("button", name="別の方法で支払う").is_visible()
    step("81-konbini-voucher")


def test_a_voucher_with_a_code_per_store_lists_each_store(phone, web_server, screenshots):
    """Stripe's konbini vouchers give each chain its own 払込番号 (and some a 確認番号);
    the demo provider gives one for all. The real pending payment's voucher is reshaped
    into Stripe's per-store form on its way to the page."""
    page = phone
    created = httpx.post(
        f"{web_server}/api/v1/municipalities/{TOMI}/procedures/bulky-waste/submissions",
        json={"answers": bulky_waste_answers(), "submit": True},
    )
    assert created.status_code == 201, created.text
    identifier, token = created.json()["id"], created.json()["access_token"]
    page.goto("/")
    page.locator("h1").wait_for()
    page.evaluate(
        """([id, token]) => localStorage.setItem('madoguchi.applications', JSON.stringify({
            [id]: {id, token, municipality: '202193', procedure: 'bulky-waste',
                   title: {ja: '粗大ごみ戸別収集の申込み'}, status: 'awaiting_payment'}}))""",
        [identifier, token],
    )
    page.goto(f"/#/s/{identifier}")
    page.get_by_role("button", name="手数料を支払う").click()
    page.wait_for_url(re.compile(r"/payments/demo/"))
    page.get_by_role("button", name=re.compile("コンビニ払い")).click()
    page.locator("#konbini-voucher").wait_for()

    def per_store(route) -> None:
        response = route.fetch()
        payment = response.json()
        voucher = payment["voucher"]
        code = voucher.pop("payment_code")
        voucher["payment_code"] = None
        voucher["stores"] = {
            "familymart": {"payment_code": code, "confirmation_number": None},
            "lawson": {"payment_code": f"L{code}", "confirmation_number": "123456"},
        }
        route.fulfill(response=response, json=payment)

    page.route(f"**/api/v1/submissions/{identifier}/payment", per_store)
    page.reload()
    voucher = page.locator("#konbini-voucher")
    voucher.wait_for()
    text = voucher.inner_text()
    assert "払込番号（ファミリーマート）" in text
    assert "払込番号（ローソン）" in text and "（確認番号 123456）" in text
    assert page.locator("#konbini-deadline").is_visible()
    checker(page, screenshots)("82-konbini-voucher-per-store")

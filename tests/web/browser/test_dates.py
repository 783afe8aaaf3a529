"""Relative date bounds as a citizen meets them: a birth date bounded by `today` and a
collection date bounded by `today+7d` are stated under the field, refused in the
browser with an explanation naming the day, and refused by the server too (the value
is kept on the device, never on the server). Today itself is accepted."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import expect

from tests.web.browser.helpers import TOMI, checker, submission_id

WEEKDAYS = "月火水木金土日"


def today_in_japan() -> date:
    return datetime.now(ZoneInfo("Asia/Tokyo")).date()


def japanese(day: date) -> str:
    """As the client writes a date: 2026年11月29日（日）."""
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def fill_birth_date(page, day: date) -> None:
    page.locator("#f-applicant_birth_date-era").select_option("western")
    page.locator("#f-applicant_birth_date-year").fill(str(day.year))
    page.locator("#f-applicant_birth_date-month").fill(str(day.month))
    page.locator("#f-applicant_birth_date-day").fill(str(day.day))


def stored_answers(page, web_server: str, identifier: str) -> dict:
    token = page.evaluate(
        "id => JSON.parse(localStorage.getItem('madoguchi.applications'))[id].token", identifier
    )
    response = httpx.get(
        f"{web_server}/api/v1/submissions/{identifier}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["answers"])


def test_a_birth_date_after_today_is_refused_and_explained(phone, web_server, screenshots):
    page = phone
    today = today_in_japan()
    tomorrow = today + timedelta(days=1)
    # The served schema states the bound as the concrete day (what the client reads).
    detail = httpx.get(f"{web_server}/api/v1/municipalities/{TOMI}/procedures/bulky-waste")
    birth_schema = detail.json()["json_schema"]["properties"]["applicant_birth_date"]
    assert birth_schema["formatMaximum"] == today.isoformat()

    page.goto(f"/#/m/{TOMI}/p/bulky-waste")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    identifier = submission_id(page)
    birth = page.locator("[data-path='/applicant_birth_date']")
    explained = f"今日（{japanese(today)}）以前の日付を入力してください"
    # Stated before anything is typed.
    assert f"今日（{japanese(today)}）までの日付" in birth.locator(".help.bounds").inner_text()

    fill_birth_date(page, tomorrow)
    page.get_by_role("button", name="次へ").click()
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert f"生年月日: {explained}" in summary.inner_text()
    expect(birth.locator(".field-error")).to_contain_text(explained)
    assert page.locator("#f-applicant_birth_date-era").get_attribute("aria-invalid") == "true"
    checker(page, screenshots)("64-date-bound-today")

    # The server refuses it as well: 下書きを保存 keeps it on this device only, with the
    # server's own explanation, and stores the rest.
    page.locator("#f-applicant_phone").fill("0268-62-1111")
    page.get_by_role("button", name="下書きを保存").click()
    page.locator("#draft-saved").wait_for()
    server_says = f"{tomorrow.year}年{tomorrow.month}月{tomorrow.day}日以前の日付を入力してください"
    expect(birth.locator(".field-error")).to_contain_text(
        f"{today.year}年{today.month}月{today.day}日以前の日付を入力してください"
    )
    assert server_says not in birth.locator(".field-error").inner_text()
    answers = stored_answers(page, web_server, identifier)
    assert "applicant_birth_date" not in answers
    assert answers["applicant_phone"] == "0268-62-1111"
    assert tomorrow.isoformat() in str(page.evaluate("localStorage.getItem('madoguchi.unsaved')"))

    # Today itself is within the bound: accepted and stored.
    fill_birth_date(page, today)
    page.get_by_role("button", name="下書きを保存").click()
    expect(page.locator("#draft-saved")).not_to_contain_text("修正が必要な項目")
    expect(birth.locator(".field-error")).to_be_hidden()
    assert stored_answers(page, web_server, identifier)["applicant_birth_date"] == today.isoformat()


def test_a_collection_date_before_today_plus_7_days_is_refused_and_explained(phone, screenshots):
    page = phone
    first = today_in_japan() + timedelta(days=7)
    page.goto(f"/#/m/{TOMI}/p/bulky-waste")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    page.goto(page.url.replace("/step/0", "/step/1"))
    page.get_by_role("heading", name="収集場所と希望日").wait_for()
    field = page.locator("[data-path='/preferred_date']")
    assert f"{japanese(first)}から" in field.locator(".help.bounds").inner_text()

    page.locator("#f-preferred_date").fill("2019年4月1日")
    page.get_by_role("button", name="次へ").click()
    expect(field.locator(".field-error")).to_contain_text(
        f"{japanese(first)}以降の日付を入力してください"
    )
    page.locator("#f-preferred_date").fill(first.strftime("%Y/%m/%d"))
    page.get_by_role("button", name="次へ").click()
    # Other required answers of the step are missing, but the date is no longer refused.
    page.locator(".error-summary").wait_for()
    expect(field.locator(".field-error")).to_be_hidden()
    checker(page, screenshots)("65-date-bound-accepted")

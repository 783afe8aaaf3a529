"""200% text at 360 px on every page a citizen passes through: nothing scrolls sideways
(WCAG 1.4.4 / 1.4.10) and axe still finds nothing. The text size is the root font size,
as a browser's text zoom sets it; it is kept across the hash routes of one page load."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.web.browser.a11y import assert_accessible
from tests.web.browser.helpers import TOMI, overflowing, snap, submission_id


def bulky_waste_answers() -> dict:
    collection_day = datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=14)
    return {
        "applicant_name": {"name": "東御　花子", "kana": "トウミ　ハナコ"},
        "applicant_birth_date": "1988-02-03",
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


def test_every_citizen_page_reflows_at_200_percent_text(phone, web_server, screenshots):
    page = phone

    def check(hash_: str, ready: str, name: str) -> None:
        page.evaluate("hash => { location.hash = hash; }", hash_)
        page.get_by_text(ready).first.wait_for()
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), name
        assert overflowing(page) == [], name
        assert_accessible(page, name)
        snap(page, screenshots, name)

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

    page.evaluate("document.documentElement.style.fontSize = '200%'")
    check("#/", "市区町村を選んでください", "90-200-home")
    check(f"#/m/{TOMI}", "件の手続があります", "91-200-procedures")
    check(f"#/m/{TOMI}/p/bulky-waste", "申請の前に準備するもの", "92-200-before-starting")
    check(f"#/s/{identifier}/step/0", "ステップ 1 /", "93-200-step-birth-date")
    check(f"#/s/{identifier}/step/2", "ステップ 3 /", "94-200-step-group")
    check(f"#/s/{identifier}/review", "手数料の内訳", "95-200-review-fee")
    # The fee lines stay readable: each item's name has room for several characters a
    # line (not one), and its unit price × quantity is on one line.
    narrowest = page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('#fee-table tbody th')].map(
            (th) => th.getBoundingClientRect().width
                / parseFloat(getComputedStyle(th).fontSize)))"""
    )
    assert narrowest >= 7, narrowest
    unit = page.locator("#fee-table tbody .fee-unit").first
    assert unit.inner_text() == "500円 × 1点" or unit.inner_text() == "300円 × 2点"
    assert unit.evaluate(
        "n => n.getBoundingClientRect().height < 2 * parseFloat(getComputedStyle(n).lineHeight)"
    )

    page.get_by_role("button", name="申請する").click()
    page.get_by_role("heading", name="手数料のお支払いが必要です").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert overflowing(page) == []
    check(f"#/s/{identifier}", "これまでの経過", "96-200-status")
    check("#/me", "申請を取り下げる", "97-200-mypage")
    check("#/privacy", "この端末に保存するもの", "98-200-privacy")

"""Keyboard only: a citizen starts a procedure, answers with Tab, Space, arrows and
typing, sends the step with Enter, and reaches a refused field from the error summary;
every stop of the Tab order shows where the focus is (WCAG 2.1.1, 2.4.3, 2.4.7)."""

from __future__ import annotations

from tests.web.browser.helpers import TOMI, focused_id

FOCUSED = """() => {
    const node = document.activeElement;
    const style = getComputedStyle(node);
    return {
        id: node.id, tag: node.tagName, text: (node.innerText || node.value || '').trim(),
        type: node.type || null,
        visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
            || style.boxShadow !== 'none',
    };
}"""


def tab_until(page, matches, limit: int = 60) -> list[dict]:
    """Presses Tab until the focused element `matches`; returns every stop on the way
    (the last one included). Each stop must show its focus."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        stops.append(stop)
        assert stop["visible"], f"no visible focus on {stop}"
        if matches(stop):
            return stops
    raise AssertionError(f"not reached by Tab: {stops}")


def test_a_procedure_started_and_answered_with_the_keyboard_alone(phone):
    page = phone
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    page.get_by_role("heading", name="防犯灯の設置・修繕の要望").wait_for()

    # From the page's heading, Tab reaches 申請を始める through the page's links.
    stops = tab_until(page, lambda stop: stop["text"] == "申請を始める")
    assert any(stop["text"] == "個人情報の取扱い" for stop in stops)
    page.keyboard.press("Enter")
    page.get_by_text("ステップ 1 /").wait_for()

    # The first choice of 要望の種類 by Tab, another by the arrow keys (radios select as
    # the focus moves), then the 氏名 typed.
    tab_until(page, lambda stop: stop["type"] == "radio")
    page.keyboard.press("ArrowDown")
    checked = page.locator("[data-path='/request_type'] input:checked")
    assert checked.count() == 1 and checked.evaluate("n => n === document.activeElement")
    tab_until(page, lambda stop: stop["id"] == "f-applicant_name-name")
    page.keyboard.type("東御　花子")

    # Enter in a text box sends the step: the summary takes the focus and its first
    # link, followed with Enter, puts the focus in the field to correct.
    page.keyboard.press("Enter")
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert summary.evaluate("node => node === document.activeElement")
    first = tab_until(page, lambda stop: stop["tag"] == "A")[-1]
    page.keyboard.press("Enter")
    assert focused_id(page).startswith("f-"), first
    assert page.locator(f"#{focused_id(page)}").get_attribute("aria-invalid") == "true"

    # 下書きを保存 by the keyboard says it saved.
    tab_until(page, lambda stop: stop["id"] == "save-draft")
    page.keyboard.press("Enter")
    page.locator("#draft-saved").wait_for()


def test_the_inline_confirmation_is_used_with_the_keyboard(phone):
    """取下げ in マイページ: the inline question takes the focus, やめる (Enter) closes it."""
    page = phone
    page.goto(f"/#/m/{TOMI}/p/street-light-request")
    page.get_by_role("button", name="申請を始める").click()
    page.get_by_text("ステップ 1 /").wait_for()
    page.goto("/#/me")
    page.get_by_role("heading", name="マイページ").wait_for()
    tab_until(page, lambda stop: stop["text"] == "下書きを削除")
    page.keyboard.press("Enter")
    confirm = page.locator(".confirm")
    confirm.wait_for()
    assert confirm.evaluate("node => node === document.activeElement")
    stops = tab_until(page, lambda stop: stop["text"] == "やめる")
    assert stops[0]["text"] == "下書きを削除"  # the question's own button comes first
    page.keyboard.press("Enter")
    assert page.locator(".confirm").count() == 0
    # The focus is back on the button that asked, not lost to the page's top.
    assert page.evaluate(FOCUSED)["text"] == "下書きを削除"

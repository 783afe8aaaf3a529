"""What the browser tests share: screenshots, the test card, axe on every page, and the
staff side (a real staff token over HTTP) that moves an application along."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.web.browser.a11y import assert_accessible

CARD_FILES = ("auth.key.pem", "auth.cer", "sign.key.pem", "sign.cer")
TOMI = "202193"
DEMO_PASSWORD = "madoguchi-demo-only"


def snap(page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def checker(page, screenshots: Path) -> Callable[[str], None]:
    """`step(name)`: the page as shown passes axe (any impact) and is photographed."""

    def step(name: str) -> None:
        page.wait_for_load_state("networkidle")
        assert_accessible(page, name)
        snap(page, screenshots, name)

    return step


def load_card(page, card: Path) -> None:
    page.set_input_files("#test-card-files", [str(card / name) for name in CARD_FILES])
    page.get_by_text("テスト用カードを読み込みました。").first.wait_for()


def log_in_with_card(page, card: Path) -> None:
    page.get_by_role("heading", name="マイナンバーカードでログイン").wait_for()
    if page.get_by_text("テスト用カードを読み込みました。").count() == 0:
        load_card(page, card)
    page.get_by_role("button", name="ログインする").click()


def overflowing(page) -> list[str]:
    """The elements wider than the viewport (none when the page reflows)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll('main *, header *, footer *')]
                .filter((node) => node.getBoundingClientRect().right > window.innerWidth + 1)
                .map((node) => node.tagName + (node.id ? '#' + node.id : '')
                    + (node.className && typeof node.className === 'string'
                        ? '.' + node.className.split(' ').join('.') : ''))"""
        )
    )


def focused_id(page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def submission_id(page) -> str:
    match = re.search(r"#/s/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def staff_token(base_url: str, email: str = "admin@tomi.example") -> str:
    response = httpx.post(
        f"{base_url}/api/v1/admin/auth/token",
        data={"username": email, "password": DEMO_PASSWORD},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def staff_transition(base_url: str, submission: str, body: dict[str, Any]) -> None:
    """A staff decision over the API, as the review screen makes it (If-Match: the ETag
    of the detail view decided on)."""
    headers = {"Authorization": f"Bearer {staff_token(base_url)}"}
    detail = httpx.get(f"{base_url}/api/v1/admin/submissions/{submission}", headers=headers)
    assert detail.status_code == 200, detail.text
    response = httpx.post(
        f"{base_url}/api/v1/admin/submissions/{submission}/transitions",
        json=body,
        headers={**headers, "If-Match": detail.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


def expired_citizen_token(current_token: str) -> str:
    """A citizen token for the same card, signed with the server's key, that expired a
    minute ago: what the browser holds once the 15 minutes are over."""
    from jose import jwt

    from app.auth import citizen_tokens
    from app.config import Settings

    subject = jwt.get_unverified_claims(current_token)["sub"]
    settings = Settings(environment="development")
    issued = datetime.now(UTC) - timedelta(seconds=settings.citizen_token_ttl_seconds + 60)
    return citizen_tokens.issue(settings, subject=subject, now=issued).access_token

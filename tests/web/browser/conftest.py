"""The web client in a real browser: Debian's chromium driven by Playwright.

The app runs under uvicorn on a free loopback port against its own SQLite database
(migrated with Alembic, seeded with `python -m app.seed`). No browser is downloaded:
without /usr/bin/chromium (see `make browser`) the tests skip, unless
REQUIRE_BROWSER=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = PROJECT_ROOT / "test-output" / "web"
PHONE = {"width": 360, "height": 640}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (REQUIRE_BROWSER=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, cwd=PROJECT_ROOT, env=env, check=True, capture_output=True, timeout=300)


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The whole app under uvicorn, as `make run` serves it; yields its base URL."""
    directory = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'web.db'}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYMENT_PROVIDER": "demo",
        "LOG_LEVEL": "WARNING",
        # Every test logs in with the card from the same address within a minute.
        "RATE_LIMIT_JPKI_PER_WINDOW": "10000",
    }
    _run([sys.executable, "-m", "alembic", "upgrade", "heads"], env)
    _run([sys.executable, "-m", "app.seed"], env)
    log = (directory / "uvicorn.log").open("wb")
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"),
            *("--host", "127.0.0.1", "--port", str(port)),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/api/v1/client-config", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((directory / "uvicorn.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def test_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TEST ONLY card minted by the shipped command, as a developer would."""
    folder = tmp_path_factory.mktemp("card") / "hanako"
    _run(
        [
            *(sys.executable, "-m", "app.auth.jpki.testca", "mint-card", "--name", "東御　花子"),
            *("--birth-date", "1990-05-01", "--sex", "2"),
            *("--address", "長野県東御市県２８１番地２", "--out", str(folder)),
        ],
        dict(os.environ),
    )
    return folder


# One browser for the web tests, closed after the last of them: sync Playwright runs its
# own event loop while it is open, which the async tests (and the PostgreSQL fixtures'
# asyncio.run) of other packages must not meet.
@pytest.fixture(scope="package")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, web_server: str):
    """A fresh phone-sized page (360x640), Japanese, on the app."""
    context = browser.new_context(
        viewport=PHONE, base_url=web_server, locale="ja-JP", device_scale_factor=2
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS

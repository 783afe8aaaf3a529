"""Log injection (issue 15): a line break or other control character in the request path,
or in anything else logged, cannot start a forged log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import httpx
import pytest

from app.logging_config import escape_control_characters

FORGED = "2020-01-01 05:00:00,000 INFO madoguchi.access [-] POST /api/v1/admin/auth/token 200"


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """What the app's own handler writes (create_app installs it on the root logger)."""
    logging.getLogger("madoguchi.access").setLevel(logging.INFO)
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "madoguchi")
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    if previous is not None:
        handler.setStream(previous)


async def test_a_line_break_in_the_path_cannot_forge_an_access_log_line(
    client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    response = await client.get(
        "/api/v1/municipalities/%0d%0a" + FORGED.replace(" ", "%20") + "%e2%80%a8%1b[2J"
    )
    assert response.status_code in (404, 422)
    lines = log_output.getvalue().splitlines()
    access = [line for line in lines if " madoguchi.access " in line]
    assert len(access) == 1
    assert not any(line.startswith(FORGED[:10]) for line in lines)
    assert "/api/v1/municipalities/\\x0d\\x0a2020-01-01 05:00:00,000 INFO" in access[0]
    assert "\\u2028\\x1b[2J " in access[0]
    assert "\x1b" not in log_output.getvalue() and "\u2028" not in log_output.getvalue()


async def test_every_logger_writes_one_line_per_record(
    client: httpx.AsyncClient, log_output: io.StringIO
) -> None:
    logging.getLogger("app.test").warning("name %s\r\n%s", "a\x85b\u202eevil", FORGED)
    try:
        raise RuntimeError("boom\nnext")
    except RuntimeError:
        logging.getLogger("app.test").exception("failed")
    lines = log_output.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("name a\\x85b\\u202eevil\\x0d\\x0a" + FORGED)
    assert "RuntimeError: boom\\x0anext" in lines[1]


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("a\nb", "a\\x0ab"),
        ("tab\there", "tab\\x09here"),
        ("\\x0a", "\\\\x0a"),
        ("\ud800", "\\ud800"),
        ("上田市 ok", "上田市 ok"),
    ],
)
def test_escapes_are_printable_and_unambiguous(text: str, logged: str) -> None:
    assert escape_control_characters(text) == logged

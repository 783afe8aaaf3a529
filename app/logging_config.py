"""Logging: one line per record with the request id; never request bodies or tokens.

Every record is one line: control characters in anything logged (a `%0a` decoded into
the request path, a traceback's line breaks) are written as escapes, so no value can
start a forged line or rewrite the terminal.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from app.request_context import current_request_id

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_NAME = "madoguchi"
_base_factory = logging.getLogRecordFactory()
# C0, DEL and C1 controls; the Unicode line and paragraph separators; the bidirectional
# controls, which can make a line read as something it is not; lone surrogates, which no
# log file can encode; and the backslash, so that an escape always means an escape.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\\]")


def _escape(match: re.Match[str]) -> str:
    character = match.group()
    if character == "\\":
        return "\\\\"
    code = ord(character)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control_characters(text: str) -> str:
    """A line break becomes the four characters `\\x0a`: printable, one line, reversible."""
    return _UNSAFE.sub(_escape, text)


class OneLineFormatter(logging.Formatter):
    """The standard formatter, then every control character escaped (message, arguments,
    traceback alike)."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_control_characters(super().format(record))


def _record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    record.request_id = current_request_id() or "-"
    return record


def configure_logging(level: str) -> None:
    """Idempotent: every record (ours, uvicorn's, SQLAlchemy's) gets `request_id`."""
    logging.setLogRecordFactory(_record_with_request_id)
    root = logging.getLogger()
    if not any(handler.get_name() == _HANDLER_NAME for handler in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.setFormatter(OneLineFormatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own access log prints query strings, which may carry personal data;
    # ours (madoguchi.access) logs the path only.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True

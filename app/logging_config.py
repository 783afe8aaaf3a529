"""Logging: one line per record with the request id; never request bodies or tokens."""

from __future__ import annotations

import logging
import sys
from typing import Any

from app.request_context import current_request_id

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_HANDLER_NAME = "madoguchi"
_base_factory = logging.getLogRecordFactory()


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
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own access log prints query strings, which may carry personal data;
    # ours (madoguchi.access) logs the path only.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True

"""Optimistic concurrency over HTTP (RFC 9110 conditional requests): a detail response
carries the row version as its ETag, and a write that changes the row sends it back in
If-Match. Without one the answer is 428; a stale one is 409 (the service's check)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header

from app.errors import AppError

_ETAG = re.compile(r'^"(\d{1,18})"$')

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The ETag of the detail view this change is based on"),
]


class PreconditionRequired(AppError, code="PRECONDITION_REQUIRED", status=428): ...


def etag(row_version: int) -> str:
    return f'"{row_version}"'


def expected_row_version(if_match: str | None) -> int | None:
    """The row version an If-Match names; None when absent, `*` or not ours."""
    match = _ETAG.match((if_match or "").strip())
    return int(match.group(1)) if match else None


def require_row_version(expected: int | None) -> int:
    """The row version a write is based on; 428 when the request named none."""
    if expected is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag of the detail view you decided on.",
            "詳細画面のETagをIf-Matchヘッダーで送信してください。",
        )
    return expected

"""Fixtures for attachments: small limits, a private attachment directory per test, and
a draft of the small test procedure to attach files to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.config import Settings
from tests.conftest import Backend
from tests.submissions.conftest import api, clock, tomi
from tests.submissions.helpers import bearer, create_draft

__all__ = ["api", "clock", "tomi"]

MAX_FILE_BYTES = 100_000
MAX_TOTAL_BYTES = 250_000
MAX_COUNT = 4
GENERAL_BODY_CAP = 50_000
"""MAX_REQUEST_BODY_BYTES here: below one allowed file, so the upload route's own cap shows."""
ANSWERS = {"copies": 1, "requester": "self"}


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=backend.url,
        log_level="WARNING",
        max_request_body_bytes=GENERAL_BODY_CAP,
        attachment_dir=tmp_path / "attachments",
        attachment_max_file_bytes=MAX_FILE_BYTES,
        attachment_max_total_bytes=MAX_TOTAL_BYTES,
        attachment_max_count=MAX_COUNT,
    )


@dataclass(frozen=True)
class Draft:
    id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)

    @property
    def attachments(self) -> str:
        return f"/api/v1/submissions/{self.id}/attachments"


@pytest.fixture
async def draft(api: httpx.AsyncClient, tomi: str) -> Draft:
    submission_id, token = await create_draft(api, ANSWERS)
    return Draft(submission_id, token)


async def upload(
    api: httpx.AsyncClient,
    draft: Draft,
    content: bytes,
    *,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    return await api.post(
        draft.attachments,
        files={"file": (filename, content, content_type)},
        headers=draft.headers if headers is None else headers,
        params=params,
    )

"""Retention (保存期間): purging an application's answers removes its attachments too,
rows and stored bytes; a dry run only counts them."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.models import Attachment
from app.attachments.storage import storage_for
from app.config import Settings
from app.db import utcnow
from app.retention import service as retention
from tests.attachments import media
from tests.attachments.conftest import Draft, upload
from tests.submissions.helpers import count_rows, submit


async def test_purge_removes_the_bytes(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    for content in (media.jpeg_with_gps(), media.plain_pdf()):
        assert (await upload(api, draft, content)).status_code == 201
    assert (await submit(api, draft.id, draft.token)).status_code == 200
    withdrawn = await api.post(f"/api/v1/submissions/{draft.id}/withdraw", headers=draft.headers)
    assert withdrawn.status_code == 200
    files = [path for path in settings.attachment_dir.rglob("*") if path.is_file()]
    assert len(files) == 2
    later = utcnow() + timedelta(days=3)

    async with session_factory() as session, session.begin():
        counted = await retention.purge(
            session,
            now=later,
            default_days=1,
            dry_run=True,
            attachment_storage=storage_for(settings),
        )
    assert (counted.submissions, counted.attachments) == (1, 2)
    assert all(path.is_file() for path in files)

    async with session_factory() as session, session.begin():
        report = await retention.purge(
            session, now=later, default_days=1, attachment_storage=storage_for(settings)
        )

    assert (report.submissions, report.attachments) == (1, 2)
    assert not any(path.exists() for path in files)
    assert await count_rows(session_factory, Attachment) == 0
    listing = await api.get(draft.attachments, headers=draft.headers)
    assert listing.json()["items"] == []

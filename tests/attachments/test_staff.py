"""Staff of the municipality list and download attachments; each download is audited."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.config import Settings
from tests.attachments import media
from tests.attachments.conftest import Draft, upload
from tests.factories import UEDA, create_staff, staff_headers
from tests.submissions.helpers import submit


async def _submitted_with_pdf(api: httpx.AsyncClient, draft: Draft) -> str:
    uploaded = await upload(
        api, draft, media.plain_pdf(), filename="診断書.pdf", content_type="application/pdf"
    )
    assert uploaded.status_code == 201, uploaded.text
    assert (await submit(api, draft.id, draft.token)).status_code == 200
    attachment_id: str = uploaded.json()["id"]
    return attachment_id


async def _downloads(session: AsyncSession) -> list[AuditEntry]:
    rows = await session.scalars(
        select(AuditEntry).where(AuditEntry.action == "attachment.download")
    )
    return list(rows)


def _admin_url(draft: Draft, attachment_id: str | None = None) -> str:
    url = f"/api/v1/admin/submissions/{draft.id}/attachments"
    return f"{url}/{attachment_id}/content" if attachment_id else url


async def test_a_reviewer_lists_and_downloads_and_the_download_is_audited(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    attachment_id = await _submitted_with_pdf(api, draft)
    reviewer = await create_staff(session_factory, roles=("reviewer",), department="市民課")
    headers = staff_headers(settings, reviewer)

    listing = await api.get(_admin_url(draft), headers=headers)
    assert listing.status_code == 200
    assert [item["id"] for item in listing.json()["items"]] == [attachment_id]
    assert listing.json()["items"][0]["filename"] == "診断書.pdf"
    async with session_factory() as session:
        assert await _downloads(session) == []  # a listing is not a download

    download = await api.get(_admin_url(draft, attachment_id), headers=headers)
    assert download.status_code == 200
    assert download.content == media.plain_pdf()
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["cache-control"] == "no-store"
    assert download.headers["content-disposition"].startswith("attachment;")

    async with session_factory() as session:
        entries = await _downloads(session)
    assert [(e.action, e.target_type, e.target_id, e.actor_id) for e in entries] == [
        ("attachment.download", "attachment", attachment_id, str(reviewer.id))
    ]
    assert entries[0].details["submission_id"] == draft.id


async def test_staff_of_another_municipality_or_department_get_404(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    attachment_id = await _submitted_with_pdf(api, draft)
    ueda_admin = await create_staff(session_factory, municipality_code=UEDA, roles=("admin",))
    other_department = await create_staff(
        session_factory, roles=("reviewer",), department="子育て支援課"
    )
    for member in (ueda_admin, other_department):
        headers = staff_headers(settings, member)
        assert (await api.get(_admin_url(draft), headers=headers)).status_code == 404
        download = await api.get(_admin_url(draft, attachment_id), headers=headers)
        assert download.status_code == 404
    finance = await create_staff(session_factory, roles=("finance",))
    forbidden = await api.get(_admin_url(draft), headers=staff_headers(settings, finance))
    assert forbidden.status_code == 403
    async with session_factory() as session:
        assert await _downloads(session) == []


async def test_a_draft_s_attachments_are_not_shown_to_staff(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    uploaded = await upload(api, draft, media.png(), content_type="image/png")
    admin = await create_staff(session_factory, roles=("admin",))
    headers = staff_headers(settings, admin)
    assert (await api.get(_admin_url(draft), headers=headers)).status_code == 404
    url = _admin_url(draft, uploaded.json()["id"])
    assert (await api.get(url, headers=headers)).status_code == 404
    assert (await api.get(_admin_url(draft, str(uuid.uuid4())), headers=headers)).status_code == 404


async def test_a_quarantined_attachment_is_not_handed_out(
    api: httpx.AsyncClient,
    draft: Draft,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    attachment_id = await _submitted_with_pdf(api, draft)
    async with session_factory() as session, session.begin():
        await session.execute(
            update(Attachment)
            .where(Attachment.id == uuid.UUID(attachment_id))
            .values(scan_status="pending")
        )
    admin = await create_staff(session_factory, roles=("admin",))

    response = await api.get(
        _admin_url(draft, attachment_id), headers=staff_headers(settings, admin)
    )

    assert response.status_code == 409
    assert response.json()["code"] == "ATTACHMENT_QUARANTINED"
    own = await api.get(f"{draft.attachments}/{attachment_id}/content", headers=draft.headers)
    assert own.status_code == 409

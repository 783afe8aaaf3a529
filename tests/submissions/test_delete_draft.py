"""下書きの削除: the owner deletes a draft that was never submitted, with its attachments
(rows and stored bytes), its idempotency records and history; an audit entry without
personal data remains. Nobody else can, and a submitted application is withdrawn, not
deleted."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.attachments.models import Attachment
from app.audit.models import AuditEntry
from app.config import Settings
from app.kpi import rollups
from app.submissions import service
from app.submissions.models import IdempotencyRecord, Submission, SubmissionEvent
from tests.attachments import media
from tests.conftest import Backend
from tests.submissions.helpers import (
    PROBLEM,
    bearer,
    count_rows,
    create_draft,
    stored_submission,
    submit,
)

ANSWERS = {"copies": 1, "requester": "self"}


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=backend.url,
        log_level="WARNING",
        max_request_body_bytes=256_000,
        attachment_dir=tmp_path / "attachments",
    )


def url(submission_id: str) -> str:
    return f"/api/v1/submissions/{submission_id}"


def stored_files(settings: Settings) -> list[Path]:
    return [path for path in settings.attachment_dir.rglob("*") if path.is_file()]


async def attach(api: httpx.AsyncClient, submission_id: str, token: str) -> None:
    uploaded = await api.post(
        f"{url(submission_id)}/attachments",
        files={"file": ("photo.jpg", media.jpeg_with_gps(), "image/jpeg")},
        headers=bearer(token),
    )
    assert uploaded.status_code == 201, uploaded.text


async def test_the_owner_deletes_a_draft_with_its_attachment(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    key = str(uuid.uuid4())
    draft, token = await create_draft(api, ANSWERS, key=key)
    await attach(api, draft, token)
    kept, kept_token = await create_draft(api, ANSWERS)  # another draft stays untouched
    await attach(api, kept, kept_token)
    assert len(stored_files(settings)) == 2
    assert await count_rows(session_factory, IdempotencyRecord) == 1

    deleted = await api.delete(url(draft), headers=bearer(token))

    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""
    assert (await api.get(url(draft), headers=bearer(token))).status_code == 404
    assert (await api.get(f"{url(draft)}/attachments", headers=bearer(token))).status_code == 404
    again = await api.delete(url(draft), headers=bearer(token))
    assert again.status_code == 404
    assert again.json()["code"] == "SUBMISSION_NOT_FOUND"
    # Its bytes are gone from the store; the other draft's file is still there.
    assert len(stored_files(settings)) == 1
    assert (await api.get(url(kept), headers=bearer(kept_token))).status_code == 200
    listing = await api.get(f"{url(kept)}/attachments", headers=bearer(kept_token))
    assert len(listing.json()["items"]) == 1
    async with session_factory() as session:
        ids = {uuid.UUID(draft)}
        for model in (Submission, SubmissionEvent, Attachment):
            column = model.id if model is Submission else model.submission_id
            assert (await session.scalars(select(model).where(column.in_(ids)))).all() == []
        # The creation's receipt is gone with it: no replay names a deleted draft.
        assert (await session.scalars(select(IdempotencyRecord))).all() == []
        entries = (await session.scalars(select(AuditEntry))).all()
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.target_type, entry.target_id) == (
        "submission.delete_draft",
        "submission",
        draft,
    )
    assert (entry.actor_type, entry.actor_id) == ("citizen", "applicant")
    assert entry.details["attachments"] == 1
    # Nothing personal: no answers, no token, no card subject.
    assert token not in str(entry.details) and "self" not in str(entry.details.values())


async def test_a_draft_counts_in_no_kpi_before_or_after_deletion(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    draft, token = await create_draft(api, ANSWERS)
    async with session_factory() as session:
        before = await rollups.recount(session, tomi)
        assert before == await rollups.stored(session, tomi)
    assert not before.usage
    assert (await api.delete(url(draft), headers=bearer(token))).status_code == 204
    async with session_factory() as session:
        assert await rollups.recount(session, tomi) == before
        assert await rollups.stored(session, tomi) == before


async def test_another_caller_gets_not_found_and_the_draft_stays(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    draft, token = await create_draft(api, ANSWERS)
    await attach(api, draft, token)
    _, other_token = await create_draft(api, ANSWERS)

    for headers in (bearer(other_token), bearer("sat_" + "x" * 43)):
        refused = await api.delete(url(draft), headers=headers)
        assert refused.status_code == 404
        assert refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["code"] == "SUBMISSION_NOT_FOUND"
    assert (await api.delete(url(draft))).status_code == 401
    assert (await api.delete(url(str(uuid.uuid4())), headers=bearer(token))).status_code == 404

    assert (await api.get(url(draft), headers=bearer(token))).json()["status"] == "draft"
    assert len(stored_files(settings)) == 1
    assert await count_rows(session_factory, Attachment) == 1
    assert await count_rows(session_factory, AuditEntry) == 0


async def test_a_submitted_application_is_not_deleted(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    draft, token = await create_draft(api, ANSWERS)
    await attach(api, draft, token)
    assert (await submit(api, draft, token)).status_code == 200

    refused = await api.delete(url(draft), headers=bearer(token))

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith(PROBLEM)
    problem = refused.json()
    assert problem["code"] == "SUBMISSION_NOT_DELETABLE"
    assert problem["current_status"] == "awaiting_payment"
    assert "取下げ" in problem["detail_ja"] and "withdraw" in problem["detail"]
    stored = await stored_submission(session_factory, draft)
    assert stored.reference_number is not None
    assert len(stored_files(settings)) == 1

    # Withdrawn, it is still kept (retention), never deleted.
    assert (await api.post(f"{url(draft)}/withdraw", headers=bearer(token))).status_code == 200
    withdrawn = await api.delete(url(draft), headers=bearer(token))
    assert withdrawn.status_code == 409
    assert withdrawn.json()["current_status"] == "withdrawn"
    assert await count_rows(session_factory, AuditEntry) == 0


async def test_a_retried_delete_with_its_key_gets_the_first_answer(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    draft, token = await create_draft(api, ANSWERS)
    headers = {**bearer(token), "Idempotency-Key": str(uuid.uuid4())}

    first = await api.delete(url(draft), headers=headers)
    retried = await api.delete(url(draft), headers=headers)

    assert (first.status_code, retried.status_code) == (204, 204)
    assert retried.headers["idempotent-replayed"] == "true"
    assert await count_rows(session_factory, AuditEntry) == 1  # deleted once
    # Without the key a second delete is simply not found.
    assert (await api.delete(url(draft), headers=bearer(token))).status_code == 404


async def test_a_deletion_that_fails_leaves_everything_in_place(
    api: httpx.AsyncClient,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last write of the deletion (its audit entry) fails: the draft, its attachment
    row and its stored bytes are all still there, and a retry deletes them."""
    draft, token = await create_draft(api, ANSWERS)
    await attach(api, draft, token)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(service.audit, "record", broken)
    try:
        failed = await api.delete(url(draft), headers=bearer(token))
    except RuntimeError:
        pass  # the test transport re-raises what the app answered 500 to
    else:
        assert failed.status_code == 500
    monkeypatch.undo()

    assert (await api.get(url(draft), headers=bearer(token))).json()["status"] == "draft"
    assert await count_rows(session_factory, Attachment) == 1
    assert len(stored_files(settings)) == 1
    listing = await api.get(f"{url(draft)}/attachments", headers=bearer(token))
    attachment = listing.json()["items"][0]["id"]
    content = await api.get(f"{url(draft)}/attachments/{attachment}/content", headers=bearer(token))
    assert content.status_code == 200

    assert (await api.delete(url(draft), headers=bearer(token))).status_code == 204
    assert stored_files(settings) == []


async def test_a_delete_racing_a_submit_leaves_one_consistent_outcome(
    api: httpx.AsyncClient,
    tomi: str,
    backend: Backend,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    for _ in range(3):
        draft, token = await create_draft(api, ANSWERS)
        await attach(api, draft, token)
        deleted, submitted = await asyncio.gather(
            api.delete(url(draft), headers=bearer(token)), submit(api, draft, token)
        )
        outcome = (deleted.status_code, submitted.status_code)
        assert outcome in {(204, 404), (409, 200)}, outcome
        read = await api.get(url(draft), headers=bearer(token))
        if outcome == (204, 404):
            assert read.status_code == 404
        else:
            assert read.json()["reference_number"]
    # Every submitted one keeps its file; every deleted one left none behind.
    async with session_factory() as session:
        remaining = await session.scalar(select(func.count()).select_from(Submission))
        files = await session.scalar(select(func.count()).select_from(Attachment))
    assert files == remaining and len(stored_files(settings)) == remaining

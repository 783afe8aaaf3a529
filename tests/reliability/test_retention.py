"""保存期間: the purge removes answers and signatures of decided applications past their
period, keeps 受付番号, status, fee total and the status history, and is audited."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.config import Settings, get_settings
from app.db import utcnow
from app.retention import service
from app.retention.__main__ import main as retention_main
from app.retention.models import RetentionPurge
from app.submissions.models import (
    IdempotencyRecord,
    Submission,
    SubmissionEvent,
    SubmissionSignature,
)

ANSWERS = {"copies": 2, "requester": "agent", "agent_name": "山田太郎"}
DEFAULT_DAYS = 365


async def _submitted(api: httpx.AsyncClient, tomi: str, procedure: str) -> uuid.UUID:
    response = await api.post(
        f"/api/v1/municipalities/{tomi}/procedures/{procedure}/submissions",
        json={"answers": ANSWERS, "submit": True},
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


async def _decide(
    factory: async_sessionmaker[AsyncSession], submission_id: uuid.UUID, status: str, days_ago: int
) -> None:
    moment = utcnow() - timedelta(days=days_ago)
    decided = moment if status in {"approved", "rejected"} else None
    async with factory() as session, session.begin():
        await session.execute(
            update(Submission)
            .where(Submission.id == submission_id)
            .values(status=status, decided_at=decided, updated_at=moment)
        )


async def _sign(factory: async_sessionmaker[AsyncSession], submission_id: uuid.UUID) -> None:
    async with factory() as session, session.begin():
        session.add(
            SubmissionSignature(
                submission_id=submission_id,
                document_digest="x" * 43,
                signature=b"signature",
                certificate=b"certificate",
                issuer="CN=test",
                serial_number="01",
                basic_facts={"name": "山田太郎"},
            )
        )


async def _events(session: AsyncSession) -> list[tuple[Any, ...]]:
    rows = await session.execute(
        select(
            SubmissionEvent.submission_id,
            SubmissionEvent.from_status,
            SubmissionEvent.to_status,
            SubmissionEvent.procedure_code,
            SubmissionEvent.channel,
            SubmissionEvent.occurred_at,
        ).order_by(SubmissionEvent.id)
    )
    return [tuple(row) for row in rows]


async def test_purge_clears_personal_data_past_the_period_and_keeps_the_record(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    expired = await _submitted(api, tomi, "short-keep")
    withdrawn = await _submitted(api, tomi, "short-keep")
    within_default = await _submitted(api, tomi, "test-certificate")
    undecided = await _submitted(api, tomi, "short-keep")
    recent = await _submitted(api, tomi, "short-keep")
    await _decide(session_factory, expired, "approved", days_ago=40)
    await _decide(session_factory, withdrawn, "withdrawn", days_ago=40)
    await _decide(session_factory, within_default, "rejected", days_ago=40)
    await _decide(session_factory, undecided, "in_review", days_ago=40)
    await _decide(session_factory, recent, "approved", days_ago=10)
    for submission_id in (expired, within_default):
        await _sign(session_factory, submission_id)

    async with session_factory() as session:
        before = {row.id: row for row in await session.scalars(select(Submission))}
        events_before = await _events(session)

    async with session_factory() as session, session.begin():
        report = await service.purge(session, now=utcnow(), default_days=DEFAULT_DAYS)
    assert report.submissions == 2
    assert report.signatures == 1

    async with session_factory() as session:
        after = {row.id: row for row in await session.scalars(select(Submission))}
        signatures = list(await session.scalars(select(SubmissionSignature.submission_id)))
        purges = list(await session.scalars(select(RetentionPurge)))
        entries = list(
            await session.scalars(select(AuditEntry).where(AuditEntry.action == "retention.purge"))
        )
        # KPI figures are computed from events: not one changed.
        assert await _events(session) == events_before

    for purged in (expired, withdrawn):
        assert after[purged].answers == {}
        assert after[purged].reference_number == before[purged].reference_number
        assert after[purged].reference_number is not None
        assert after[purged].status == before[purged].status
        assert after[purged].fee_total == before[purged].fee_total == 600
        assert after[purged].fee_breakdown is not None
        assert after[purged].fee_breakdown["total"] == 600
        assert all(item["quantity"] is None for item in after[purged].fee_breakdown["items"])
    for kept in (within_default, undecided, recent):
        assert after[kept].answers == ANSWERS
    assert signatures == [within_default]
    assert {purge.submission_id for purge in purges} == {expired, withdrawn}
    assert {purge.retention_days for purge in purges} == {30}
    assert len(entries) == 1
    assert entries[0].actor_type == "system"
    assert entries[0].municipality_code == tomi
    assert entries[0].details["submissions"] == 2
    assert "山田" not in str(entries[0].details)

    # A second run finds nothing new.
    async with session_factory() as session, session.begin():
        again = await service.purge(session, now=utcnow(), default_days=DEFAULT_DAYS)
    assert again.submissions == 0


async def test_default_period_applies_without_a_procedure_setting(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    old = await _submitted(api, tomi, "test-certificate")
    await _decide(session_factory, old, "approved", days_ago=DEFAULT_DAYS + 1)
    async with session_factory() as session, session.begin():
        report = await service.purge(session, now=utcnow(), default_days=DEFAULT_DAYS)
    assert report.submissions == 1
    async with session_factory() as session:
        purged = await session.get(Submission, old)
        assert purged is not None
        assert purged.answers == {}


async def test_dry_run_changes_nothing(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    old = await _submitted(api, tomi, "short-keep")
    await _decide(session_factory, old, "approved", days_ago=40)
    await _sign(session_factory, old)
    async with session_factory() as session, session.begin():
        report = await service.purge(session, now=utcnow(), default_days=DEFAULT_DAYS, dry_run=True)
    assert (report.submissions, report.signatures) == (1, 1)
    async with session_factory() as session:
        kept = await session.get(Submission, old)
        assert kept is not None
        assert kept.answers == ANSWERS
        assert await session.scalar(select(SubmissionSignature.id)) is not None
        assert (
            await session.scalar(
                select(AuditEntry.id).where(AuditEntry.action == "retention.purge")
            )
            is None
        )


def test_the_command_prints_its_report(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        assert retention_main(["purge", "--dry-run"]) == 0
    finally:
        get_settings.cache_clear()
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True
    assert report["submissions"] == 0


async def test_purge_drops_expired_idempotency_keys_only(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    for key in ("expired-key-0001", "fresh-key-00001"):
        response = await api.post(
            f"/api/v1/municipalities/{tomi}/procedures/test-certificate/submissions",
            json={"answers": ANSWERS, "submit": False},
            headers={"Idempotency-Key": key},
        )
        assert response.status_code == 201, response.text
    async with session_factory() as session, session.begin():
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.key == "expired-key-0001")
            .values(expires_at=utcnow() - timedelta(minutes=1))
        )
    async with session_factory() as session, session.begin():
        report = await service.purge(session, now=utcnow(), default_days=DEFAULT_DAYS)
    assert report.idempotency_records == 1
    async with session_factory() as session:
        keys = (await session.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["fresh-key-00001"]

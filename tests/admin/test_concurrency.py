"""Two staff decide on one application at the same moment (PostgreSQL, real row locks):
exactly one decision is taken, the other request gets 409 and changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.audit.models import AuditEntry
from app.submissions.models import Submission, SubmissionEvent
from tests.admin.conftest import CERTIFICATE, CERTIFICATE_ANSWERS, Staff, submit_online
from tests.conftest import Backend

ROUNDS = 8


async def test_concurrent_approve_and_return_one_wins(
    backend: Backend,
    engine: AsyncEngine,
    client: httpx.AsyncClient,
    staff: Staff,
    as_staff: Any,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    admin, shimin = as_staff(staff.admin), as_staff(staff.shimin)
    for _ in range(ROUNDS):
        application = await submit_online(client, CERTIFICATE, CERTIFICATE_ANSWERS)
        path = f"/submissions/{application['id']}/transitions"
        started = await shimin.post(
            path, json={"action": "start_review"}, if_match=await shimin.etag(application["id"])
        )
        etag = started.json()["etag"]

        # Hold the row lock while both requests start, so both are in flight and queue
        # on the lock, then let them race for it.
        async with engine.connect() as blocker:
            await blocker.execute(
                text("SELECT 1 FROM submissions WHERE id = :id FOR UPDATE"),
                {"id": uuid.UUID(application["id"])},
            )
            racing = asyncio.gather(
                admin.post(path, json={"action": "approve"}, if_match=etag),
                shimin.post(
                    path,
                    json={"action": "return", "message": "添付書類が不足しています"},
                    if_match=etag,
                ),
            )
            await asyncio.sleep(0.3)
            await blocker.rollback()
        approve, give_back = await racing
        statuses = sorted([approve.status_code, give_back.status_code])
        assert statuses == [200, 409], (approve.text, give_back.text)
        loser = approve if approve.status_code == 409 else give_back
        assert loser.json()["code"] in {"SUBMISSION_CHANGED", "ILLEGAL_TRANSITION"}
        winner = "approved" if approve.status_code == 200 else "returned"

        submission_id = uuid.UUID(application["id"])
        async with session_factory() as session:
            stored = await session.get_one(Submission, submission_id)
            decisions = list(
                await session.scalars(
                    select(SubmissionEvent.to_status).where(
                        SubmissionEvent.submission_id == submission_id,
                        SubmissionEvent.from_status == "in_review",
                    )
                )
            )
            audited = list(
                await session.scalars(
                    select(AuditEntry.action).where(
                        AuditEntry.target_id == application["id"],
                        AuditEntry.action.in_(["submission.approve", "submission.return"]),
                    )
                )
            )
        assert stored.status == winner
        assert decisions == [winner]
        assert audited == [f"submission.{'approve' if winner == 'approved' else 'return'}"]

        timeline = (await admin.get(f"/submissions/{application['id']}")).json()["timeline"]
        decided = [entry["to"] for entry in timeline if entry["from"] == "in_review"]
        assert decided == [winner]

"""Only the holder of a submission's access token may read or change it; everybody else
learns nothing, not even whether it exists."""

from __future__ import annotations

import hashlib
import logging
import uuid

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.submissions.models import IdempotencyRecord, Submission, SubmissionEvent
from tests.submissions.helpers import bearer, create, create_draft, stored_events, stored_submission

ANSWERS = {"requester": "agent", "copies": 2, "agent_name": "東御太郎"}


def _owner_requests(submission_id: str) -> list[tuple[str, str, dict[str, object] | None]]:
    base = f"/api/v1/submissions/{submission_id}"
    return [
        ("GET", base, None),
        ("PATCH", base, {"answers": {"requester": "self", "copies": 9}}),
        ("POST", f"{base}/submit", None),
        ("POST", f"{base}/withdraw", None),
    ]


async def test_without_the_token_nobody_reads_or_changes_an_application(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    submission_id, token = await create_draft(api, ANSWERS)
    _, someone_elses_token = await create_draft(api, {"requester": "self"})
    before = await stored_submission(session_factory, submission_id)

    for method, url, body in _owner_requests(submission_id):
        anonymous = await api.request(method, url, json=body)
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "AUTHENTICATION_REQUIRED")
        basic = await api.request(method, url, json=body, headers={"Authorization": "Basic eDp5"})
        assert basic.status_code == 401
        for wrong in (someone_elses_token, token[:-1], "sat_guess", "not-even-a-token"):
            refused = await api.request(method, url, json=body, headers=bearer(wrong))
            assert (refused.status_code, refused.json()["code"]) == (404, "SUBMISSION_NOT_FOUND")
            assert "東御太郎" not in refused.text

    # An id that does not exist looks exactly like one the caller does not own.
    missing = await api.get(f"/api/v1/submissions/{uuid.uuid4()}", headers=bearer(token))
    not_owned = await api.get(
        f"/api/v1/submissions/{submission_id}", headers=bearer(someone_elses_token)
    )
    assert missing.status_code == not_owned.status_code == 404
    assert _without_request_details(missing.json()) == _without_request_details(not_owned.json())

    after = await stored_submission(session_factory, submission_id)
    assert (after.status, after.answers, after.row_version) == (
        "draft",
        before.answers,
        before.row_version,
    )
    assert len(await stored_events(session_factory, submission_id)) == 1

    mine = await api.get(f"/api/v1/submissions/{submission_id}", headers=bearer(token))
    assert mine.status_code == 200
    assert mine.headers["cache-control"] == "no-store"
    assert mine.json()["answers"] == ANSWERS


async def test_only_a_hash_of_the_token_is_stored(
    api: httpx.AsyncClient, tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    response = await create(api, ANSWERS, key=str(uuid.uuid4()))
    token = response.json()["access_token"]
    async with session_factory() as session:
        submission = await session.scalar(select(Submission))
        assert submission is not None
        assert submission.access_token_hash == hashlib.sha256(token.encode()).hexdigest()
        for model in (Submission, SubmissionEvent, IdempotencyRecord):
            for row in await session.scalars(select(model)):
                assert token not in str(vars(row))


async def test_answers_and_tokens_stay_out_of_the_logs(
    api: httpx.AsyncClient, tomi: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    submission_id, token = await create_draft(api, ANSWERS)
    await api.get(f"/api/v1/submissions/{submission_id}", headers=bearer(token))
    await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {"requester": "invalid", "agent_name": "東御太郎"}},
        headers=bearer(token),
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert token not in logged
    assert "東御太郎" not in logged


def _without_request_details(problem: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in problem.items() if k not in {"instance", "request_id"}}

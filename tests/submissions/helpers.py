"""Small helpers shared by the submission tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow
from app.submissions.models import IdempotencyRecord, Submission, SubmissionEvent
from tests.factories import TOMI

PROBLEM = "application/problem+json"
PROCEDURE = "test-certificate"
TOKYO = ZoneInfo("Asia/Tokyo")


@dataclass
class Clock:
    """The request clock; real time unless a test sets `moment`."""

    moment: datetime | None = None

    def __call__(self) -> datetime:
        return self.moment if self.moment is not None else utcnow()

    def set_tokyo(self, year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> None:
        self.moment = datetime(year, month, day, hour, minute, tzinfo=TOKYO)


def create_url(procedure: str = PROCEDURE, municipality: str = TOMI) -> str:
    return f"/api/v1/municipalities/{municipality}/procedures/{procedure}/submissions"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create(
    api: httpx.AsyncClient,
    answers: dict[str, Any] | None = None,
    *,
    submit: bool = False,
    procedure: str = PROCEDURE,
    municipality: str = TOMI,
    key: str | None = None,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return await api.post(
        create_url(procedure, municipality),
        json={"answers": answers or {}, "submit": submit},
        headers=headers,
    )


async def create_draft(
    api: httpx.AsyncClient, answers: dict[str, Any] | None = None, **kwargs: Any
) -> tuple[str, str]:
    """A draft's id and access token."""
    response = await create(api, answers, **kwargs)
    assert response.status_code == 201, response.text
    body = response.json()
    return body["id"], body["access_token"]


async def submit(
    api: httpx.AsyncClient, submission_id: str, token: str, key: str | None = None
) -> httpx.Response:
    headers = bearer(token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await api.post(f"/api/v1/submissions/{submission_id}/submit", headers=headers)


async def count_rows(factory: async_sessionmaker[AsyncSession], model: type[Any]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def stored_submission(
    factory: async_sessionmaker[AsyncSession], submission_id: str
) -> Submission:
    async with factory() as session:
        return await session.get_one(Submission, uuid.UUID(submission_id))


async def stored_events(
    factory: async_sessionmaker[AsyncSession], submission_id: str
) -> list[SubmissionEvent]:
    async with factory() as session:
        rows = await session.scalars(
            select(SubmissionEvent)
            .where(SubmissionEvent.submission_id == uuid.UUID(submission_id))
            .order_by(SubmissionEvent.id)
        )
        return list(rows)


async def nothing_stored(factory: async_sessionmaker[AsyncSession]) -> bool:
    return all(
        [
            await count_rows(factory, Submission) == 0,
            await count_rows(factory, SubmissionEvent) == 0,
            await count_rows(factory, IdempotencyRecord) == 0,
        ]
    )

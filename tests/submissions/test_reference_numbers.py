"""受付番号: per municipality and fiscal year, gap-free, safe under concurrent submits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import ANONYMOUS
from app.config import Settings
from app.submissions import service
from app.submissions.models import Submission
from app.submissions.reference_numbers import fiscal_year_of, format_reference_number
from tests.conftest import Backend
from tests.factories import TOMI, UEDA, publish_definition, simple_definition
from tests.submissions.helpers import TOKYO, Clock, create

VALID = {"requester": "self", "copies": 1}


def test_the_fiscal_year_turns_at_midnight_on_1_april_in_tokyo() -> None:
    last_minute = datetime(2026, 3, 31, 23, 59, 59, tzinfo=TOKYO)
    first_minute = datetime(2026, 4, 1, 0, 0, tzinfo=TOKYO)
    assert fiscal_year_of(last_minute, timezone=TOKYO) == 2025
    assert fiscal_year_of(first_minute, timezone=TOKYO) == 2026
    # Still 31 March in UTC, already 1 April in Tokyo.
    assert fiscal_year_of(datetime(2026, 3, 31, 15, 0, tzinfo=UTC), timezone=TOKYO) == 2026
    assert fiscal_year_of(datetime(2026, 1, 10, tzinfo=TOKYO), timezone=TOKYO) == 2025


def test_reference_numbers_read_aloud_easily() -> None:
    assert format_reference_number("TOMI", 2025, 123) == "TOMI-R7-000123"
    assert format_reference_number("UEDA", 2026, 1) == "UEDA-R8-000001"


async def test_numbering_restarts_with_the_fiscal_year_and_per_municipality(
    api: httpx.AsyncClient,
    tomi: str,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await publish_definition(session_factory, UEDA, simple_definition())

    clock.set_tokyo(2026, 3, 31, 23, 59)
    old_year = [await create(api, VALID, submit=True) for _ in range(2)]
    clock.set_tokyo(2026, 4, 1, 0, 0)
    new_year = [await create(api, VALID, submit=True) for _ in range(2)]
    ueda = await create(api, VALID, submit=True, municipality=UEDA)

    assert [r.json()["reference_number"] for r in old_year] == [
        "TOMI-R7-000001",
        "TOMI-R7-000002",
    ]
    assert [r.json()["reference_number"] for r in new_year] == [
        "TOMI-R8-000001",
        "TOMI-R8-000002",
    ]
    assert ueda.json()["reference_number"] == "UEDA-R8-000001"
    async with session_factory() as session:
        years = await session.execute(
            select(Submission.reference_number, Submission.fiscal_year).order_by(
                Submission.reference_number
            )
        )
        assert {number: year for number, year in years} == {
            "TOMI-R7-000001": 2025,
            "TOMI-R7-000002": 2025,
            "TOMI-R8-000001": 2026,
            "TOMI-R8-000002": 2026,
            "UEDA-R8-000001": 2026,
        }


async def test_a_rolled_back_submit_gives_its_number_back(
    tomi: str, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime(2025, 8, 1, 10, 0, tzinfo=TOKYO)
    async with session_factory() as session:
        created = await _submit_at_once(session, settings, now)
        assert created.submission.reference_number == "TOMI-R7-000001"
        await session.rollback()  # e.g. the commit failed
    async with session_factory() as session, session.begin():
        created = await _submit_at_once(session, settings, now)
    assert created.submission.reference_number == "TOMI-R7-000001"


async def test_200_concurrent_submits_get_200_gap_free_numbers(
    api: httpx.AsyncClient,
    tomi: str,
    clock: Clock,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")
    clock.set_tokyo(2025, 10, 1)
    responses = await asyncio.gather(*(create(api, VALID, submit=True) for _ in range(200)))
    assert [r.status_code for r in responses] == [201] * 200
    numbers = sorted(r.json()["reference_number"] for r in responses)
    assert numbers == [f"TOMI-R7-{n:06d}" for n in range(1, 201)]
    async with session_factory() as session:
        stored = await session.scalars(select(Submission.reference_number))
        assert sorted(n for n in stored if n is not None) == numbers


async def _submit_at_once(
    session: AsyncSession, settings: Settings, now: datetime
) -> service.CreatedSubmission:
    return await service.create_submission(
        session,
        municipality_code=TOMI,
        procedure_code="test-certificate",
        answers=VALID,
        submit=True,
        caller=ANONYMOUS,
        settings=settings,
        now=now,
    )

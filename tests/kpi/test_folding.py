"""The KPI deltas and their folding: the listener appends one delta per transition that
changes a figure and never updates a daily row; folded or not, the figures equal a full
recount (`python -m app.kpi check`), through a whole return / resubmit / withdraw /
approve history and with several folders at once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import config
from app.auth.principals import ANONYMOUS
from app.config import Settings
from app.kpi import folding, rollups
from app.kpi import service as kpi_service
from app.kpi.__main__ import main as kpi_command
from app.kpi.models import usage_daily, usage_deltas
from app.kpi.periods import Period
from app.kpi.schemas import UsageFigures
from app.municipalities.service import get_municipality
from app.submissions import service as submissions
from app.submissions.lifecycle import Status
from tests.conftest import Backend
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.helpers import Applications, ProcedureClock, jst

FREE = "fold-free"
START = jst(2025, 6, 2, 9)


@pytest.fixture
async def catalog(
    session_factory: async_sessionmaker[AsyncSession], procedure_clock: ProcedureClock
) -> None:
    await seed_municipalities(session_factory)
    await procedure_clock.publish(jst(2025, 4, 1, 9), simple_definition(FREE, fee_rules=[]))


@pytest.fixture
def check_command(
    backend: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> object:
    """`python -m app.kpi <command>` against the test database (in a thread: it runs its
    own event loop): its exit status."""
    monkeypatch.setenv("DATABASE_URL", backend.url)
    monkeypatch.setenv("ENVIRONMENT", "test")

    async def run(*arguments: str) -> int:
        config.get_settings.cache_clear()
        try:
            return await asyncio.to_thread(kpi_command, list(arguments))
        finally:
            config.get_settings.cache_clear()
            capsys.readouterr()

    return run


async def _counts(factory: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with factory() as session:
        deltas = await session.scalar(select(func.count()).select_from(usage_deltas))
        daily = await session.scalar(select(func.count()).select_from(usage_daily))
    return int(deltas or 0), int(daily or 0)


async def test_submit_return_resubmit_withdraw_approve_equal_a_recount_folded_or_not(
    catalog: None,
    applications: Applications,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    check_command: object,
) -> None:
    run = check_command
    assert callable(run)
    approved, approved_owner = await applications.draft(FREE, START)
    withdrawn, withdrawn_owner = await applications.draft(FREE, START)
    steps = [
        lambda: applications.resubmit(approved, approved_owner, START),  # first submit
        lambda: applications.resubmit(withdrawn, withdrawn_owner, START + timedelta(hours=1)),
        lambda: applications.move(approved, Status.IN_REVIEW, START + timedelta(hours=2)),
        lambda: applications.move(withdrawn, Status.IN_REVIEW, START + timedelta(hours=2)),
        lambda: applications.move(
            approved, Status.RETURNED, START + timedelta(hours=3), comment="添付を追加"
        ),
        lambda: applications.move(
            withdrawn, Status.RETURNED, START + timedelta(hours=3), comment="住所を確認"
        ),
        lambda: applications.resubmit(approved, approved_owner, START + timedelta(hours=20)),
        lambda: applications.resubmit(withdrawn, withdrawn_owner, START + timedelta(hours=21)),
        lambda: applications.move(approved, Status.IN_REVIEW, START + timedelta(hours=22)),
        lambda: applications.withdraw_draft(
            withdrawn, withdrawn_owner, START + timedelta(hours=23)
        ),
        lambda: applications.move(approved, Status.APPROVED, START + timedelta(hours=50)),
    ]
    for number, step in enumerate(steps):
        await step()
        if number % 2:
            await folding.fold_pending(session_factory)
        assert await run("check") == 0, f"KPI check failed after step {number}"

    # Nothing was left unfolded by the odd steps, and the last step's delta is pending.
    deltas, daily = await _counts(session_factory)
    assert (deltas, daily) == (1, 1)
    totals = await _totals(session_factory)
    total = totals[0]
    assert (total.applications, total.returned, total.withdrawn) == (2, 2, 1)
    assert (total.decided, total.approved) == (1, 1)
    # Received at 09:00, approved 50 hours later: the bucket from 48 to 72 hours.
    assert (total.lead_time_p50_hours, total.lead_time_p90_hours) == (48, 48)

    assert await run("fold") == 0
    assert await _counts(session_factory) == (0, 1)
    assert await run("check") == 0
    # Read from the month rows (the 年度) and from the daily rows (part of June) alike.
    assert await _totals(session_factory) == totals
    assert totals[1] == total


PERIODS = (
    Period(date(2025, 4, 1), date(2026, 3, 31)),  # whole months
    Period(date(2025, 6, 2), date(2025, 6, 20)),  # part of one month
    Period(date(2025, 5, 20), date(2025, 7, 31)),  # days, then whole months
)


async def _totals(factory: async_sessionmaker[AsyncSession]) -> list[UsageFigures]:
    async with factory() as session:
        municipality = await get_municipality(session, TOMI)
        return [
            (await kpi_service.usage(session, municipality, period=period, group_by=[])).total
            for period in PERIODS
        ]


async def test_a_receipt_appends_a_delta_and_updates_no_daily_row(
    catalog: None,
    applications: Applications,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await applications.online(FREE, START)
    await folding.fold_pending(session_factory)
    async with session_factory() as session:
        before = (await session.execute(select(usage_daily))).all()
    await applications.online(FREE, START + timedelta(minutes=5))
    async with session_factory() as session:
        assert (await session.execute(select(usage_daily))).all() == before
        (received,) = (await session.execute(select(usage_deltas.c.received))).one()
    assert received == 1


async def test_concurrent_folders_fold_each_delta_once(
    catalog: None,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    if backend.name != "postgresql":
        pytest.skip("concurrent transactions: PostgreSQL only")

    async def receive(minute: int) -> uuid.UUID:
        async with session_factory() as session, session.begin():
            created = await submissions.create_submission(
                session,
                municipality_code=TOMI,
                procedure_code=FREE,
                answers={"copies": 1, "requester": "self"},
                submit=True,
                caller=ANONYMOUS,
                settings=settings,
                now=START + timedelta(minutes=minute),
            )
            return created.submission.id

    await asyncio.gather(*(receive(minute) for minute in range(30)))

    async def folder() -> int:
        moved_in_all = 0
        while True:
            async with session_factory() as session, session.begin():
                moved = await rollups.fold(session, limit=4)
            moved_in_all += moved
            if moved == 0:
                return moved_in_all

    moved = await asyncio.gather(folder(), folder(), folder())
    assert sum(moved) == 30
    assert (await _counts(session_factory))[0] == 0
    async with session_factory() as session:
        assert await rollups.stored(session) == await rollups.recount(session)
        received = await session.scalar(select(func.sum(usage_daily.c.received)))
    assert received == 30

"""The rollups equal a full recount from the event history: after random mixes of legal
transitions with the deltas folded at random points (property-based), on the seeded
history, and after personal data is purged, when no figure moves."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import ANONYMOUS, CitizenCaller
from app.config import Settings
from app.kpi import rollups
from app.kpi.models import usage_daily, usage_deltas
from app.listeners import install_listeners
from app.submissions import lifecycle
from app.submissions import service as submissions
from app.submissions.lifecycle import TRANSITIONS, Actor, Status, listeners
from app.submissions.models import Submission, SubmissionSignature
from tests.conftest import Backend
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.conftest import Seeded
from tests.kpi.helpers import STAFF, ProcedureClock, jst

PAID_ON_SUBMIT = "prop-certificate"
"""300 yen a copy, paid on submit: received as awaiting_payment."""
FREE = "prop-free"
"""No fee: received as submitted."""
START = jst(2025, 3, 31, 12)
"""Half a day before the fiscal year turns, so histories straddle it."""

step = st.tuples(
    st.integers(min_value=0, max_value=11),  # which of the allowed next statuses
    st.sampled_from(["citizen", "staff", "system"]),  # who moves it
    st.integers(min_value=0, max_value=3 * 24 * 60),  # minutes after the previous step
)
application = st.tuples(
    st.sampled_from(["anonymous", "card_login", "counter"]),
    st.sampled_from([PAID_ON_SUBMIT, FREE]),
    st.integers(min_value=0, max_value=36 * 60),  # minutes after START
    st.lists(step, max_size=8),
    st.booleans(),  # fold the deltas into the daily rows after this application
)


@pytest.fixture
async def catalog(
    session_factory: async_sessionmaker[AsyncSession], procedure_clock: ProcedureClock
) -> None:
    await seed_municipalities(session_factory)
    await procedure_clock.publish(jst(2025, 1, 6, 9), simple_definition(PAID_ON_SUBMIT))
    await procedure_clock.publish(jst(2025, 1, 6, 9), simple_definition(FREE, fee_rules=[]))


@pytest.fixture
def without_payment_rules() -> Iterator[None]:
    """The transitions below are drawn at random with no money behind them: the payment
    module's rule (no approval while part of the fee is unpaid) is not under test."""
    listeners.unregister("payments")
    yield
    for name in listeners.names():  # back in the order the app registers them
        listeners.unregister(name)
    install_listeners()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(program=st.lists(application, min_size=1, max_size=4))
async def test_rollups_equal_a_full_recount_after_any_transitions(
    program: list[tuple[str, str, int, list[tuple[int, str, int]], bool]],
    catalog: None,
    without_payment_rules: None,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Each example runs in one transaction that is rolled back, so examples never see
    each other's rows; the rollups were kept by the lifecycle as in production."""
    async with session_factory() as session:
        try:
            for kind, procedure, offset, steps, fold_after in program:
                submission = await _new_application(
                    session, settings, kind, procedure, START + timedelta(minutes=offset)
                )
                now = submission.updated_at
                for choice, actor, gap in steps:
                    allowed = sorted(TRANSITIONS[Status(submission.status)])
                    if not allowed:
                        break
                    now += timedelta(minutes=gap)
                    target = allowed[choice % len(allowed)]
                    await lifecycle.transition(session, submission, target, Actor(actor), now=now)
                if fold_after:
                    await rollups.fold(session)
            assert await rollups.stored(session) == await rollups.recount(session)
        finally:
            await session.rollback()


async def _new_application(
    session: AsyncSession, settings: Settings, kind: str, procedure: str, at: Any
) -> Submission:
    answers = {"copies": 2, "requester": "self"}
    if kind == "counter":
        return await submissions.record_counter_submission(
            session,
            municipality_code=TOMI,
            procedure_code=procedure,
            answers=answers,
            received_at=at,
            staff=STAFF,
            settings=settings,
        )
    caller = ANONYMOUS if kind == "anonymous" else CitizenCaller("prop-citizen")
    created = await submissions.create_submission(
        session,
        municipality_code=TOMI,
        procedure_code=procedure,
        answers=answers,
        submit=False,
        caller=caller,
        settings=settings,
        now=at,
    )
    return created.submission


async def test_concurrent_transitions_in_one_cell_stay_exact(
    catalog: None,
    backend: Backend,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    """Twelve applications received in the same minute, then decided at once from twelve
    transactions: every one adds its own delta to the same rollup rows."""
    if backend.name != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")

    async def receive() -> uuid.UUID:
        async with session_factory() as session, session.begin():
            created = await submissions.create_submission(
                session,
                municipality_code=TOMI,
                procedure_code=FREE,
                answers={"copies": 1, "requester": "self"},
                submit=True,
                caller=ANONYMOUS,
                settings=settings,
                now=START,
            )
            return created.submission.id

    async def decide(submission_id: uuid.UUID, decision: Status) -> None:
        async with session_factory() as session, session.begin():
            submission = await submissions.get_for_update(session, submission_id)
            await lifecycle.transition(
                session, submission, Status.IN_REVIEW, STAFF, now=START + timedelta(hours=1)
            )
            await lifecycle.transition(
                session, submission, decision, STAFF, now=START + timedelta(hours=5)
            )

    received = await asyncio.gather(*(receive() for _ in range(12)))
    await asyncio.gather(
        *(
            decide(submission_id, Status.REJECTED if index % 3 == 0 else Status.APPROVED)
            for index, submission_id in enumerate(received)
        )
    )
    async with session_factory() as session:
        stored = await rollups.stored(session)
        assert stored == await rollups.recount(session)
    ((cell, counts),) = stored.usage.items()
    assert (counts["received"], counts["approved"], counts["rejected"]) == (12, 8, 4)
    assert stored.lead_times == {(cell, 4): 12}  # 5 hours: the bucket from 4 to 6 hours


async def test_the_seeded_rollups_equal_a_recount(
    seeded: Seeded, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        stored = await rollups.stored(session)
        assert stored == await rollups.recount(session)
    # 8 applications received in 東御市 and 1 in 上田市; drafts count nowhere.
    assert sum(counts["received"] for counts in stored.usage.values()) == 9
    assert sum(stored.lead_times.values()) == 6


async def test_rebuild_restores_lost_rollups(
    seeded: Seeded, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        before = await rollups.stored(session)
    async with session_factory() as session, session.begin():
        for table in (usage_daily, usage_deltas):
            await session.execute(delete(table).where(table.c.municipality_code == TOMI))
        await rollups.rebuild(session, TOMI)
    async with session_factory() as session:
        assert await rollups.stored(session) == before


FIGURES: list[tuple[str, dict[str, Any]]] = [
    ("/api/v1/kpi/usage", {"fiscal_year": 2025, "group_by": "procedure"}),
    ("/api/v1/kpi/usage", {"fiscal_year": 2025, "group_by": "channel,month"}),
    ("/api/v1/kpi/usage", {"fiscal_year": 2025, "group_by": "department,fiscal_year"}),
    ("/api/v1/kpi/usage", {"fiscal_year": 2024, "group_by": ""}),
    ("/api/v1/kpi/usage.csv", {"from": "2025-03-01", "to": "2025-12-31"}),
    ("/api/v1/kpi/online-procedures.csv", {}),
    ("/api/v1/kpi/procedures", {"fiscal_year": 2025}),
    (f"/api/v1/municipalities/{TOMI}/open-data/applications.csv", {}),
]


async def _figures(api: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    seen = []
    for url, params in FIGURES:
        response = await api.get(url, params=params, headers=headers)
        assert response.status_code == 200, (url, response.text)
        seen.append(response.content if url.endswith(".csv") else response.json())
    return seen


async def test_every_figure_is_unchanged_after_personal_data_is_purged(
    kpi_api: httpx.AsyncClient,
    analyst: dict[str, str],
    seeded: Seeded,
    session_factory: async_sessionmaker[AsyncSession],
    new_kpi_client: Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    """The retention purge empties answers and drops signatures of decided applications;
    here everything personal goes, including the owner's card subject and access token."""
    before = await _figures(kpi_api, analyst)
    async with session_factory() as session:
        recount_before = await rollups.recount(session)

    async with session_factory() as session, session.begin():
        final = [Status.APPROVED, Status.REJECTED, Status.WITHDRAWN]
        purged = list(await session.scalars(select(Submission).where(Submission.status.in_(final))))
        assert len(purged) == 9  # a1 a2 a3 a4 c1 c2 c3 s1 and the withdrawn draft
        for submission in purged:
            submission.answers = {}
            submission.fee_breakdown = None
            submission.prefilled_from_card = None
            submission.citizen_subject = None
            submission.access_token_hash = None
        signatures = await session.execute(delete(SubmissionSignature))
        assert signatures.rowcount == 1  # s1's signature evidence

    # Read by a new app, which has kept none of the reports read before.
    async with new_kpi_client() as fresh:
        assert await _figures(fresh, analyst) == before
    async with session_factory() as session:
        assert await rollups.recount(session) == recount_before
        assert await rollups.stored(session) == recount_before

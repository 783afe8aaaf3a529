"""The lifecycle's listeners (docs/decisions/0002-lifecycle-listeners.md): every
transition is recorded with its facts and announced, in the same transaction, to the
listeners registered by name; one that refuses aborts the whole transition."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import ANONYMOUS, AccessTokenCaller, hash_access_token
from app.config import Settings
from app.db import utcnow
from app.errors import Conflict
from app.kpi import rollups
from app.payments import service as payments
from app.payments.lifecycle import Fact, RefundReport, RefundStatus
from app.payments.providers import ProviderRegistry
from app.submissions import lifecycle
from app.submissions import repository as submissions_repository
from app.submissions import service as submissions
from app.submissions.lifecycle import Actor, Listeners, Status, TransitionFacts, listeners
from app.submissions.models import Submission, SubmissionEvent
from tests.conftest import Backend
from tests.factories import TOMI
from tests.submissions.helpers import PROCEDURE

STAFF = Actor("staff", "listener-test-staff")


class MoneyStillDue(Conflict):
    code = "MONEY_STILL_DUE"
    title_en = "Money is due"
    title_ja = "未払いがあります"


@pytest.fixture
def heard() -> Iterator[list[TransitionFacts]]:
    """Facts announced to a listener registered for the test (and removed after it)."""
    seen: list[TransitionFacts] = []

    async def record(session: AsyncSession, facts: TransitionFacts) -> None:
        seen.append(facts)

    listeners.register("test-recorder", record)
    try:
        yield seen
    finally:
        listeners.unregister("test-recorder")


async def _submitted(session: AsyncSession, settings: Settings) -> Submission:
    created = await submissions.create_submission(
        session,
        municipality_code=TOMI,
        procedure_code=PROCEDURE,
        answers={"copies": 2, "requester": "self"},
        submit=False,
        caller=ANONYMOUS,
        settings=settings,
        now=utcnow(),
    )
    assert created.access_token is not None
    owner = AccessTokenCaller(hash_access_token(created.access_token))
    return await submissions.submit(
        session, created.submission.id, owner, settings=settings, now=utcnow()
    )


async def test_listeners_hear_each_transition_with_its_facts_and_the_net_paid(
    tomi: str,
    backend: Backend,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    heard: list[TransitionFacts],
) -> None:
    registry = ProviderRegistry(settings)
    async with session_factory() as session, session.begin():
        submission = await _submitted(session, settings)
        owner = AccessTokenCaller(submission.access_token_hash or "")
        started = await payments.start_payment(
            session, registry, submission.id, owner, settings=settings, now=utcnow()
        )
        await payments.apply_facts(session, started.payment.id, [Fact("succeeded")], now=utcnow())
        # Finance refunds 200 of the 600 yen; then review starts.
        await payments.apply_facts(
            session,
            started.payment.id,
            (),
            refund=RefundReport("re_listener_test", 200, RefundStatus.SUCCEEDED),
            now=utcnow(),
        )
        await lifecycle.transition(session, submission, Status.IN_REVIEW, STAFF, now=utcnow())
    await registry.aclose()

    receipt, paid, review = heard
    assert (receipt.from_status, receipt.to_status) == (Status.DRAFT, Status.AWAITING_PAYMENT)
    # The 受付番号 is the receipt transaction's last write (after the listeners); the
    # transitions after it carry it.
    assert receipt.reference_number is None
    assert paid.reference_number == review.reference_number == submission.reference_number
    assert submission.reference_number is not None
    assert receipt.identity_method == "access_token"
    assert (receipt.channel, receipt.fee_total, receipt.paid_amount) == ("online", 600, 0)
    assert (paid.to_status, paid.actor.kind, paid.paid_amount) == (Status.PAID, "system", 600)
    assert (review.to_status, review.actor, review.paid_amount) == (Status.IN_REVIEW, STAFF, 400)

    async with session_factory() as session:
        events = list(
            await session.scalars(
                select(SubmissionEvent)
                .where(SubmissionEvent.submission_id == submission.id)
                .order_by(SubmissionEvent.id)
            )
        )
    # The facts are on the event rows (which outlive a purge), under the ids announced.
    recorded = {event.id: event for event in events}
    for facts in heard:
        event = recorded[facts.event_id]
        assert event.to_status == facts.to_status
        assert (event.fee_total, event.paid_amount) == (600, facts.paid_amount)
        assert event.identity_method == "access_token"

    # A move on PostgreSQL reads the application's earlier events in its own statement:
    # the history the KPI would otherwise query, in the order recorded.
    async with session_factory() as session:
        for facts in heard:
            if facts.earlier is not None:
                assert list(facts.earlier) == await submissions_repository.event_history(
                    session, submission.id, before_event_id=facts.event_id
                )
                assert len(facts.earlier) == len([e for e in events if e.id < facts.event_id])
    assert receipt.earlier is None  # nothing before a receipt counts
    assert (review.earlier is not None) == (backend.name == "postgresql")


async def test_a_listener_that_refuses_aborts_the_whole_transition(
    tomi: str, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        submission = await _submitted(session, settings)
        submission_id = submission.id
    async with session_factory() as session:
        rollups_before = await rollups.stored(session)

    async def veto(session: AsyncSession, facts: TransitionFacts) -> None:
        if facts.to_status == Status.WITHDRAWN:
            raise MoneyStillDue("Refund first.", "先に返金してください。")

    listeners.register("test-veto", veto)
    try:
        with pytest.raises(MoneyStillDue):
            async with session_factory() as session, session.begin():
                locked = await submissions.get_for_update(session, submission_id)
                await lifecycle.transition(
                    session, locked, Status.WITHDRAWN, STAFF, now=utcnow() + timedelta(hours=1)
                )
    finally:
        listeners.unregister("test-veto")

    async with session_factory() as session:
        stored = await session.get_one(Submission, submission_id)
        assert stored.status == Status.AWAITING_PAYMENT
        withdrawals = await session.scalar(
            select(func.count())
            .select_from(SubmissionEvent)
            .where(SubmissionEvent.to_status == Status.WITHDRAWN)
        )
        assert withdrawals == 0
        # The KPI listener ran before the veto; its increment went with the rollback.
        assert await rollups.stored(session) == rollups_before


def test_registering_a_name_again_replaces_its_listener() -> None:
    registry = Listeners()

    async def first(session: AsyncSession, facts: TransitionFacts) -> None: ...

    async def second(session: AsyncSession, facts: TransitionFacts) -> None: ...

    registry.register("kpi", first)
    registry.register("payments", first)
    registry.register("kpi", second)
    assert registry.names() == ("kpi", "payments")


async def test_a_transition_nobody_hears_is_refused(session: AsyncSession) -> None:
    """Without install_listeners() the KPI would silently fall behind: refuse instead."""
    facts = TransitionFacts(
        event_id=1,
        submission_id=uuid.uuid4(),
        municipality_code=TOMI,
        procedure_id=uuid.uuid4(),
        procedure_code=PROCEDURE,
        reference_number=None,
        channel="online",
        identity_method="none",
        from_status=Status.DRAFT,
        to_status=Status.WITHDRAWN,
        actor=STAFF,
        comment=None,
        fee_total=0,
        paid_amount=0,
        occurred_at=utcnow(),
    )
    with pytest.raises(RuntimeError, match="install_listeners"):
        await Listeners().notify(session, facts)

"""The lifecycle: withdraw, return and resubmit, and every transition the table forbids."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.principals import ANONYMOUS
from app.config import Settings
from app.db import utcnow
from app.submissions import lifecycle, service
from app.submissions.lifecycle import TRANSITIONS, Actor, IllegalTransition, Status
from app.submissions.models import ReferenceCounter
from tests.conftest import Backend
from tests.factories import TOMI, publish_definition, seed_municipalities, simple_definition
from tests.submissions.helpers import (
    Clock,
    bearer,
    create,
    create_draft,
    stored_events,
    stored_submission,
    submit,
)

REVIEWER = Actor("staff", "staff-user-42")

# A legal path into every status, walked through `transition` from a fresh draft.
PATHS: dict[Status, list[Status]] = {
    Status.DRAFT: [],
    Status.SUBMITTED: [Status.SUBMITTED],
    Status.AWAITING_PAYMENT: [Status.AWAITING_PAYMENT],
    Status.PAID: [Status.AWAITING_PAYMENT, Status.PAID],
    Status.IN_REVIEW: [Status.SUBMITTED, Status.IN_REVIEW],
    Status.RETURNED: [Status.SUBMITTED, Status.IN_REVIEW, Status.RETURNED],
    Status.RESUBMITTED: [Status.SUBMITTED, Status.IN_REVIEW, Status.RETURNED, Status.RESUBMITTED],
    Status.APPROVED: [Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED],
    Status.REJECTED: [Status.SUBMITTED, Status.IN_REVIEW, Status.REJECTED],
    Status.WITHDRAWN: [Status.WITHDRAWN],
}


@pytest.fixture
async def free_procedure(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """A procedure whose fee is collected after review: submit -> `submitted`."""
    await seed_municipalities(session_factory)
    await publish_definition(
        session_factory, TOMI, simple_definition("free", payment_timing="after_review")
    )
    return "free"


async def test_withdraw_before_a_decision_and_not_twice(
    api: httpx.AsyncClient,
    tomi: str,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock.set_tokyo(2025, 7, 1)
    submission_id, token = await create_draft(api, {"requester": "self", "copies": 1})
    assert (await submit(api, submission_id, token)).status_code == 200

    url = f"/api/v1/submissions/{submission_id}/withdraw"
    withdrawn = await api.post(url, json={"reason": "窓口で申請します"}, headers=bearer(token))
    assert withdrawn.status_code == 200
    assert withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["reference_number"] == "TOMI-R7-000001"

    again = await api.post(url, headers=bearer(token))
    assert again.status_code == 409
    problem = again.json()
    assert (problem["code"], problem["from"], problem["to"]) == (
        "ILLEGAL_TRANSITION",
        "withdrawn",
        "withdrawn",
    )
    assert [
        (e.from_status, e.to_status, e.comment)
        for e in await stored_events(session_factory, submission_id)
    ] == [
        (None, "draft", None),
        ("draft", "awaiting_payment", None),
        ("awaiting_payment", "withdrawn", "窓口で申請します"),
    ]

    # Nothing can be done to a withdrawn application.
    edit = await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {"requester": "self", "copies": 2}},
        headers=bearer(token),
    )
    assert (edit.status_code, edit.json()["code"]) == (409, "SUBMISSION_NOT_EDITABLE")
    resubmit = await submit(api, submission_id, token)
    assert (resubmit.status_code, resubmit.json()["code"]) == (409, "ILLEGAL_TRANSITION")


async def test_a_returned_application_is_corrected_and_resubmitted_under_the_same_number(
    api: httpx.AsyncClient,
    free_procedure: str,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    clock.set_tokyo(2025, 7, 1)
    response = await create(
        api, {"requester": "self", "copies": 1}, submit=True, procedure=free_procedure
    )
    body = response.json()
    submission_id, token = body["id"], body["access_token"]
    number = body["reference_number"]
    owner = bearer(token)

    # Only while it is a draft or returned may the citizen edit it.
    locked = await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {"requester": "self", "copies": 2}},
        headers=owner,
    )
    assert locked.status_code == 409

    async with session_factory() as session, session.begin():
        submission = await service.get_for_update(session, uuid.UUID(submission_id))
        await lifecycle.transition(session, submission, Status.IN_REVIEW, REVIEWER, now=utcnow())
    with pytest.raises(service.ReturnMessageRequired):
        async with session_factory() as session, session.begin():
            await service.return_for_correction(
                session, uuid.UUID(submission_id), REVIEWER, "  ", now=utcnow()
            )
    async with session_factory() as session, session.begin():
        await service.return_for_correction(
            session,
            uuid.UUID(submission_id),
            REVIEWER,
            "通数を2通に訂正してください",
            now=utcnow(),
        )

    shown = (await api.get(f"/api/v1/submissions/{submission_id}", headers=owner)).json()
    assert shown["status"] == "returned"
    last = shown["timeline"][-1]
    assert last == {
        "from": "in_review",
        "to": "returned",
        "at": last["at"],
        "actor_kind": "staff",
        "comment": "通数を2通に訂正してください",
    }
    assert "staff-user-42" not in str(shown)

    corrected = await api.patch(
        f"/api/v1/submissions/{submission_id}",
        json={"answers": {"requester": "self", "copies": 2}},
        headers=owner,
    )
    assert corrected.status_code == 200
    resubmitted = await submit(api, submission_id, token)
    assert resubmitted.status_code == 200
    receipt = resubmitted.json()
    assert receipt["status"] == "resubmitted"
    assert receipt["reference_number"] == number
    assert receipt["fee"]["total"] == 600
    assert receipt["submitted_at"] == body["submitted_at"]  # 受付日 stays the first submit

    assert [
        (e.from_status, e.to_status, e.actor_kind)
        for e in await stored_events(session_factory, submission_id)
    ] == [
        (None, "draft", "citizen"),
        ("draft", "submitted", "citizen"),
        ("submitted", "in_review", "staff"),
        ("in_review", "returned", "staff"),
        ("returned", "resubmitted", "citizen"),
    ]
    async with session_factory() as session:
        counter = await session.get_one(ReferenceCounter, (TOMI, 2025))
        assert counter.last_value == 1  # resubmitting used no new number


@pytest.mark.parametrize("start", list(Status), ids=str)
async def test_every_transition_the_table_forbids_is_refused(
    start: Status,
    tomi: str,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session, session.begin():
        created = await service.create_submission(
            session,
            municipality_code=TOMI,
            procedure_code="test-certificate",
            answers={"requester": "self", "copies": 1},
            submit=False,
            caller=ANONYMOUS,
            settings=settings,
            now=utcnow(),
        )
        submission = created.submission
        for step in PATHS[start]:
            await lifecycle.transition(session, submission, step, REVIEWER, now=utcnow())
    assert submission.status == start
    events_before = len(await stored_events(session_factory, str(submission.id)))

    forbidden = [target for target in Status if target not in TRANSITIONS[start]]
    assert forbidden  # every status forbids at least staying where it is
    for target in forbidden:
        async with session_factory() as session:
            loaded = await service.get_for_update(session, submission.id)
            with pytest.raises(IllegalTransition) as refused:
                await lifecycle.transition(session, loaded, target, REVIEWER, now=utcnow())
            await session.rollback()
        assert refused.value.status == 409
        assert refused.value.extra == {"from": str(start), "to": str(target)}

    stored = await stored_submission(session_factory, str(submission.id))
    assert stored.status == start
    assert len(await stored_events(session_factory, str(submission.id))) == events_before


async def test_two_concurrent_submits_of_one_draft_one_wins(
    api: httpx.AsyncClient,
    tomi: str,
    backend: Backend,
    clock: Clock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    if backend.name != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    clock.set_tokyo(2025, 7, 1)
    submission_id, token = await create_draft(api, {"requester": "self", "copies": 1})
    first, second = await asyncio.gather(
        submit(api, submission_id, token), submit(api, submission_id, token)
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = first if first.status_code == 409 else second
    assert loser.json()["code"] in {"ILLEGAL_TRANSITION", "SUBMISSION_CHANGED"}
    events = await stored_events(session_factory, submission_id)
    assert [e.to_status for e in events] == ["draft", "awaiting_payment"]
    async with session_factory() as session:
        counter = await session.get_one(ReferenceCounter, (TOMI, 2025))
        assert counter.last_value == 1

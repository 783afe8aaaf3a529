"""The submission lifecycle (申請の状態遷移): one explicit table, for citizens now and
staff, payments and the system later. Every transition writes a SubmissionEvent in the
transaction that changes the status. Never commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from app.errors import Conflict
from app.kpi import rollups as kpi_rollups
from app.submissions.models import Submission, SubmissionEvent


class Status(StrEnum):
    DRAFT = "draft"  # 下書き
    SUBMITTED = "submitted"  # 申請済み (受付)
    AWAITING_PAYMENT = "awaiting_payment"  # 支払待ち
    PAID = "paid"  # 支払済み
    IN_REVIEW = "in_review"  # 審査中
    RETURNED = "returned"  # 差戻し
    RESUBMITTED = "resubmitted"  # 再申請
    APPROVED = "approved"  # 承認 (交付決定)
    REJECTED = "rejected"  # 却下
    WITHDRAWN = "withdrawn"  # 取下げ


TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.IN_REVIEW, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.AWAITING_PAYMENT: frozenset({Status.PAID, Status.WITHDRAWN}),
    Status.PAID: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.IN_REVIEW: frozenset(
        {
            Status.APPROVED,
            Status.REJECTED,
            Status.RETURNED,
            Status.AWAITING_PAYMENT,
            Status.WITHDRAWN,
        }
    ),
    Status.RETURNED: frozenset({Status.RESUBMITTED, Status.WITHDRAWN}),
    Status.RESUBMITTED: frozenset({Status.IN_REVIEW, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.APPROVED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
"""from -> the statuses it may move to. approved, rejected and withdrawn are final."""

EDITABLE = frozenset({Status.DRAFT, Status.RETURNED})
"""The citizen may change the answers only before submitting or when asked to correct."""

DECISIONS = frozenset({Status.APPROVED, Status.REJECTED})

ActorKind = Literal["citizen", "staff", "system"]


@dataclass(frozen=True)
class Actor:
    """Who causes a transition. `id` names a staff user (never shown to citizens)."""

    kind: ActorKind
    id: str | None = None


SYSTEM = Actor("system")


class IllegalTransition(Conflict):
    code = "ILLEGAL_TRANSITION"
    title_en = "This change of status is not allowed"
    title_ja = "この状態では実行できません"


class SubmissionChanged(Conflict):
    code = "SUBMISSION_CHANGED"
    title_en = "The application was changed by another request"
    title_ja = "申請が他の操作で変更されました"

    def __init__(self) -> None:
        super().__init__(
            "The application was changed at the same time. Reload it and try again.",
            "同時に申請が変更されました。再読み込みしてからもう一度お試しください。",
        )


def is_allowed(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def ensure_allowed(current: str, target: Status) -> None:
    if not is_allowed(Status(current), target):
        raise IllegalTransition(
            f"An application in status '{current}' cannot move to '{target}'.",
            f"状態「{current}」の申請を「{target}」にすることはできません。",
            extra={"from": current, "to": str(target)},
        )


def record_creation(
    session: AsyncSession, submission: Submission, actor: Actor, *, now: datetime
) -> SubmissionEvent:
    """The first event of every submission: None -> draft."""
    return _add_event(session, submission, None, Status(submission.status), actor, None, now)


async def transition(
    session: AsyncSession,
    submission: Submission,
    to: Status,
    actor: Actor,
    comment: str | None = None,
    *,
    now: datetime,
) -> SubmissionEvent:
    """Move `submission` to `to` and record the event, in the caller's transaction.

    Takes the row lock (PostgreSQL; a no-op on SQLite) and checks that the row still
    has the version this object was loaded with, so two racing requests cannot both
    move the same application: the loser gets 409 either here or at flush.
    """
    ensure_allowed(submission.status, to)
    await _lock_current_version(session, submission)
    previous = Status(submission.status)
    submission.status = to
    submission.updated_at = now
    if to in DECISIONS:
        submission.decided_at = now
    event = _add_event(session, submission, previous, to, actor, comment, now)
    # KPI rollups move in this same transaction, so they never disagree with the events.
    await kpi_rollups.record_transition(session, submission, event)
    await flush_submission(session)
    return event


async def flush_submission(session: AsyncSession) -> None:
    """Flush, turning a lost optimistic-lock race into 409."""
    try:
        await session.flush()
    except StaleDataError as exc:
        raise SubmissionChanged() from exc


async def _lock_current_version(session: AsyncSession, submission: Submission) -> None:
    if inspect(submission).pending:
        return  # created in this transaction: no other request can see it yet
    stored_version = await session.scalar(
        select(Submission.row_version).where(Submission.id == submission.id).with_for_update()
    )
    if stored_version != submission.row_version:
        raise SubmissionChanged()


def _add_event(
    session: AsyncSession,
    submission: Submission,
    from_status: Status | None,
    to_status: Status,
    actor: Actor,
    comment: str | None,
    now: datetime,
) -> SubmissionEvent:
    event = SubmissionEvent(
        submission_id=submission.id,
        municipality_code=submission.municipality_code,
        procedure_id=submission.procedure_id,
        procedure_code=submission.procedure_code,
        channel=submission.channel,
        from_status=from_status,
        to_status=to_status,
        actor_kind=actor.kind,
        actor_id=actor.id,
        comment=comment,
        occurred_at=now,
    )
    session.add(event)
    return event

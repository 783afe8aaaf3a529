"""Queries over the application tables that other modules need: the staff review list,
applications due for the retention purge, the event history the KPI counts, a
citizen's own applications. The only SQL over these tables outside app.submissions.

Other modules never import app.submissions.models. `Submission`, `SubmissionEvent` and
`SubmissionComment` are published as row types, to name what these functions and
app.submissions.service return; rows change only through that service and the
lifecycle.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement, rows_of_submission
from app.forms.repository import version_labels
from app.submissions.lifecycle import RECORDED_COLUMNS, RecordedTransition, Status, held_locks
from app.submissions.models import (
    IdempotencyRecord,
    Submission,
    SubmissionAssignment,
    SubmissionComment,
    SubmissionEvent,
    SubmissionSignature,
)

__all__ = [
    "RecordedTransition",
    "ReviewFilter",
    "ReviewableRow",
    "SortKey",
    "Submission",
    "SubmissionComment",
    "SubmissionEvent",
    "assignment_of",
    "comments_of",
    "count_signatures",
    "delete_signatures",
    "due_for_retention",
    "event_history",
    "get",
    "get_for_update",
    "has_entered",
    "list_for_citizen",
    "reviewable_page",
    "reviewable_row",
    "signatures_of",
    "stream_event_history",
    "timeline_of",
]

SortKey = Literal[
    "submitted_at",
    "-submitted_at",
    "updated_at",
    "-updated_at",
    "reference_number",
    "-reference_number",
    "status",
    "-status",
]
_SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "submitted_at": (Submission.submitted_at,),
    "updated_at": (Submission.updated_at,),
    # By fiscal year first: as text, R10 would sort before R9.
    "reference_number": (Submission.fiscal_year, Submission.reference_number),
    "status": (Submission.status,),
}


# --- One application -----------------------------------------------------------------------


async def get(session: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    return await session.get(Submission, submission_id)


async def get_for_update(session: AsyncSession, submission_id: uuid.UUID) -> Submission | None:
    """The row, locked until commit (PostgreSQL) and read afresh."""
    submission = await session.scalar(
        select(Submission)
        .where(Submission.id == submission_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if submission is not None:
        held_locks(session).add(submission.id)
    return submission


async def timeline_of(session: AsyncSession, submission_id: uuid.UUID) -> list[SubmissionEvent]:
    """The status history (状態履歴) in the order it happened."""
    return await rows_of_submission(
        session, SubmissionEvent, submission_id, oldest_first_by=SubmissionEvent.occurred_at
    )


async def has_entered(session: AsyncSession, submission_id: uuid.UUID, status: Status) -> bool:
    """Whether the application was ever moved to `status` (e.g. asked to pay: its fee is
    charged from then on)."""
    found = await session.scalar(
        select(SubmissionEvent.id)
        .where(SubmissionEvent.submission_id == submission_id, SubmissionEvent.to_status == status)
        .limit(1)
    )
    return found is not None


async def comments_of(session: AsyncSession, submission_id: uuid.UUID) -> list[SubmissionComment]:
    """Internal notes (内部メモ), oldest first."""
    return await rows_of_submission(
        session, SubmissionComment, submission_id, oldest_first_by=SubmissionComment.created_at
    )


async def assignment_of(
    session: AsyncSession, submission_id: uuid.UUID
) -> SubmissionAssignment | None:
    return await session.get(SubmissionAssignment, submission_id)


async def signatures_of(
    session: AsyncSession, submission_id: uuid.UUID
) -> list[SubmissionSignature]:
    """Signing evidence, oldest first (a resubmission signed again adds one)."""
    return await rows_of_submission(
        session, SubmissionSignature, submission_id, oldest_first_by=SubmissionSignature.verified_at
    )


async def count_signatures(session: AsyncSession, submission_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(SubmissionSignature)
        .where(SubmissionSignature.submission_id == submission_id)
    )
    return count or 0


async def delete_signatures(session: AsyncSession, submission_id: uuid.UUID) -> None:
    await session.execute(
        delete(SubmissionSignature).where(SubmissionSignature.submission_id == submission_id)
    )


async def delete_draft_rows(
    session: AsyncSession, submission: Submission, *, scopes: Sequence[str]
) -> None:
    """Deletes a draft: its events, the Idempotency-Key records in `scopes` whose stored
    receipt names it, and the row itself (checked against its row version: a draft
    changed meanwhile raises StaleDataError at flush)."""
    await session.execute(
        delete(SubmissionEvent).where(SubmissionEvent.submission_id == submission.id)
    )
    await session.execute(
        delete(IdempotencyRecord)
        .where(
            IdempotencyRecord.scope.in_(scopes),
            IdempotencyRecord.response_body["id"].as_string() == str(submission.id),
        )
        .execution_options(synchronize_session=False)
    )
    await session.delete(submission)


async def list_for_citizen(session: AsyncSession, citizen_subject: str) -> list[Submission]:
    """The applications a logged-in citizen owns, newest first (マイページ)."""
    rows = await session.scalars(
        select(Submission)
        .where(Submission.citizen_subject == citizen_subject)
        .order_by(Submission.created_at.desc())
    )
    return list(rows)


# --- The staff review list ------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewFilter:
    """What a staff member asks the list for; every criterion is optional."""

    statuses: tuple[Status, ...] = ()
    procedure_code: str | None = None
    department: str | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None
    """Exclusive upper bound."""
    assignee_id: uuid.UUID | None = None
    unassigned: bool = False
    reference_number: str | None = None
    channel: Literal["online", "counter"] | None = None


@dataclass(frozen=True)
class ReviewableRow:
    """An application as the staff list shows it, with its pinned version's labels."""

    submission: Submission
    title_ja: str
    title_en: str | None
    department: str
    assignee_id: uuid.UUID | None


async def reviewable_page(
    session: AsyncSession,
    municipality_code: str,
    department_scope: str | None,
    criteria: ReviewFilter,
    *,
    sort: SortKey,
    limit: int,
    offset: int,
) -> tuple[list[ReviewableRow], int]:
    """Applications of the municipality (and of `department_scope`, when given) that were
    submitted at least once, filtered and sorted, with the total count. Drafts (and drafts
    withdrawn unsent) are the applicant's own business: never listed."""
    labels = version_labels()
    conditions = _review_conditions(labels, municipality_code, department_scope, criteria)
    total = await session.scalar(
        _review_joined(select(func.count(Submission.id)), labels).where(*conditions)
    )
    columns = _SORT_COLUMNS[sort.removeprefix("-")]
    order = [c.desc() if sort.startswith("-") else c.asc() for c in columns]
    rows = await session.execute(
        _review_rows(labels, conditions).order_by(*order, Submission.id).limit(limit).offset(offset)
    )
    return [ReviewableRow(*row) for row in rows], total or 0


async def reviewable_row(
    session: AsyncSession,
    municipality_code: str,
    department_scope: str | None,
    submission_id: uuid.UUID,
) -> ReviewableRow | None:
    """One application as the list shows it, if the scope may see it."""
    labels = version_labels()
    conditions = [
        *_review_conditions(labels, municipality_code, department_scope, ReviewFilter()),
        Submission.id == submission_id,
    ]
    row = (await session.execute(_review_rows(labels, conditions))).first()
    return None if row is None else ReviewableRow(*row)


def _review_conditions(
    labels: Any, municipality_code: str, department_scope: str | None, criteria: ReviewFilter
) -> list[ColumnElement[bool]]:
    conditions = [
        Submission.municipality_code == municipality_code,
        Submission.reference_number.is_not(None),
    ]
    if department_scope is not None:
        conditions.append(labels.c.department == department_scope)
    if criteria.statuses:
        conditions.append(Submission.status.in_([str(s) for s in criteria.statuses]))
    equalities = (
        (Submission.procedure_code, criteria.procedure_code),
        (labels.c.department, criteria.department),
        (Submission.reference_number, criteria.reference_number),
        (Submission.channel, criteria.channel),
        (SubmissionAssignment.assignee_id, criteria.assignee_id),
    )
    conditions += [column == value for column, value in equalities if value is not None]
    if criteria.unassigned:
        conditions.append(SubmissionAssignment.assignee_id.is_(None))
    if criteria.submitted_from is not None:
        conditions.append(Submission.submitted_at >= criteria.submitted_from)
    if criteria.submitted_to is not None:
        conditions.append(Submission.submitted_at < criteria.submitted_to)
    return conditions


def _review_rows(labels: Any, conditions: list[ColumnElement[bool]]) -> Select[Any]:
    columns = (
        Submission,
        labels.c.title_ja,
        labels.c.title_en,
        labels.c.department,
        SubmissionAssignment.assignee_id,
    )
    return _review_joined(select(*columns), labels).where(*conditions)


def _review_joined(query: Select[Any], labels: Any) -> Select[Any]:
    return (
        query.select_from(Submission)
        .join(labels, labels.c.version_id == Submission.procedure_version_id)
        .outerjoin(SubmissionAssignment, SubmissionAssignment.submission_id == Submission.id)
    )


# --- Retention -------------------------------------------------------------------------------


async def due_for_retention(
    session: AsyncSession,
    *,
    statuses: Sequence[Status],
    settled_before: datetime,
    excluding: Select[tuple[uuid.UUID]],
) -> list[tuple[Submission, dict[str, Any]]]:
    """Applications in one of `statuses` whose decision (or, for a withdrawal, last
    update) lies before `settled_before`, except the ids `excluding` selects, with their
    pinned version's definition; by municipality, oldest first."""
    labels = version_labels()
    settled = func.coalesce(Submission.decided_at, Submission.updated_at)
    rows = await session.execute(
        select(Submission, labels.c.definition)
        .join(labels, labels.c.version_id == Submission.procedure_version_id)
        .where(
            Submission.status.in_([str(status) for status in statuses]),
            settled < settled_before,
            Submission.id.not_in(excluding),
        )
        .order_by(Submission.municipality_code, settled)
    )
    return [(submission, definition) for submission, definition in rows]


# --- The event history (what the KPI counts) ------------------------------------------------


async def event_history(
    session: AsyncSession, submission_id: uuid.UUID, *, before_event_id: int | None = None
) -> list[RecordedTransition]:
    """One application's events in the order recorded (only those before
    `before_event_id`, when given)."""
    if before_event_id is None:
        rows = await _HISTORY.rows(session, {"submission_id": submission_id})
    else:
        rows = await _HISTORY_BEFORE.rows(
            session, {"submission_id": submission_id, "before_event_id": before_event_id}
        )
    return [RecordedTransition(*row) for row in rows]


# Built once and run on the driver: the KPI listener reads the history on every
# transition after receipt (a webhook paying an application, a decision).
_history = (
    select(*RECORDED_COLUMNS)
    .where(SubmissionEvent.submission_id == bindparam("submission_id"))
    .order_by(SubmissionEvent.id)
)
_HISTORY = HotStatement(_history)
_HISTORY_BEFORE = HotStatement(_history.where(SubmissionEvent.id < bindparam("before_event_id")))


async def stream_event_history(
    session: AsyncSession, municipality_code: str | None = None
) -> AsyncIterator[RecordedTransition]:
    """Every event (of one municipality, when given), by application and in the order
    recorded; streamed, for recounts over the whole history."""
    query = select(*RECORDED_COLUMNS).order_by(SubmissionEvent.submission_id, SubmissionEvent.id)
    if municipality_code is not None:
        query = query.where(SubmissionEvent.municipality_code == municipality_code)
    result = await session.stream(query.execution_options(yield_per=5000))
    async for row in result:
        yield RecordedTransition(*row)

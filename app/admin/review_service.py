"""Staff review of applications (審査): the list, the detail view with masked My
Numbers, assignment (担当), decisions, internal notes (内部メモ), counter applications
(窓口受付) and My Number reveals.

Every status change goes through app.submissions (service and lifecycle); this module
adds who may see what (municipality, department), optimistic concurrency (the ETag is
the submission's row version) and the audit trail: each detail read and each write
leaves an entry. Never commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin.review_models import SubmissionAssignment, SubmissionComment
from app.audit import service as audit
from app.auth import staff_service
from app.auth.staff_models import StaffRole, StaffUser
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.errors import AppError, ValidationFailed
from app.forms import service as forms
from app.forms.definition import ProcedureDefinition
from app.forms.models import ProcedureVersion
from app.submissions import lifecycle, my_number
from app.submissions import service as submissions
from app.submissions.lifecycle import Status, SubmissionChanged
from app.submissions.models import Submission, SubmissionEvent

Decision = Literal["start_review", "approve", "reject", "return"]
DECISION_TARGETS: dict[Decision, Status] = {
    "start_review": Status.IN_REVIEW,  # 審査開始
    "approve": Status.APPROVED,  # 承認
    "reject": Status.REJECTED,  # 却下
    "return": Status.RETURNED,  # 差戻し
}
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
RECEIVED_AT_CLOCK_SKEW = timedelta(minutes=5)

_department = ProcedureVersion.definition["department"]["ja"].as_string()
_title_ja = ProcedureVersion.definition["title"]["ja"].as_string()
_title_en = ProcedureVersion.definition["title"]["en"].as_string()
_SORT_COLUMNS: dict[str, tuple[Any, ...]] = {
    "submitted_at": (Submission.submitted_at,),
    "updated_at": (Submission.updated_at,),
    # By fiscal year first: as text, R10 would sort before R9.
    "reference_number": (Submission.fiscal_year, Submission.reference_number),
    "status": (Submission.status,),
}


class PreconditionRequired(AppError):
    status = 428
    code = "PRECONDITION_REQUIRED"
    title_en = "Send If-Match with the ETag of the application"
    title_ja = "申請のETagをIf-Matchで送信してください"


class RejectionReasonRequired(ValidationFailed):
    code = "REJECTION_REASON_REQUIRED"
    title_en = "A rejection needs a reason"
    title_ja = "却下には理由が必要です"


class AssigneeInvalid(ValidationFailed):
    code = "ASSIGNEE_INVALID"
    title_en = "This staff member cannot review the application"
    title_ja = "この職員はこの申請を担当できません"


class ReceivedAtInFuture(ValidationFailed):
    code = "RECEIVED_AT_IN_FUTURE"
    title_en = "The time of receipt lies in the future"
    title_ja = "受付日時が未来になっています"


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
class ReviewRow:
    submission: Submission
    title_ja: str
    title_en: str | None
    department: str
    assignee_id: uuid.UUID | None
    assignee_name: str | None


@dataclass(frozen=True)
class ReviewDetail:
    row: ReviewRow
    masked_answers: dict[str, Any]
    my_number_fields: list[str]
    timeline: list[SubmissionEvent]
    comments: list[SubmissionComment]


async def list_submissions(
    session: AsyncSession,
    staff: StaffPrincipal,
    criteria: ReviewFilter,
    *,
    sort: SortKey,
    limit: int,
    offset: int,
) -> tuple[list[ReviewRow], int]:
    """Submitted applications of the staff member's municipality (and department, for a
    reviewer), with the total count. Drafts are the applicant's own business: never listed."""
    conditions = _conditions(staff, criteria)
    total = await session.scalar(_joined(select(func.count(Submission.id))).where(*conditions))
    columns = _SORT_COLUMNS[sort.removeprefix("-")]
    order = [c.desc() if sort.startswith("-") else c.asc() for c in columns]
    rows = await session.execute(
        _rows(conditions).order_by(*order, Submission.id).limit(limit).offset(offset)
    )
    return [ReviewRow(*row) for row in rows], total or 0


async def get_row(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> ReviewRow:
    """One application as the list shows it (e.g. after a write)."""
    conditions = [*_conditions(staff, ReviewFilter()), Submission.id == submission_id]
    row = (await session.execute(_rows(conditions))).first()
    if row is None:
        raise submissions.SubmissionNotFound()
    return ReviewRow(*row)


async def read_submission(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID, settings: Settings
) -> ReviewDetail:
    """The detail view (audited): answers with My Numbers masked, timeline, notes."""
    submission, definition = await _visible(session, staff, submission_id)
    timeline = await session.scalars(
        select(SubmissionEvent)
        .where(SubmissionEvent.submission_id == submission.id)
        .order_by(SubmissionEvent.occurred_at, SubmissionEvent.id)
    )
    comments = await session.scalars(
        select(SubmissionComment)
        .where(SubmissionComment.submission_id == submission.id)
        .order_by(SubmissionComment.created_at, SubmissionComment.id)
    )
    cipher = my_number.cipher_for(settings)
    await _audit(session, staff, "submission.read", submission)
    return ReviewDetail(
        row=await get_row(session, staff, submission.id),
        masked_answers=my_number.masked_answers(definition, submission.answers, cipher),
        my_number_fields=my_number.my_number_pointers(definition, submission.answers),
        timeline=list(timeline),
        comments=list(comments),
    )


async def assign(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    *,
    expected_row_version: int | None,
    now: datetime,
) -> Submission:
    """Make `assignee_id` the 担当者 (None: nobody). The assignee must be able to see
    the application: an admin, or a reviewer of its department."""
    submission, definition = await _locked(session, staff, submission_id, expected_row_version)
    if assignee_id is not None:
        assignee = await staff_service.get_staff(session, staff.municipality_code, assignee_id)
        _require_can_review(assignee, definition.department.ja)
    assignment = await session.get(SubmissionAssignment, submission.id)
    if assignee_id is None:
        if assignment is not None:
            await session.delete(assignment)
    elif assignment is None:
        session.add(
            SubmissionAssignment(
                submission_id=submission.id,
                assignee_id=assignee_id,
                assigned_by=staff.id,
                assigned_at=now,
            )
        )
    else:
        assignment.assignee_id, assignment.assigned_by, assignment.assigned_at = (
            assignee_id,
            staff.id,
            now,
        )
    # Touching the row bumps its version: the ETag covers the assignee too.
    submission.updated_at = now
    await lifecycle.flush_submission(session)
    await _audit(
        session,
        staff,
        "submission.assign",
        submission,
        details={"assignee_id": str(assignee_id) if assignee_id else None},
    )
    return submission


async def decide(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    decision: Decision,
    comment: str | None,
    *,
    expected_row_version: int | None,
    now: datetime,
) -> Submission:
    """start_review, approve, reject (reason required) or return (message to the
    applicant required). Both texts are shown to the applicant in the timeline."""
    submission, _ = await _locked(session, staff, submission_id, expected_row_version)
    previous = submission.status
    actor = lifecycle.Actor("staff", str(staff.id))
    comment = (comment or "").strip() or None
    if decision == "return":
        await submissions.return_for_correction(
            session, submission.id, actor, comment or "", now=now
        )
    else:
        if decision == "reject" and comment is None:
            raise RejectionReasonRequired(
                "Give the reason for the rejection; the applicant is told.",
                "却下の理由を記入してください。申請者に通知されます。",
            )
        await lifecycle.transition(
            session, submission, DECISION_TARGETS[decision], actor, comment, now=now
        )
    await _audit(
        session,
        staff,
        f"submission.{decision}",
        submission,
        reason=comment,
        details={"from": previous, "to": submission.status},
    )
    return submission


async def add_comment(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    body: str,
    *,
    now: datetime,
) -> SubmissionComment:
    """An internal note; it does not change the application (nor its ETag)."""
    submission, _ = await _visible(session, staff, submission_id)
    comment = SubmissionComment(
        submission_id=submission.id, author_id=staff.id, body=body.strip(), created_at=now
    )
    session.add(comment)
    await session.flush()
    await _audit(
        session, staff, "submission.comment", submission, details={"comment_id": str(comment.id)}
    )
    return comment


async def reveal_my_number(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    field_pointer: str,
    reason: str,
    settings: Settings,
) -> str:
    """The full 個人番号 at one field, for a stated reason that goes to the audit log."""
    submission, definition = await _visible(session, staff, submission_id)
    value = my_number.reveal(
        definition, submission.answers, field_pointer, my_number.cipher_for(settings)
    )
    await _audit(
        session,
        staff,
        "my_number.reveal",
        submission,
        reason=reason.strip(),
        details={"field": field_pointer},
    )
    return value


async def record_counter_submission(
    session: AsyncSession,
    staff: StaffPrincipal,
    *,
    procedure_code: str,
    received_at: datetime,
    answers: dict[str, Any],
    settings: Settings,
    now: datetime,
) -> Submission:
    """窓口受付: a paper application taken at the counter, recorded with channel
    `counter` and a reference number from the same counter as online ones."""
    if received_at > now + RECEIVED_AT_CLOCK_SKEW:
        raise ReceivedAtInFuture(
            "received_at must not lie in the future.", "受付日時に未来の日時は指定できません。"
        )
    published = await forms.get_published(session, staff.municipality_code, procedure_code)
    department = published.form.definition.department.ja
    if staff.department_scope is not None and department != staff.department_scope:
        raise forms.ProcedureNotFound(
            f"Your department offers no procedure '{procedure_code}'.",
            f"所属課の手続に「{procedure_code}」はありません。",
        )
    submission = await submissions.record_counter_submission(
        session,
        municipality_code=staff.municipality_code,
        procedure_code=procedure_code,
        answers=answers,
        received_at=received_at,
        staff=lifecycle.Actor("staff", str(staff.id)),
        settings=settings,
    )
    await _audit(
        session,
        staff,
        "submission.counter_create",
        submission,
        details={"reference_number": submission.reference_number},
    )
    return submission


def _conditions(staff: StaffPrincipal, criteria: ReviewFilter) -> list[ColumnElement[bool]]:
    conditions = [
        Submission.municipality_code == staff.municipality_code,
        # Submitted at least once: drafts (and drafts withdrawn unsent) stay private.
        Submission.reference_number.is_not(None),
    ]
    if staff.department_scope is not None:
        conditions.append(_department == staff.department_scope)
    if criteria.statuses:
        conditions.append(Submission.status.in_([str(s) for s in criteria.statuses]))
    equalities = (
        (Submission.procedure_code, criteria.procedure_code),
        (_department, criteria.department),
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


def _rows(conditions: list[ColumnElement[bool]]) -> Select[Any]:
    columns = (
        Submission,
        _title_ja,
        _title_en,
        _department,
        SubmissionAssignment.assignee_id,
        StaffUser.display_name,
    )
    return _joined(select(*columns)).where(*conditions)


def _joined(query: Select[Any]) -> Select[Any]:
    return (
        query.select_from(Submission)
        .join(ProcedureVersion, ProcedureVersion.id == Submission.procedure_version_id)
        .outerjoin(SubmissionAssignment, SubmissionAssignment.submission_id == Submission.id)
        .outerjoin(StaffUser, StaffUser.id == SubmissionAssignment.assignee_id)
    )


async def _visible(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> tuple[Submission, ProcedureDefinition]:
    submission = await session.get(Submission, submission_id)
    if submission is None:
        raise submissions.SubmissionNotFound()
    return submission, await _definition_if_visible(session, staff, submission)


async def _definition_if_visible(
    session: AsyncSession, staff: StaffPrincipal, submission: Submission
) -> ProcedureDefinition:
    """The pinned definition of an application this staff member may see; anything
    else (another municipality, another department, a draft) is simply not found."""
    if (
        submission.municipality_code != staff.municipality_code
        or submission.reference_number is None
    ):
        raise submissions.SubmissionNotFound()
    version = await forms.get_version(session, submission.procedure_version_id)
    definition = forms.compiled_version(version).definition
    if staff.department_scope not in (None, definition.department.ja):
        raise submissions.SubmissionNotFound()
    return definition


async def _locked(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    expected_row_version: int | None,
) -> tuple[Submission, ProcedureDefinition]:
    """Lock the row, check visibility, then the If-Match: a request that waited for a
    concurrent write sees that write's version here and is refused."""
    if expected_row_version is None:
        raise PreconditionRequired(
            "Send If-Match with the ETag of the detail view you decided on.",
            "詳細画面のETagをIf-Matchヘッダーで送信してください。",
        )
    submission = await submissions.get_for_update(session, submission_id)
    definition = await _definition_if_visible(session, staff, submission)
    if submission.row_version != expected_row_version:
        raise SubmissionChanged()
    return submission, definition


def _require_can_review(assignee: StaffUser, department: str) -> None:
    roles = set(assignee.roles)
    can_review = StaffRole.ADMIN.value in roles or (
        StaffRole.REVIEWER.value in roles and assignee.department == department
    )
    if assignee.disabled_at is not None or not can_review:
        raise AssigneeInvalid(
            f"Assign an admin or a reviewer of {department}.",
            f"管理者または{department}の審査担当を指定してください。",
        )


async def _audit(
    session: AsyncSession,
    staff: StaffPrincipal,
    action: str,
    submission: Submission,
    *,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    await audit.record(
        session,
        staff,
        action,
        "submission",
        submission.id,
        submission.municipality_code,
        reason=reason,
        details=details,
    )

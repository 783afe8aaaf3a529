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
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.auth import staff_service
from app.auth.staff_models import StaffRole, StaffUser
from app.auth.staff_service import StaffPrincipal
from app.config import Settings
from app.errors import ValidationFailed
from app.forms import service as forms
from app.forms.definition import ProcedureDefinition
from app.http_preconditions import require_row_version
from app.jp_calendar import fiscal_year_bounds, fiscal_year_label, fiscal_year_of, local_date
from app.municipalities.service import get_municipality
from app.payments import service as payments
from app.submissions import lifecycle, my_number, signing
from app.submissions import repository as submissions_repository
from app.submissions import service as submissions
from app.submissions.lifecycle import Status, SubmissionChanged
from app.submissions.repository import (
    ReviewableRow,
    ReviewFilter,
    SortKey,
    Submission,
    SubmissionComment,
    SubmissionEvent,
)

Decision = Literal["start_review", "approve", "reject", "return"]
DECISION_TARGETS: dict[Decision, Status] = {
    "start_review": Status.IN_REVIEW,  # 審査開始
    "approve": Status.APPROVED,  # 承認
    "reject": Status.REJECTED,  # 却下
    "return": Status.RETURNED,  # 差戻し
}
RECEIVED_AT_CLOCK_SKEW = timedelta(minutes=5)


class RejectionReasonRequired(ValidationFailed, code="REJECTION_REASON_REQUIRED"): ...


class AssigneeInvalid(ValidationFailed, code="ASSIGNEE_INVALID"): ...


class ReceivedAtInFuture(ValidationFailed, code="RECEIVED_AT_IN_FUTURE"): ...


class ReceivedAtBeforePublication(ValidationFailed, code="RECEIVED_AT_BEFORE_PUBLICATION"): ...


class ReceivedAtOutsideFiscalYears(ValidationFailed, code="RECEIVED_AT_OUTSIDE_FISCAL_YEARS"):
    """Only this 年度 and the last may be entered: older receipts would take numbers
    from a closed year's 受付番号 counter and change figures already published."""


@dataclass(frozen=True)
class ReviewRow(ReviewableRow):
    """A row of the staff list, with the name of the staff member it is assigned to."""

    assignee_name: str | None


@dataclass(frozen=True)
class ReviewDetail:
    row: ReviewRow
    masked_answers: dict[str, Any]
    my_number_fields: list[str]
    timeline: list[SubmissionEvent]
    comments: list[SubmissionComment]
    signatures: list[signing.SigningEvidence]


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
    rows, total = await submissions_repository.reviewable_page(
        session,
        staff.municipality_code,
        staff.department_scope,
        criteria,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return await _with_assignee_names(session, staff, rows), total


async def get_row(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> ReviewRow:
    """One application as the list shows it (e.g. after a write)."""
    row = await submissions_repository.reviewable_row(
        session, staff.municipality_code, staff.department_scope, submission_id
    )
    if row is None:
        raise submissions.SubmissionNotFound()
    (named,) = await _with_assignee_names(session, staff, [row])
    return named


async def read_submission(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID, settings: Settings
) -> ReviewDetail:
    """The detail view (audited): answers with My Numbers masked, timeline, notes, and
    the signing evidence with the signer's facts set against the answers (本人確認).
    Showing a signer's 基本4情報 is audited on its own, like a My Number reveal."""
    submission, definition = await _visible(session, staff, submission_id)
    cipher = my_number.cipher_for(settings)
    await _audit(session, staff, "submission.read", submission)
    signatures = await signing.evidence_of(session, submission, definition, cipher)
    if signatures:
        await _audit(
            session,
            staff,
            "signature.show",
            submission,
            details={
                "signatures": [str(evidence.signature.id) for evidence in signatures],
                "differs": sorted({fact for e in signatures for fact in e.differs}),
            },
        )
    return ReviewDetail(
        row=await get_row(session, staff, submission.id),
        masked_answers=my_number.masked_answers(definition, submission.answers, cipher),
        my_number_fields=my_number.my_number_pointers(definition, submission.answers),
        timeline=await submissions_repository.timeline_of(session, submission.id),
        comments=await submissions_repository.comments_of(session, submission.id),
        signatures=signatures,
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
    await submissions.assign(session, submission, assignee_id, assigned_by=staff.id, now=now)
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
    comment = await submissions.add_comment(session, submission, staff.id, body, now=now)
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
    timezone = ZoneInfo(settings.timezone)
    first_published = published.procedure.first_published_at
    if first_published is not None and received_at < first_published:
        day = local_date(first_published, timezone).isoformat()
        raise ReceivedAtBeforePublication(
            f"'{procedure_code}' was first published on {day}; received_at must not be earlier.",
            f"「{procedure_code}」の公開開始は{day}です。受付日時はそれ以降にしてください。",
        )
    municipality = await get_municipality(session, staff.municipality_code)
    start_month = municipality.fiscal_year_start_month
    this_year = fiscal_year_of(now, start_month, timezone=timezone)
    if fiscal_year_of(received_at, start_month, timezone=timezone) < this_year - 1:
        first_day, _ = fiscal_year_bounds(this_year - 1, start_month)
        earliest = datetime.combine(first_day, time(0), tzinfo=timezone)
        raise ReceivedAtOutsideFiscalYears(
            f"Counter applications can be entered from {earliest.isoformat()} (the start of "
            f"fiscal year {this_year - 1}) onwards.",
            f"窓口受付は{fiscal_year_label(this_year - 1)}（{first_day.isoformat()}）以降の"
            "受付日時で登録してください。",
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


async def _visible(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID
) -> tuple[Submission, ProcedureDefinition]:
    submission = await submissions_repository.get(session, submission_id)
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
    definition = (await submissions.pinned_form(session, submission)).definition
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
    expected = require_row_version(expected_row_version)
    submission = await submissions.get_for_update(session, submission_id)
    definition = await _definition_if_visible(session, staff, submission)
    if submission.row_version != expected:
        raise SubmissionChanged()
    return submission, definition


async def fix_fee(
    session: AsyncSession,
    staff: StaffPrincipal,
    submission_id: uuid.UUID,
    quantities: Mapping[str, int],
    comment: str | None,
    *,
    expected_row_version: int | None,
    settings: Settings,
    now: datetime,
) -> Submission:
    """手数料の確定 (procedures paid after review): staff set the quantities they found,
    the server prices them and the application waits for payment. Finance sees every
    department; a reviewer only their own (as in the review list)."""
    sees_all = bool(staff.roles & {StaffRole.ADMIN, StaffRole.FINANCE})
    scope = replace(staff, department_scope=None if sees_all else staff.department)
    submission, _ = await _locked(session, scope, submission_id, expected_row_version)
    note = (comment or "").strip() or None
    await submissions.fix_fee(
        session,
        submission,
        quantities,
        lifecycle.Actor("staff", str(staff.id)),
        note,
        settings=settings,
        now=now,
    )
    # A fee fixed below what was paid is offered back (no transition announces it).
    await payments.settle_balance(session, submission, now=now)
    await _audit(
        session,
        staff,
        "submission.fee_fix",
        submission,
        reason=note,
        details={"fee_total": submission.fee_total, "quantities": dict(quantities)},
    )
    return submission


async def _with_assignee_names(
    session: AsyncSession, staff: StaffPrincipal, rows: list[ReviewableRow]
) -> list[ReviewRow]:
    assignees = {row.assignee_id for row in rows if row.assignee_id is not None}
    names = await staff_service.display_names(session, staff.municipality_code, assignees)
    return [
        ReviewRow(
            **vars(row), assignee_name=names.get(row.assignee_id) if row.assignee_id else None
        )
        for row in rows
    ]


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

"""Staff review over HTTP (審査): list, detail, assign and claim, decisions, internal
notes, My Number reveals, and counter applications (窓口受付).

Detail responses carry an ETag (the application's row version); every write that
changes the application needs it back in If-Match: without it 428, stale 409
(app.http_preconditions).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import AwareDatetime
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import review_service as service
from app.admin.review_schemas import (
    AssigneeRead,
    AssignRequest,
    CommentCreate,
    CommentRead,
    CounterSubmissionCreate,
    FeeFix,
    FeeFixed,
    Reject,
    Return,
    RevealedMyNumber,
    RevealRequest,
    SignatureVerification,
    SignerComparison,
    SignerFacts,
    SigningCertificate,
    SigningEvidenceRead,
    StaffSubmissionDetail,
    StaffSubmissionList,
    StaffSubmissionSummary,
    StaffTimelineEntry,
    Transition,
)
from app.auth.staff_access import ACCESS_ERRORS, ReviewStaff, require
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffNotFound, StaffPrincipal
from app.dependencies import NO_STORE, AppSettings, DbSession, Now
from app.errors import problem_responses
from app.forms.schemas import LocalizedText
from app.forms.service import ProcedureNotFound, ProcedureVersionNotFound
from app.http_preconditions import IfMatch, PreconditionRequired, etag, expected_row_version
from app.submissions.lifecycle import IllegalTransition, Status, SubmissionChanged
from app.submissions.my_number import MyNumberFieldNotFound
from app.submissions.repository import ReviewFilter, SortKey
from app.submissions.schemas import Fee
from app.submissions.service import (
    AnswersInvalid,
    FeeNotAdjustable,
    FeeQuantityInvalid,
    NoFeeDue,
    ReturnMessageRequired,
    SubmissionNotFound,
)
from app.submissions.signing import SigningEvidence

router = APIRouter(prefix="/admin", tags=["review"])

FeeStaff = Annotated[
    StaffPrincipal,
    Depends(require(StaffRole.ADMIN, StaffRole.REVIEWER, StaffRole.FINANCE)),
]
"""手数料の確定: reviewers (their own department's applications) and finance (all)."""

_WRITE_ERRORS = (
    *ACCESS_ERRORS,
    SubmissionNotFound,
    PreconditionRequired,
    SubmissionChanged,
)


def _summary(row: service.ReviewRow) -> StaffSubmissionSummary:
    submission = row.submission
    assert submission.reference_number is not None and submission.submitted_at is not None
    return StaffSubmissionSummary(
        id=submission.id,
        reference_number=submission.reference_number,
        status=Status(submission.status),
        channel=submission.channel,
        procedure_code=submission.procedure_code,
        procedure_title=LocalizedText(ja=row.title_ja, en=row.title_en),
        department=row.department,
        version=submission.version,
        fee_total=submission.fee_total,
        submitted_at=submission.submitted_at,
        updated_at=submission.updated_at,
        decided_at=submission.decided_at,
        assignee=(
            AssigneeRead(id=row.assignee_id, display_name=row.assignee_name or "")
            if row.assignee_id
            else None
        ),
        etag=etag(submission.row_version),
    )


@router.get(
    "/submissions",
    responses=problem_responses(*ACCESS_ERRORS),
)
async def list_submissions(
    staff: ReviewStaff,
    session: DbSession,
    response: Response,
    status: Annotated[list[Status] | None, Query(description="Repeat for several")] = None,
    procedure_code: str | None = None,
    department: Annotated[str | None, Query(examples=["市民課"])] = None,
    submitted_from: Annotated[AwareDatetime | None, Query(description="Inclusive")] = None,
    submitted_to: Annotated[AwareDatetime | None, Query(description="Exclusive")] = None,
    assignee: Annotated[
        uuid.UUID | Literal["me", "none"] | None,
        Query(description='A staff id, "me", or "none" for unassigned'),
    ] = None,
    reference_number: Annotated[str | None, Query(description="受付番号")] = None,
    channel: Literal["online", "counter"] | None = None,
    sort: SortKey = "-submitted_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> StaffSubmissionList:
    """Submitted applications of your municipality (reviewers: of your department),
    newest first by default. Rows hold no answers."""
    criteria = ReviewFilter(
        statuses=tuple(status or ()),
        procedure_code=procedure_code,
        department=department,
        submitted_from=submitted_from,
        submitted_to=submitted_to,
        assignee_id=staff.id if assignee == "me" else assignee if assignee != "none" else None,
        unassigned=assignee == "none",
        reference_number=reference_number,
        channel=channel,
    )
    rows, total = await service.list_submissions(
        session, staff, criteria, sort=sort, limit=limit, offset=offset
    )
    response.headers.update(NO_STORE)
    return StaffSubmissionList(
        items=[_summary(row) for row in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/submissions/{submission_id}",
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound),
)
async def get_submission(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> StaffSubmissionDetail:
    """The application with answers (My Numbers masked), fee, timeline, internal notes
    and the My Number card signing evidence: the signer's 基本4情報 as certified, the
    certificate, when it was verified, and where the signer's name or birth date
    differs from the answers (本人確認). Each read is written to the audit log, and so
    is each showing of signing evidence. The ETag goes back in If-Match."""
    detail = await service.read_submission(session, staff, submission_id, settings)
    submission = detail.row.submission
    response.headers.update({**NO_STORE, "ETag": etag(submission.row_version)})
    return StaffSubmissionDetail(
        **_summary(detail.row).model_dump(),
        fee=Fee.model_validate(submission.fee_breakdown) if submission.fee_breakdown else None,
        answers=detail.masked_answers,
        my_number_fields=detail.my_number_fields,
        timeline=[
            StaffTimelineEntry.of(event, actor_id=event.actor_id) for event in detail.timeline
        ],
        comments=[CommentRead.model_validate(comment) for comment in detail.comments],
        signatures=[_evidence(evidence) for evidence in detail.signatures],
    )


def _evidence(evidence: SigningEvidence) -> SigningEvidenceRead:
    signature = evidence.signature
    return SigningEvidenceRead(
        id=signature.id,
        signed_at=signature.verified_at,
        signer=SignerFacts.model_validate(signature.basic_facts),
        certificate=SigningCertificate.model_validate(signature),
        verification=SignatureVerification(
            result="verified",
            verified_at=signature.verified_at,
            document_digest=signature.document_digest,
            covers_stored_answers=evidence.covers_stored_answers,
        ),
        comparisons=[SignerComparison.model_validate(c) for c in evidence.comparisons],
        differs=evidence.differs,
    )


@router.post(
    "/submissions/{submission_id}/assign",
    responses=problem_responses(*_WRITE_ERRORS, StaffNotFound, service.AssigneeInvalid),
)
async def assign(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    body: AssignRequest,
    session: DbSession,
    response: Response,
    now: Now,
    if_match: IfMatch = None,
) -> StaffSubmissionSummary:
    """Make someone the 担当者 (an admin, or a reviewer of the application's department);
    `null` leaves it unassigned."""
    await service.assign(
        session,
        staff,
        submission_id,
        body.assignee_id,
        expected_row_version=expected_row_version(if_match),
        now=now,
    )
    return await _written(session, staff, submission_id, response)


@router.post(
    "/submissions/{submission_id}/claim",
    responses=problem_responses(*_WRITE_ERRORS),
)
async def claim(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    session: DbSession,
    response: Response,
    now: Now,
    if_match: IfMatch = None,
) -> StaffSubmissionSummary:
    """Take the application yourself (assign it to yourself)."""
    body = AssignRequest(assignee_id=staff.id)
    return await assign(staff, submission_id, body, session, response, now, if_match)


@router.post(
    "/submissions/{submission_id}/transitions",
    responses=problem_responses(
        *_WRITE_ERRORS,
        IllegalTransition,
        service.RejectionReasonRequired,
        ReturnMessageRequired,
    ),
)
async def transition(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    body: Transition,
    session: DbSession,
    response: Response,
    now: Now,
    if_match: IfMatch = None,
) -> StaffSubmissionSummary:
    """審査開始 `start_review`, 承認 `approve`, 却下 `reject` (with `reason`) or 差戻し
    `return` (with `message` to the applicant). An illegal change of status is 409."""
    comment: str | None
    match body:
        case Reject():
            comment = body.reason
        case Return():
            comment = body.message
        case _:
            comment = body.comment
    await service.decide(
        session,
        staff,
        submission_id,
        body.action,
        comment,
        expected_row_version=expected_row_version(if_match),
        now=now,
    )
    return await _written(session, staff, submission_id, response)


@router.post(
    "/submissions/{submission_id}/comments",
    status_code=201,
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound),
)
async def add_comment(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    body: CommentCreate,
    session: DbSession,
    now: Now,
) -> CommentRead:
    """An internal note (内部メモ) for other staff; never shown to the applicant and does
    not change the application's ETag."""
    comment = await service.add_comment(session, staff, submission_id, body.body, now=now)
    return CommentRead.model_validate(comment)


@router.post(
    "/submissions/{submission_id}/reveal-my-number",
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound, MyNumberFieldNotFound),
)
async def reveal_my_number(
    staff: ReviewStaff,
    submission_id: uuid.UUID,
    body: RevealRequest,
    session: DbSession,
    settings: AppSettings,
    response: Response,
) -> RevealedMyNumber:
    """The full 個人番号 at one field. The reason is required and kept, with who asked
    and when, in the audit log."""
    value = await service.reveal_my_number(
        session, staff, submission_id, body.field, body.reason, settings
    )
    response.headers.update(NO_STORE)
    return RevealedMyNumber(field=body.field, my_number=value)


@router.post(
    "/counter-submissions",
    status_code=201,
    responses=problem_responses(
        *ACCESS_ERRORS,
        ProcedureNotFound,
        AnswersInvalid,
        service.ReceivedAtInFuture,
        service.ReceivedAtBeforePublication,
        service.ReceivedAtOutsideFiscalYears,
    ),
)
async def create_counter_submission(
    staff: ReviewStaff,
    body: CounterSubmissionCreate,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    now: Now,
) -> StaffSubmissionSummary:
    """窓口受付: record a paper application taken at the counter. It gets a 受付番号 and
    counts in the KPI with channel `counter`. `received_at` lies between the procedure's
    first publication and now, and in this or the previous 年度."""
    submission = await service.record_counter_submission(
        session,
        staff,
        procedure_code=body.procedure_code,
        received_at=body.received_at,
        answers=body.answers,
        settings=settings,
        now=now,
    )
    response.headers["Location"] = f"/api/v1/admin/submissions/{submission.id}"
    return await _written(session, staff, submission.id, response)


@router.post(
    "/submissions/{submission_id}/fee",
    responses=problem_responses(
        *_WRITE_ERRORS,
        IllegalTransition,
        FeeNotAdjustable,
        FeeQuantityInvalid,
        NoFeeDue,
        ProcedureVersionNotFound,
    ),
)
async def fix_fee(
    staff: FeeStaff,
    submission_id: uuid.UUID,
    body: FeeFix,
    session: DbSession,
    settings: AppSettings,
    response: Response,
    now: Now,
    if_match: IfMatch = None,
) -> FeeFixed:
    """手数料の確定 for a procedure paid after review: the quantities found (e.g. copies)
    are priced from the pinned definition and the application moves from `in_review` to
    `awaiting_payment`. Needs If-Match with the application's ETag."""
    submission = await service.fix_fee(
        session,
        staff,
        submission_id,
        body.quantities,
        body.comment,
        expected_row_version=expected_row_version(if_match),
        settings=settings,
        now=now,
    )
    response.headers.update({**NO_STORE, "ETag": etag(submission.row_version)})
    assert submission.fee_breakdown is not None
    return FeeFixed(
        submission_id=submission.id,
        status=Status(submission.status),
        fee=Fee.model_validate(submission.fee_breakdown),
        etag=etag(submission.row_version),
    )


async def _written(
    session: AsyncSession, staff: StaffPrincipal, submission_id: uuid.UUID, response: Response
) -> StaffSubmissionSummary:
    """What a write answers: the application as listed, with its new ETag."""
    summary = _summary(await service.get_row(session, staff, submission_id))
    response.headers.update({**NO_STORE, "ETag": summary.etag})
    return summary

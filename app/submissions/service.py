"""Citizen applications (申請): drafts saved over several sittings, submit with a 受付番号,
withdraw (取下げ), and correction after staff return it (差戻し -> 再申請).

Never commits: the request (or the staff module, or a test) owns the transaction.
Ownership is asked of the caller (`caller.owns`): anything the caller does not own is
"not found", so submission ids cannot be probed. Answers and tokens are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import repository as attachments_repository
from app.audit import service as audit
from app.audit.service import AuditActor
from app.auth.principals import (
    ACCESS_TOKEN_PREFIX,
    Caller,
    CitizenLoginRequired,
    hash_access_token,
)
from app.config import Settings
from app.db import new_uuid
from app.errors import Conflict, FieldError, NotFound, ValidationFailed
from app.forms import service as forms_service
from app.forms.attachments import resolvers as attachment_resolvers
from app.forms.compiler import CompiledForm, ValidationResult
from app.forms.definition import PerUnitFee, ProcedureDefinition
from app.municipalities.models import Municipality
from app.municipalities.service import get_municipality
from app.submissions import lifecycle, my_number, repository, signing
from app.submissions.idempotency import Answer
from app.submissions.lifecycle import EDITABLE, Actor, Status
from app.submissions.models import (
    Submission,
    SubmissionAssignment,
    SubmissionComment,
    SubmissionEvent,
)
from app.submissions.reference_numbers import assign_reference_number
from app.submissions.signing import SubmissionSigning

ACCESS_TOKEN_CONTEXT = b"submission-access-token\0"
"""Domain separation: this HMAC key use derives submission access tokens and nothing else."""

CITIZEN = Actor("citizen")
"""The applicant, without an identifier: events outlive purges of personal data (KPIs)."""

APPLICANT = AuditActor("citizen", "applicant")
"""The applicant in the audit log: no card subject, no token hash (personal data)."""


class SubmissionNotFound(NotFound, code="SUBMISSION_NOT_FOUND"): ...


class AnswersInvalid(ValidationFailed):
    """Every problem with the answers, each at its JSON Pointer (code VALIDATION_FAILED)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            f"{len(errors)} answer(s) need correcting; nothing was saved.",
            f"入力内容に{len(errors)}件の誤りがあります。保存されていません。",
            errors=errors,
        )


class SubmissionNotEditable(Conflict, code="SUBMISSION_NOT_EDITABLE"): ...


class SubmissionNotDeletable(Conflict, code="SUBMISSION_NOT_DELETABLE"):
    def __init__(self, status: str) -> None:
        super().__init__(
            f"An application in status '{status}' was submitted: withdraw it instead "
            "(it is kept for its retention period).",
            f"状態「{status}」の申請は提出済みのため削除できません。取下げをご利用ください"
            "（保存期間の経過後に削除されます）。",
            extra={"current_status": status},
        )


class ReturnMessageRequired(ValidationFailed, code="RETURN_MESSAGE_REQUIRED"): ...


class FeeNotAdjustable(Conflict, code="FEE_NOT_ADJUSTABLE"): ...


class FeeQuantityInvalid(ValidationFailed, code="FEE_QUANTITY_INVALID"): ...


class NoFeeDue(ValidationFailed, code="NO_FEE_DUE"): ...


@dataclass(frozen=True)
class CreatedSubmission:
    submission: Submission
    access_token: str | None
    """Shown once in the creation response; only its hash is stored."""
    answered: bool = False
    """Whether the idempotent response (`answer`) was stored with the 受付番号."""


AnswerOf = Callable[[Submission], Answer]
"""The idempotent response of a request, built from its application (just before it is
numbered, for the numbering statement to store)."""


@dataclass(frozen=True)
class DeletedDraft:
    attachment_storage_keys: list[str]
    """The stored bytes of its attachments, to delete from the store once the deletion
    is committed (a failed commit then leaves every row and every byte in place)."""


@dataclass(frozen=True)
class SubmissionView:
    submission: Submission
    answers: dict[str, Any]
    """The stored answers opened for the applicant (My Numbers decrypted)."""
    timeline: list[SubmissionEvent]


# --- Access tokens -----------------------------------------------------------------------
# See docs/decisions/0001-submission-access-tokens.md.


def issues_access_token(caller: Caller) -> bool:
    """A submission without a logged-in citizen is owned through an access token."""
    return caller.citizen_subject is None


def derive_access_token(
    secret_key: str, submission_id: uuid.UUID, idempotency_key: str, client_address: str
) -> str:
    """The token of a submission created with an Idempotency-Key: derived, not stored, so
    a replayed creation response can show it again without keeping it anywhere. The
    client's address is part of it: a replay from elsewhere derives another token, which
    `replayed_access_token` then withholds (someone who copied or guessed the key and the
    answers gets the receipt, never the applicant's token)."""
    message = (
        ACCESS_TOKEN_CONTEXT + f"{submission_id}\0{idempotency_key}\0{client_address}".encode()
    )
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return ACCESS_TOKEN_PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _new_access_token(
    settings: Settings, submission_id: uuid.UUID, idempotency_key: str | None, client_address: str
) -> str:
    if idempotency_key is None:
        return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return derive_access_token(
        settings.secret_key.get_secret_value(), submission_id, idempotency_key, client_address
    )


async def replayed_access_token(
    session: AsyncSession,
    settings: Settings,
    submission_id: uuid.UUID,
    idempotency_key: str,
    client_address: str,
) -> str | None:
    """The token of an anonymous creation, for the replay of its response: only when the
    replay comes from the address the first response went to; otherwise None."""
    token = derive_access_token(
        settings.secret_key.get_secret_value(), submission_id, idempotency_key, client_address
    )
    submission = await repository.get(session, submission_id)
    stored = submission.access_token_hash if submission is not None else None
    if stored is None or not hmac.compare_digest(stored, hash_access_token(token)):
        return None
    return token


def creation_scope(caller: Caller, municipality_code: str, procedure_code: str) -> str:
    """Whose Idempotency-Keys a creation is deduplicated among: the logged-in citizen,
    or every anonymous applicant of this procedure (their keys are random UUIDs)."""
    if not issues_access_token(caller) and caller.principal_key is not None:
        return caller.principal_key
    return f"anonymous:{municipality_code}:{procedure_code}"


# --- Citizen operations ------------------------------------------------------------------


async def create_submission(
    session: AsyncSession,
    *,
    municipality_code: str,
    procedure_code: str,
    answers: Mapping[str, Any],
    submit: bool,
    caller: Caller,
    settings: Settings,
    now: datetime,
    idempotency_key: str | None = None,
    client_address: str = "",
    channel: str = "online",
    answer: AnswerOf | None = None,
) -> CreatedSubmission:
    """A draft pinned to the current published version, submitted at once if asked.

    A draft's answers may be incomplete but each one given is checked; a submission
    at once is checked in full. Either way a refusal stores nothing. `answer` gives
    the idempotent response of a submission at once, built from the application just
    before it is numbered: stored by the numbering statement, with the number."""
    published = await forms_service.get_current_form(session, municipality_code, procedure_code)
    municipality = published.municipality
    form = published.form
    if channel == "online":  # at the counter (窓口) staff see the card in person
        require_identity(form.definition, caller, None, submitting=submit)
    result = _valid(form.validate(answers, partial=not submit, now=now))
    submission = Submission(
        id=new_uuid(),
        municipality_code=municipality_code,
        procedure_id=published.procedure_id,
        procedure_version_id=published.version_id,
        procedure_code=published.procedure_code,
        version=published.version,
        channel=channel,
        status=Status.DRAFT,
        answers={},  # sealed below, or by _submit
        citizen_subject=caller.citizen_subject,
        created_at=now,
        updated_at=now,
    )
    await _check_attachments(session, submission.id, form, result)
    access_token = None
    if issues_access_token(caller):
        access_token = _new_access_token(settings, submission.id, idempotency_key, client_address)
        submission.access_token_hash = hash_access_token(access_token)
    answered = False
    if submit:
        # Stays out of the session: _submit inserts it with its events in two statements.
        answered = await _submit(
            session,
            submission,
            municipality,
            form,
            result,
            CITIZEN,
            settings=settings,
            now=now,
            answer=answer,
        )
    else:
        submission.answers = _sealed(form, result.answers, settings)
        session.add(submission)
        lifecycle.record_creation(session, submission, CITIZEN, now=now)
        _record_fee(submission, form, result.answers)
        await lifecycle.flush_submission(session)
    return CreatedSubmission(submission, access_token, answered)


async def get_submission(
    session: AsyncSession, submission_id: uuid.UUID, caller: Caller, *, settings: Settings
) -> SubmissionView:
    """The owner's view: answers, fee, status and the status timeline."""
    submission = await get_owned(session, submission_id, caller)
    events = await repository.timeline_of(session, submission.id)
    form = await pinned_form(session, submission)
    cipher = my_number.cipher_for(settings)
    answers = my_number.open_answers(form.definition, submission.answers, cipher)
    return SubmissionView(submission, answers, events)


async def get_owned(session: AsyncSession, submission_id: uuid.UUID, caller: Caller) -> Submission:
    """The submission if `caller` owns it; anything else is not found."""
    submission = await repository.get(session, submission_id)
    if submission is None or not caller.owns(submission):
        raise SubmissionNotFound()
    return submission


async def update_answers(
    session: AsyncSession,
    submission_id: uuid.UUID,
    caller: Caller,
    answers: Mapping[str, Any],
    *,
    settings: Settings,
    now: datetime,
    from_card: Mapping[str, Any] | None = None,
) -> Submission:
    """Replace the answers of a draft (or of a returned application being corrected).
    Checked like a draft; a refusal leaves the stored answers as they were.
    `from_card`: the answers just filled from the My Number card, as the card states
    them; they, and any stored answer sent back unchanged, are kept as they are."""
    submission = await get_owned_for_update(session, submission_id, caller)
    if submission.status not in EDITABLE:
        raise SubmissionNotEditable(
            f"An application in status '{submission.status}' cannot be edited.",
            f"状態「{submission.status}」の申請は編集できません。",
            extra={"current_status": submission.status},
        )
    form = await pinned_form(session, submission)
    result = _valid(form.validate(answers, partial=True, now=now))
    result = _kept_as_stated(result, answers, {**submission.answers, **(from_card or {})})
    await _check_attachments(session, submission.id, form, result)
    # An answer stays "from the card" only while the citizen leaves it as the card gave it.
    kept = [
        key
        for key in submission.prefilled_from_card or []
        if result.answers.get(key) == submission.answers.get(key)
    ]
    filled = [key for key in from_card or {} if key in result.answers]
    submission.prefilled_from_card = sorted({*kept, *filled}) or None
    submission.answers = _sealed(form, result.answers, settings)
    submission.updated_at = now
    if not await _fee_fixed_by_staff(session, submission, form):
        _record_fee(submission, form, result.answers)
    await lifecycle.flush_submission(session)
    return submission


async def submit(
    session: AsyncSession,
    submission_id: uuid.UUID,
    caller: Caller,
    *,
    settings: Settings,
    now: datetime,
    signature: SubmissionSigning | None = None,
) -> Submission:
    """Submit a draft (-> submitted or awaiting_payment, with a new 受付番号) or a
    corrected returned application (-> resubmitted, same 受付番号).

    Everything is checked against the pinned version and the fee is computed here;
    `signature` is the My Number card's signature over the signing document, verified
    against the answers as stored and kept as evidence."""
    submission = await get_owned_for_update(session, submission_id, caller)
    lifecycle.ensure_allowed(
        submission.status,
        Status.RESUBMITTED if submission.status == Status.RETURNED else Status.SUBMITTED,
    )
    form = await pinned_form(session, submission)
    require_identity(form.definition, caller, signature)
    stored = my_number.open_answers(
        form.definition, submission.answers, my_number.cipher_for(settings)
    )
    result = _kept_as_stated(_valid(form.validate(stored, partial=False, now=now)), stored, stored)
    await _check_attachments(session, submission.id, form, result)
    if signature is not None:
        await signing.verify_and_record(
            session, signature, submission, answers=result.answers, now=now
        )
    await _submit(
        session,
        submission,
        await get_municipality(session, submission.municipality_code),
        form,
        result,
        CITIZEN,
        settings=settings,
        now=now,
        signed=signature is not None,
    )
    return submission


async def withdraw(
    session: AsyncSession,
    submission_id: uuid.UUID,
    caller: Caller,
    *,
    reason: str | None,
    now: datetime,
) -> Submission:
    """取下げ: allowed until a decision (approved/rejected) is made."""
    submission = await get_owned_for_update(session, submission_id, caller)
    await lifecycle.transition(session, submission, Status.WITHDRAWN, CITIZEN, reason, now=now)
    return submission


async def delete_draft(
    session: AsyncSession, submission_id: uuid.UUID, caller: Caller, *, now: datetime
) -> DeletedDraft:
    """下書きの削除: the owner deletes a draft that was never submitted, with its
    attachment rows (the caller deletes their bytes after commit), its status history
    (one creation event, which no KPI counts), the Idempotency-Key records holding its
    receipt, and leaves one audit entry without personal data. Anything submitted once
    is withdrawn instead and kept for retention (409)."""
    submission = await get_owned_for_update(session, submission_id, caller)
    if submission.status != Status.DRAFT or submission.reference_number is not None:
        raise SubmissionNotDeletable(submission.status)
    keys = await attachments_repository.delete_for_submission(session, submission.id)
    scopes = _receipt_scopes(caller, submission)
    await repository.delete_draft_rows(session, submission, scopes=scopes)
    await audit.record(
        session,
        APPLICANT,
        "submission.delete_draft",
        "submission",
        submission.id,
        submission.municipality_code,
        details={
            "procedure_code": submission.procedure_code,
            "version": submission.version,
            "attachments": len(keys),
            "deleted_at": now.isoformat(),
        },
    )
    await lifecycle.flush_submission(session)
    return DeletedDraft(keys)


def _receipt_scopes(caller: Caller, submission: Submission) -> list[str]:
    """The Idempotency-Key scopes that can hold this application's receipt: its
    creation's, and the owner's (submit, withdraw)."""
    scopes = [creation_scope(caller, submission.municipality_code, submission.procedure_code)]
    if caller.principal_key is not None:
        scopes.append(f"owner:{caller.principal_key}")
    return scopes


def require_identity(
    definition: ProcedureDefinition,
    caller: Caller,
    signature: SubmissionSigning | None,
    *,
    submitting: bool = True,
) -> None:
    """The single place the My Number card requirement (`identity_requirement`) is
    enforced: `jpki_auth` needs the card login from the first draft on (the citizen
    owns it), `jpki_sign` needs the card's signature at submit."""
    if definition.identity_requirement == "jpki_auth" and caller.citizen_subject is None:
        raise CitizenLoginRequired(
            "This procedure needs a My Number card login (利用者証明用電子証明書).",
            "この手続にはマイナンバーカード（利用者証明用電子証明書）でのログインが必要です。",
        )
    if definition.identity_requirement == "jpki_sign" and submitting and signature is None:
        raise signing.signature_required()


# --- Staff operations (called by the staff module's routes) ------------------------------


async def get_for_update(session: AsyncSession, submission_id: uuid.UUID) -> Submission:
    """Load and row-lock a submission for a staff transition. The staff module checks
    the staff user's municipality and role before calling anything here."""
    submission = await repository.get_for_update(session, submission_id)
    if submission is None:
        raise SubmissionNotFound()
    return submission


async def assign(
    session: AsyncSession,
    submission: Submission,
    assignee_id: uuid.UUID | None,
    *,
    assigned_by: uuid.UUID,
    now: datetime,
) -> None:
    """Make `assignee_id` the 担当者 (None: nobody). Touching the row bumps its version,
    so the ETag covers the assignee too. The staff module checks who may."""
    assignment = await repository.assignment_of(session, submission.id)
    if assignee_id is None:
        if assignment is not None:
            await session.delete(assignment)
    elif assignment is None:
        session.add(
            SubmissionAssignment(
                submission_id=submission.id,
                assignee_id=assignee_id,
                assigned_by=assigned_by,
                assigned_at=now,
            )
        )
    else:
        assignment.assignee_id = assignee_id
        assignment.assigned_by = assigned_by
        assignment.assigned_at = now
    submission.updated_at = now
    await lifecycle.flush_submission(session)


async def add_comment(
    session: AsyncSession,
    submission: Submission,
    author_id: uuid.UUID,
    body: str,
    *,
    now: datetime,
) -> SubmissionComment:
    """An internal note (内部メモ); it does not change the application (nor its ETag)."""
    comment = SubmissionComment(
        submission_id=submission.id, author_id=author_id, body=body.strip(), created_at=now
    )
    session.add(comment)
    await session.flush()
    return comment


async def return_for_correction(
    session: AsyncSession,
    submission_id: uuid.UUID,
    staff: Actor,
    message: str,
    *,
    now: datetime,
) -> Submission:
    """差戻し: staff send an application under review back to the applicant, with a
    message saying what to correct. The applicant edits and resubmits it."""
    if not message.strip():
        raise ReturnMessageRequired(
            "Tell the applicant what to correct.", "申請者に修正が必要な点を記入してください。"
        )
    submission = await get_for_update(session, submission_id)
    await lifecycle.transition(session, submission, Status.RETURNED, staff, message, now=now)
    return submission


async def record_counter_submission(
    session: AsyncSession,
    *,
    municipality_code: str,
    procedure_code: str,
    answers: Mapping[str, Any],
    received_at: datetime,
    staff: Actor,
    settings: Settings,
) -> Submission:
    """窓口受付: a paper application staff took at the counter, entered as `counter`.

    It is submitted at once, with a 受付番号 from the same counter as online ones, dated
    when it was received, so KPIs count it on that day. The answers copied from paper
    are optional; those given are checked. A counter fee is paid at the counter, so it
    does not wait for an online payment."""
    published = await forms_service.get_published(session, municipality_code, procedure_code)
    form = published.form
    result = _valid(form.validate(answers, partial=True, now=received_at))
    submission = Submission(
        id=new_uuid(),
        municipality_code=municipality_code,
        procedure_id=published.procedure.id,
        procedure_version_id=published.version.id,
        procedure_code=published.procedure.code,
        version=published.version.version,
        channel="counter",
        status=Status.DRAFT,
        answers=_sealed(form, result.answers, settings),
        identity_method="none",  # staff check identity in person; nothing is recorded
        created_at=received_at,
        updated_at=received_at,
        submitted_at=received_at,
    )
    await _check_attachments(session, submission.id, form, result)
    _record_fee(submission, form, result.answers)
    session.add(submission)
    lifecycle.record_creation(session, submission, staff, now=received_at)
    await lifecycle.transition(session, submission, Status.SUBMITTED, staff, now=received_at)
    # Last: the counter row stays locked until the caller commits.
    await assign_reference_number(
        session,
        submission,
        await get_municipality(session, municipality_code),
        now=received_at,
        timezone=ZoneInfo(settings.timezone),
    )
    return submission


async def fix_fee(
    session: AsyncSession,
    submission: Submission,
    quantities: Mapping[str, int],
    staff: Actor,
    comment: str | None,
    *,
    settings: Settings,
    now: datetime,
) -> Submission:
    """手数料の確定: for a procedure paid after review, price the quantities staff found
    (e.g. the number of copies) from the pinned definition and move the application
    in_review -> awaiting_payment, for what is left after what was paid already (fixed
    again at or below that, it stays in review). The caller has locked the row, checked
    who may, and settles any overpayment with the payment module.

    `quantities` name the per-unit fee rules' quantity fields; the citizen's answers
    stay as typed, the fixed fee is what the system derived."""
    form = await pinned_form(session, submission)
    definition = form.definition
    if definition.payment_timing != "after_review":
        raise FeeNotAdjustable(
            "This procedure is paid on submit; its fee cannot be changed.",
            "この手続は申請時払いのため、手数料を変更できません。",
        )
    adjustable = {
        rule.quantity_field
        for rule in definition.fee_rules
        if isinstance(rule, PerUnitFee) and "." not in rule.quantity_field
    }
    unknown = sorted(set(quantities) - adjustable)
    if unknown:
        allowed = ", ".join(sorted(adjustable))
        raise FeeQuantityInvalid(
            errors=[
                FieldError(
                    f"/quantities/{key}",
                    "unknown_quantity",
                    f"「{key}」は手数料の数量項目ではありません（指定可能: {allowed or 'なし'}）",
                    f"'{key}' is not a fee quantity (allowed: {allowed or 'none'})",
                )
                for key in unknown
            ]
        )
    lifecycle.ensure_allowed(submission.status, Status.AWAITING_PAYMENT)
    answers = my_number.open_answers(definition, submission.answers, my_number.cipher_for(settings))
    fee = form.calculate_fee({**answers, **quantities})
    paid = await lifecycle.listeners.paid_amount(session, submission.id)
    if fee.total <= 0 and paid <= 0:
        raise NoFeeDue(
            "The fee comes to 0 yen; decide the application without a payment.",
            "手数料が0円になるため支払は不要です。支払なしで審査を続けてください。",
        )
    submission.fee_total, submission.fee_breakdown = fee.total, fee.as_dict()
    if fee.total <= paid:
        # Fixed again at or below what was paid: the review goes on; the payment module
        # offers any overpayment back (the caller settles the balance).
        submission.updated_at = now
        await lifecycle.flush_submission(session)
        return submission
    note = f"手数料確定 {fee.total:,}円" + (f"（差額 {fee.total - paid:,}円）" if paid else "")
    await lifecycle.transition(
        session, submission, Status.AWAITING_PAYMENT, staff, comment or note, now=now
    )
    return submission


async def purge_personal_data(session: AsyncSession, submission: Submission) -> None:
    """保存期間の経過: drop the answers, the personal parts of the fee breakdown, the
    card-prefill marks and the signature evidence (signature, certificate, 基本4情報).
    The row with its 受付番号, status, fee total and timestamps stays, and so does the
    status history the KPIs are computed from."""
    await repository.delete_signatures(session, submission.id)
    submission.answers = {}
    submission.fee_breakdown = _without_personal_parts(submission.fee_breakdown)
    submission.prefilled_from_card = None


# --- Internals ---------------------------------------------------------------------------


async def _submit(
    session: AsyncSession,
    submission: Submission,
    municipality: Municipality,
    form: CompiledForm,
    result: ValidationResult,
    actor: Actor,
    *,
    settings: Settings,
    now: datetime,
    answer: AnswerOf | None = None,
    signed: bool = False,
) -> bool:
    """Submits (or resubmits); whether `answer` was stored (with the 受付番号 given)."""
    fee = form.calculate_fee(result.answers)
    submission.answers = _sealed(form, result.answers, settings)
    resubmitting = submission.status == Status.RETURNED
    if not (resubmitting and await _fee_fixed_by_staff(session, submission, form)):
        submission.fee_total = fee.total
        submission.fee_breakdown = fee.as_dict()
    if resubmitting:
        target = Status.RESUBMITTED
    elif form.definition.payment_timing == "on_submit" and fee.total > 0:
        # The payment module (later) moves it on to `paid`; until then the amount is recorded.
        target = Status.AWAITING_PAYMENT
    else:
        target = Status.SUBMITTED
    lifecycle.ensure_allowed(submission.status, target)
    first_submit = submission.reference_number is None
    if first_submit:
        submission.submitted_at = now
    submission.identity_method = _identity_method(submission, signed=signed)
    if inspect(submission).transient:  # created by this request (create+submit)
        await lifecycle.receive_new(session, submission, target, actor, now=now)
    else:
        await lifecycle.transition(session, submission, target, actor, now=now)
    if first_submit:
        # Last: the counter row every submit of the municipality takes stays locked
        # from this statement until the caller commits.
        await assign_reference_number(
            session,
            submission,
            municipality,
            now=now,
            timezone=ZoneInfo(settings.timezone),
            answer=answer(submission) if answer is not None else None,
        )
    if resubmitting and form.definition.payment_timing == "on_submit":
        # The corrected answers may cost more than was paid: ask for exactly the rest.
        due = (submission.fee_total or 0) - await lifecycle.listeners.paid_amount(
            session, submission.id
        )
        if due > 0:
            await lifecycle.transition(
                session,
                submission,
                Status.AWAITING_PAYMENT,
                lifecycle.SYSTEM,
                f"手数料の差額 {due:,}円のお支払いをお願いします / {due:,} yen of the fee to pay",
                now=now,
            )
    return first_submit and answer is not None


async def _fee_fixed_by_staff(
    session: AsyncSession, submission: Submission, form: CompiledForm
) -> bool:
    """A fee paid after review, once staff fixed it, stays theirs when the citizen
    resubmits: staff fix it again if the corrected answers change it."""
    return form.definition.payment_timing == "after_review" and await repository.has_entered(
        session, submission.id, Status.AWAITING_PAYMENT
    )


def _identity_method(submission: Submission, *, signed: bool) -> str:
    """How the applicant proved who they were at this submit (本人確認の方法): a
    signature with the 署名用電子証明書 (jpki_sign), the card login (jpki_auth), the
    access token, or nothing. A returned application signed before keeps jpki_sign."""
    if signed or submission.identity_method == "jpki_sign":
        return "jpki_sign"
    if submission.citizen_subject is not None:
        return "jpki_auth"
    if submission.access_token_hash is not None:
        return "access_token"
    return "none"


async def get_owned_for_update(
    session: AsyncSession, submission_id: uuid.UUID, caller: Caller
) -> Submission:
    """Load and row-lock the submission if `caller` owns it; anything else is not found."""
    submission = await repository.get_for_update(session, submission_id)
    if submission is None or not caller.owns(submission):
        raise SubmissionNotFound()
    return submission


async def pinned_form(session: AsyncSession, submission: Submission) -> CompiledForm:
    """The compiled form of the version the submission was filled against, even after
    the procedure got a newer version or was retired."""
    return await forms_service.form_of_version(session, submission.procedure_version_id)


def _sealed(form: CompiledForm, answers: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Answers as stored: every My Number encrypted (app.submissions.my_number)."""
    return my_number.seal_answers(form.definition, answers, my_number.cipher_for(settings))


def _kept_as_stated(
    result: ValidationResult, sent: Mapping[str, Any], stated: Mapping[str, Any]
) -> ValidationResult:
    """Normalisation applies to what changed: an answer, or a part of one, sent exactly
    as `stated` (stored, or just certified by the card) is kept as stated.

    Stored answers are canonical already, except what the My Number card certified
    (ワンスオンリー): a name or address as the card states it, which normalisation
    must never alter (NFKC would turn 﨑 U+FA11 into 崎, U+3000 and ２８１ into ASCII:
    another person's name, and a signed document that no longer matches)."""
    answers = {
        key: _as_stated(value, sent.get(key, _ABSENT), stated.get(key, _ABSENT))
        for key, value in result.answers.items()
    }
    return ValidationResult(answers, result.errors)


_ABSENT = object()


def _as_stated(canonical: Any, sent: Any, stated: Any) -> Any:
    if type(sent) is type(stated) and sent == stated:
        return stated
    if isinstance(canonical, dict) and isinstance(sent, dict) and isinstance(stated, dict):
        return {
            part: _as_stated(value, sent.get(part, _ABSENT), stated.get(part, _ABSENT))
            for part, value in canonical.items()
        }
    return canonical


def _valid(result: ValidationResult) -> ValidationResult:
    if not result.ok:
        raise AnswersInvalid(list(result.errors))
    return result


async def _check_attachments(
    session: AsyncSession, submission_id: uuid.UUID, form: CompiledForm, result: ValidationResult
) -> None:
    """Every attachment id in the answers is a file uploaded to this application, of a
    kind and size its field allows (app.forms.attachments; the store is app.attachments)."""
    problems = await attachment_resolvers.check(
        session, submission_id, form.definition, result.answers
    )
    if problems:
        raise AnswersInvalid(problems)


def _record_fee(submission: Submission, form: CompiledForm, answers: dict[str, Any]) -> None:
    # A draft shows the fee its answers so far would cost; submit recomputes it in full.
    fee = form.calculate_fee(answers)
    submission.fee_total = fee.total
    submission.fee_breakdown = fee.as_dict()


def _without_personal_parts(breakdown: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keeps the amounts, which finance and the KPIs still need; drops the quantities,
    which restate answers (how many copies, how many children)."""
    if breakdown is None:
        return None
    items = [{**item, "quantity": None} for item in breakdown.get("items", [])]
    return {**breakdown, "items": items}

"""Citizen applications over HTTP: create (draft or submit), read, edit, submit, withdraw,
delete a draft.

Owner routes answer 401 when no bearer credentials are sent at all and 404 for any
credentials that do not own the application, so ids cannot be probed either way.
Responses carry `Cache-Control: no-store`: they hold personal data or a token.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Body, Header, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.router import Storage
from app.auth.jpki.dependencies import get_verifier
from app.auth.jpki.errors import CARD_PROOF_ERRORS, JpkiSignatureRequired
from app.auth.jpki.service import CardProof
from app.auth.principals import (
    AuthenticatedCaller,
    AuthenticationRequired,
    Caller,
    CitizenLoginRequired,
    CurrentCaller,
)
from app.config import Settings
from app.dependencies import AppSettings, DbSession, Now
from app.errors import PayloadTooLarge, problem_responses
from app.forms.service import ProcedureNotFound
from app.municipalities.service import MunicipalityCodeInvalid, MunicipalityNotFound
from app.payments import service as payments
from app.payments.citizen_router import to_balance_read
from app.payments.dependencies import Providers
from app.payments.schemas import BalanceRead
from app.submissions import idempotency, service
from app.submissions.idempotency import (
    Answer,
    IdempotencyInProgress,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    StoredResponse,
)
from app.submissions.lifecycle import IllegalTransition, SubmissionChanged
from app.submissions.models import Submission
from app.submissions.schemas import (
    Fee,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionRead,
    SubmissionReceipt,
    SubmissionUpdate,
    SubmitRequest,
    TimelineEntry,
    WithdrawRequest,
)
from app.submissions.service import AnswerOf
from app.submissions.signing import SubmissionSigning

router = APIRouter(tags=["submissions"])
logger = logging.getLogger(__name__)


class SubmissionStatusRead(SubmissionRead):
    balance: BalanceRead = Field(
        description="The money (収支): fee, paid, refunded, due, and the open payment with "
        "its konbini voucher (払込番号, 支払期限)"
    )


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description=(
            "A fresh random value (a UUID) per action. A retry with the same key and "
            "body gets the first response (header `Idempotent-Replayed: true`)."
        ),
    ),
]

_IDEMPOTENCY_ERRORS = (IdempotencyKeyInvalid, IdempotencyKeyReused, IdempotencyInProgress)
_TRANSITION_ERRORS = (
    AuthenticationRequired,
    service.SubmissionNotFound,
    IllegalTransition,
    SubmissionChanged,
)
"""What an owner's action that moves the application (submit, withdraw) may answer."""


def submission_signing(
    request: Request, certificate: str | None, signature: str | None
) -> SubmissionSigning | None:
    """A submit's card signature, if one was sent. The verifier is only loaded then, so
    unsigned submits never depend on the trust directory."""
    if certificate is None or signature is None:
        return None
    return SubmissionSigning(CardProof.from_base64(certificate, signature), get_verifier(request))


def to_receipt(submission: Submission) -> SubmissionReceipt:
    return SubmissionReceipt.model_validate(_receipt_fields(submission))


def to_read(view: service.SubmissionView) -> SubmissionRead:
    submission = view.submission
    return SubmissionRead.model_validate(
        {
            **_receipt_fields(submission),
            "answers": view.answers,
            "prefilled_from_card": submission.prefilled_from_card or [],
            "timeline": [TimelineEntry.of(event) for event in view.timeline],
        }
    )


@router.post(
    "/municipalities/{code}/procedures/{procedure_code}/submissions",
    status_code=201,
    response_model=SubmissionCreated,
    responses=problem_responses(
        MunicipalityCodeInvalid,
        MunicipalityNotFound,
        ProcedureNotFound,
        service.AnswersInvalid,
        PayloadTooLarge,
        CitizenLoginRequired,
        JpkiSignatureRequired,
        *_IDEMPOTENCY_ERRORS,
    ),
)
async def create_submission(
    code: Annotated[str, Path(max_length=6, description="全国地方公共団体コード")],
    procedure_code: Annotated[str, Path(max_length=64)],
    body: SubmissionCreate,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    caller: CurrentCaller,
    now: Now,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Start an application (申請) on the current published version: a draft to finish
    later, or submitted at once with `"submit": true`. Without a login the response
    holds an `access_token`, shown only here."""
    scope = service.creation_scope(caller, code, procedure_code)
    fingerprint = idempotency.request_fingerprint(
        "create", code, procedure_code, body.model_dump(mode="json")
    )
    client_address = request.client.host if request.client else ""

    async def create(claim: _Claim) -> service.CreatedSubmission:
        return await service.create_submission(
            session,
            municipality_code=code,
            procedure_code=procedure_code,
            answers=body.answers,
            submit=body.submit,
            caller=caller,
            settings=settings,
            now=now,
            idempotency_key=claim.key,
            client_address=client_address,
            answer=claim.answer_of(
                201, lambda submission: to_receipt(submission).model_dump(mode="json")
            ),
        )

    try:
        # A fresh key (nearly always): its record goes in with the first statement.
        claim = await _claim(session, settings, idempotency_key, scope, fingerprint, now, new=True)
        created = await create(claim)
    except IntegrityError as error:
        if not idempotency.is_taken(error):
            raise
        await session.rollback()  # nothing was done: the key's record was written first
        claim = await _claim(session, settings, idempotency_key, scope, fingerprint, now)
        stored = claim.stored
        if stored is None:  # the request that held the key failed meanwhile
            created = await create(claim)
        else:
            replay = dict(stored.body)
            if service.issues_access_token(caller):
                # Not stored anywhere: derived again from the key and the client's
                # address, so only the client the first response went to sees it.
                replay["access_token"] = await service.replayed_access_token(
                    session, settings, uuid.UUID(replay["id"]), claim.key or "", client_address
                )
            return _json(
                stored.status,
                replay,
                replayed=True,
                location=f"/api/v1/submissions/{replay['id']}",
            )
    receipt = to_receipt(created.submission).model_dump(mode="json")
    if not created.answered:
        await claim.remember(201, receipt)
    return _json(
        201,
        {**receipt, "access_token": created.access_token},
        location=f"/api/v1/submissions/{created.submission.id}",
    )


@router.get(
    "/submissions/{submission_id}",
    response_model=SubmissionStatusRead,
    responses=problem_responses(AuthenticationRequired, service.SubmissionNotFound),
)
async def get_submission(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
) -> JSONResponse:
    """The application with its answers, fee, 受付番号, status timeline and money
    (`balance`: what is due, and a konbini voucher being paid) (owner only)."""
    view = await service.get_submission(session, submission_id, caller, settings=settings)
    balance = to_balance_read(await payments.balance_of(session, view.submission))
    body = to_read(view).model_dump(mode="json", by_alias=True)
    return _json(200, {**body, "balance": balance.model_dump(mode="json")})


@router.patch(
    "/submissions/{submission_id}",
    response_model=SubmissionRead,
    responses=problem_responses(
        AuthenticationRequired,
        service.SubmissionNotFound,
        service.SubmissionNotEditable,
        SubmissionChanged,
        service.AnswersInvalid,
        PayloadTooLarge,
    ),
)
async def update_submission(
    submission_id: uuid.UUID,
    body: SubmissionUpdate,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    now: Now,
) -> JSONResponse:
    """Save the answers of a draft (or of a returned application being corrected);
    they replace the stored answers as a whole."""
    await service.update_answers(
        session, submission_id, caller, body.answers, settings=settings, now=now
    )
    view = await service.get_submission(session, submission_id, caller, settings=settings)
    return _json(200, to_read(view).model_dump(mode="json", by_alias=True))


@router.post(
    "/submissions/{submission_id}/submit",
    response_model=SubmissionReceipt,
    responses=problem_responses(
        *_TRANSITION_ERRORS,
        service.AnswersInvalid,
        CitizenLoginRequired,
        JpkiSignatureRequired,
        *CARD_PROOF_ERRORS,
        *_IDEMPOTENCY_ERRORS,
    ),
)
async def submit_submission(
    submission_id: uuid.UUID,
    request: Request,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    now: Now,
    body: Annotated[SubmitRequest | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Submit (申請): every answer is checked against the pinned version, the fee is
    computed, and a draft gets its 受付番号. A returned application becomes
    `resubmitted` and keeps its number."""
    signed = body or SubmitRequest()
    claim = await _owner_claim(
        session, settings, caller, idempotency_key, now, "submit", submission_id, signed
    )
    if claim.stored is not None:
        return _json(claim.stored.status, claim.stored.body, replayed=True)
    signing = submission_signing(request, signed.certificate, signed.signature)
    submission = await service.submit(
        session, submission_id, caller, settings=settings, now=now, signature=signing
    )
    receipt = to_receipt(submission).model_dump(mode="json")
    await claim.remember(200, receipt)
    return _json(200, receipt)


@router.post(
    "/submissions/{submission_id}/withdraw",
    response_model=SubmissionReceipt,
    responses=problem_responses(
        *_TRANSITION_ERRORS,
        *_IDEMPOTENCY_ERRORS,
    ),
)
async def withdraw_submission(
    submission_id: uuid.UUID,
    http: Request,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    providers: Providers,
    background: BackgroundTasks,
    now: Now,
    body: Annotated[WithdrawRequest | None, Body()] = None,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JSONResponse:
    """Withdraw (取下げ) the application; possible until a decision is made. A payment
    page still open expires and a konbini voucher is canceled (once the withdrawal is
    committed); what was paid is offered back."""
    request = body or WithdrawRequest()
    claim = await _owner_claim(
        session, settings, caller, idempotency_key, now, "withdraw", submission_id, request
    )
    if claim.stored is not None:
        return _json(claim.stored.status, claim.stored.body, replayed=True)
    submission = await service.withdraw(
        session, submission_id, caller, reason=request.reason, now=now
    )
    background.add_task(
        payments.close_payments_not_due,
        http.app.state.session_factory,
        providers,
        submission.id,
        now=now,
    )
    receipt = to_receipt(submission).model_dump(mode="json")
    await claim.remember(200, receipt)
    return _json(200, receipt)


@router.delete(
    "/submissions/{submission_id}",
    status_code=204,
    response_class=Response,
    responses=problem_responses(
        AuthenticationRequired,
        service.SubmissionNotFound,
        service.SubmissionNotDeletable,
        SubmissionChanged,
        *_IDEMPOTENCY_ERRORS,
    ),
)
async def delete_draft(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    storage: Storage,
    now: Now,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Delete a draft (下書きの削除) that was never submitted, with its attachments; it
    is then not found (404). A submitted application is withdrawn instead (409)."""
    claim = await _owner_claim(
        session, settings, caller, idempotency_key, now, "delete", submission_id
    )
    if claim.stored is not None:
        return Response(status_code=claim.stored.status, headers=_replayed_headers())
    deleted = await service.delete_draft(session, submission_id, caller, now=now)
    await claim.remember(204, {})
    # The bytes go only once the rows are gone for good: a failed commit leaves both.
    await session.commit()
    for storage_key in deleted.attachment_storage_keys:
        try:
            await storage.delete(storage_key)
        except Exception:  # an unreachable store leaves an orphan file, never a 500
            logger.exception("attachment bytes of a deleted draft were not deleted")
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


def _replayed_headers() -> dict[str, str]:
    return {"Cache-Control": "no-store", "Idempotent-Replayed": "true"}


def _receipt_fields(submission: Submission) -> dict[str, Any]:
    fee = None
    if submission.fee_breakdown is not None:
        fee = Fee.model_validate(submission.fee_breakdown)
    return {
        "id": submission.id,
        "status": submission.status,
        "municipality_code": submission.municipality_code,
        "procedure_code": submission.procedure_code,
        "version": submission.version,
        "channel": submission.channel,
        "reference_number": submission.reference_number,
        "fee": fee,
        # Stored as UTC; the in-memory value of a fresh row keeps the clock's zone.
        "created_at": submission.created_at.astimezone(UTC),
        "submitted_at": submission.submitted_at and submission.submitted_at.astimezone(UTC),
    }


@dataclass(frozen=True)
class _Claim:
    """This request's hold on its Idempotency-Key (none without a key): the response
    stored for the key before, if any, and where to keep this one's."""

    session: AsyncSession
    key: str | None
    scope: str
    stored: StoredResponse | None

    def answer_of(
        self, status: int, body_of: Callable[[Submission], dict[str, Any]]
    ) -> AnswerOf | None:
        """The response to store, built from the application when the service asks
        (before numbering it, to store it in the same statement); None without a key."""
        key = self.key
        if key is None:
            return None
        return lambda submission: Answer(self.scope, key, status, body_of(submission))

    async def remember(self, status: int, body: dict[str, Any]) -> None:
        if self.key is not None:
            await idempotency.record_response(
                self.session, scope=self.scope, key=self.key, status=status, body=body
            )


async def _claim(
    session: AsyncSession,
    settings: Settings,
    idempotency_key: str | None,
    scope: str,
    fingerprint: str,
    now: datetime,
    *,
    new: bool = False,
) -> _Claim:
    """The request's claim of its key. `new`: assume the key is new
    (`idempotency.claim`'s `assume_new`): the caller rolls back and claims again when a
    statement fails with the key taken."""
    key = idempotency.parse_key(idempotency_key)
    if key is None:
        return _Claim(session, None, scope, None)
    stored = await idempotency.claim(
        session,
        scope=scope,
        key=key,
        request_hash=fingerprint,
        now=now,
        ttl=timedelta(seconds=settings.idempotency_ttl_seconds),
        assume_new=new,
    )
    return _Claim(session, key, scope, stored)


async def _owner_claim(
    session: AsyncSession,
    settings: Settings,
    caller: Caller,
    idempotency_key: str | None,
    now: datetime,
    operation: str,
    submission_id: uuid.UUID,
    body: BaseModel | None = None,
) -> _Claim:
    """The claim of an action on one application by its owner (submit, withdraw,
    delete): scoped to the caller, fingerprinted by the action, target and body."""
    parts: list[Any] = [str(submission_id)]
    if body is not None:
        parts.append(body.model_dump(mode="json"))
    fingerprint = idempotency.request_fingerprint(operation, *parts)
    return await _claim(
        session, settings, idempotency_key, f"owner:{caller.principal_key}", fingerprint, now
    )


def _json(
    status: int, body: dict[str, Any], *, replayed: bool = False, location: str | None = None
) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if location is not None:
        headers["Location"] = location
    return JSONResponse(body, status_code=status, headers=headers)

"""What the My Number card adds to an application: the document it signs before submit
(署名対象文書) and prefill from its 基本4情報 (ワンスオンリー). The card is verified by
app.auth.jpki; these routes only put its result into the application. Responses carry
`Cache-Control: no-store`."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from app.auth.jpki.dependencies import ChallengeSession, JpkiVerifier
from app.auth.jpki.errors import CARD_PROOF_ERRORS, JpkiNonceInvalid
from app.auth.jpki.schemas import SignedChallenge
from app.auth.jpki.service import AnsweredChallenge
from app.auth.principals import AuthenticatedCaller, AuthenticationRequired
from app.dependencies import AppSettings, DbSession, Now, no_store
from app.errors import problem_responses
from app.submissions import prefill, service, signing
from app.submissions.schemas import PrefillResult, SigningDocument

router = APIRouter(tags=["submissions"], dependencies=[Depends(no_store)])


@router.get(
    "/submissions/{submission_id}/signing-document",
    response_model=SigningDocument,
    responses=problem_responses(AuthenticationRequired, service.SubmissionNotFound),
)
async def get_signing_document(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
) -> SigningDocument:
    """The document the card signs with its 署名用電子証明書 before submit, built from
    the answers as stored. Changing the answers afterwards invalidates the signature."""
    view = await service.get_submission(session, submission_id, caller, settings=settings)
    document = signing.signing_document(view.submission, view.answers)
    return SigningDocument(
        document=document.decode("utf-8"), digest=signing.document_digest(document)
    )


@router.post(
    "/submissions/{submission_id}/prefill",
    response_model=PrefillResult,
    responses=problem_responses(
        AuthenticationRequired,
        service.SubmissionNotFound,
        service.SubmissionNotEditable,
        service.AnswersInvalid,
        JpkiNonceInvalid,
        *CARD_PROOF_ERRORS,
    ),
)
async def prefill_submission(
    submission_id: uuid.UUID,
    body: SignedChallenge,
    session: ChallengeSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
    verifier: JpkiVerifier,
    now: Now,
) -> PrefillResult:
    """ワンスオンリー: fill the draft's mapped fields from the card's 基本4情報. Send a
    `prefill` challenge signed with the 署名用電子証明書 (base64 DER) and its signature."""
    prefilled = await prefill.prefill_from_card(
        session,
        verifier,
        submission_id,
        caller,
        AnsweredChallenge.from_request(body),
        settings=settings,
        now=now,
    )
    return PrefillResult(
        answers=prefilled.answers,
        filled=prefilled.filled,
        prefilled_from_card=prefilled.submission.prefilled_from_card or [],
        has_alternative_characters=prefilled.facts.has_alternative_characters,
        unsplit_address=prefilled.unsplit_address,
    )

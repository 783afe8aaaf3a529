"""My Number card over HTTP: login (a one-time challenge, then the signed challenge for
a citizen access token), the document a submission is signed over, and prefill from the
card (ワンスオンリー). Responses carry `Cache-Control: no-store`."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response

from app.auth.jpki import service
from app.auth.jpki.dependencies import ChallengeSession, JpkiVerifier
from app.auth.jpki.errors import CARD_PROOF_ERRORS, JpkiNonceInvalid
from app.auth.jpki.schemas import (
    ChallengeRequest,
    ChallengeResponse,
    PrefillResult,
    SignedChallenge,
    SigningDocument,
    TokenResponse,
)
from app.auth.principals import AuthenticatedCaller, AuthenticationRequired
from app.dependencies import AppSettings, DbSession, Now
from app.errors import problem_responses
from app.security.dependencies import RATE_LIMIT_ERRORS, JpkiRateLimit
from app.submissions import prefill, signing
from app.submissions import service as submissions_service
from app.submissions.service import AnswersInvalid, SubmissionNotEditable, SubmissionNotFound

router = APIRouter(prefix="/auth/jpki", tags=["citizen login"])


def _no_store(response: Response) -> None:
    response.headers["Cache-Control"] = "no-store"


NoStore = Depends(_no_store)


@router.post(
    "/challenge",
    response_model=ChallengeResponse,
    dependencies=[NoStore, JpkiRateLimit],
    responses=problem_responses(*RATE_LIMIT_ERRORS),
)
async def create_challenge(
    session: DbSession,
    settings: AppSettings,
    now: Now,
    body: Annotated[ChallengeRequest | None, Body()] = None,
) -> ChallengeResponse:
    """A one-time nonce (チャレンジ) for the card to sign; valid for a few minutes."""
    purpose = service.ChallengePurpose((body or ChallengeRequest()).purpose)
    challenge = await service.issue_challenge(session, purpose=purpose, settings=settings, now=now)
    return ChallengeResponse(nonce=challenge.nonce, expires_at=challenge.expires_at)


@router.post(
    "/login",
    response_model=TokenResponse,
    dependencies=[NoStore, JpkiRateLimit],
    responses=problem_responses(JpkiNonceInvalid, *CARD_PROOF_ERRORS, *RATE_LIMIT_ERRORS),
)
async def login(
    body: SignedChallenge,
    session: ChallengeSession,
    settings: AppSettings,
    verifier: JpkiVerifier,
    now: Now,
) -> TokenResponse:
    """Log in with the card: the 利用者証明用電子証明書 (base64 DER) and its signature
    (base64, SHA256withRSA PKCS#1 v1.5) over the UTF-8 bytes of the nonce."""
    proof = service.CardProof.from_base64(body.certificate, body.signature)
    login = await service.login(
        session, verifier, nonce=body.nonce, proof=proof, settings=settings, now=now
    )
    return TokenResponse(access_token=login.token.access_token, expires_in=login.token.expires_in)


submission_router = APIRouter(tags=["submissions"])


@submission_router.get(
    "/submissions/{submission_id}/signing-document",
    response_model=SigningDocument,
    dependencies=[NoStore],
    responses=problem_responses(AuthenticationRequired, SubmissionNotFound),
)
async def get_signing_document(
    submission_id: uuid.UUID,
    session: DbSession,
    settings: AppSettings,
    caller: AuthenticatedCaller,
) -> SigningDocument:
    """The document the card signs with its 署名用電子証明書 before submit, built from
    the answers as stored. Changing the answers afterwards invalidates the signature."""
    view = await submissions_service.get_submission(
        session, submission_id, caller, settings=settings
    )
    document = signing.signing_document(view.submission, view.answers)
    return SigningDocument(
        document=document.decode("utf-8"), digest=signing.document_digest(document)
    )


@submission_router.post(
    "/submissions/{submission_id}/prefill",
    response_model=PrefillResult,
    dependencies=[NoStore],
    responses=problem_responses(
        AuthenticationRequired,
        SubmissionNotFound,
        SubmissionNotEditable,
        AnswersInvalid,
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
    proof = service.CardProof.from_base64(body.certificate, body.signature)
    prefilled = await prefill.prefill_from_card(
        session,
        verifier,
        submission_id,
        caller,
        nonce=body.nonce,
        proof=proof,
        settings=settings,
        now=now,
    )
    return PrefillResult(
        answers=prefilled.answers,
        filled=prefilled.filled,
        prefilled_from_card=prefilled.submission.prefilled_from_card or [],
        has_alternative_characters=prefilled.facts.has_alternative_characters,
    )

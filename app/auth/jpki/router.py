"""My Number card login over HTTP: a one-time challenge, then the signed challenge for a
citizen access token. (What the card adds to an application, the signing document and
prefill, is in app.submissions.router.card.) Responses carry `Cache-Control: no-store`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends

from app.auth.jpki import service
from app.auth.jpki.dependencies import ChallengeSession, JpkiVerifier
from app.auth.jpki.errors import CARD_PROOF_ERRORS, JpkiNonceInvalid
from app.auth.jpki.schemas import (
    ChallengeRequest,
    ChallengeResponse,
    SignedChallenge,
    TokenResponse,
)
from app.dependencies import AppSettings, DbSession, Now, no_store
from app.errors import problem_responses
from app.security.dependencies import RATE_LIMIT_ERRORS, JpkiRateLimit

router = APIRouter(prefix="/auth/jpki", tags=["citizen login"])


NoStore = Depends(no_store)


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
    """A one-time nonce (チャレンジ) for the card to sign, valid for a few minutes, and
    the `challenge_secret` that only this client may send back with it."""
    purpose = service.ChallengePurpose((body or ChallengeRequest()).purpose)
    issued = await service.issue_challenge(session, purpose=purpose, settings=settings, now=now)
    return ChallengeResponse(
        nonce=issued.challenge.nonce,
        challenge_secret=issued.secret,
        expires_at=issued.challenge.expires_at,
    )


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
    (base64, SHA256withRSA PKCS#1 v1.5) over the UTF-8 bytes of the nonce, with the
    challenge's `challenge_secret`."""
    answered = service.AnsweredChallenge.from_request(body)
    login = await service.login(session, verifier, answered, settings=settings, now=now)
    return TokenResponse(access_token=login.token.access_token, expires_in=login.token.expires_in)

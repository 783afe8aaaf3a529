"""My Number card login (利用者証明用電子証明書) and the records of verified cards.

Never commits: the request owns the transaction. A challenge is used by one atomic
UPDATE before the card's proof is checked, so of two concurrent logins with the same
nonce exactly one gets to try, and a refused attempt spends the nonce too.

A challenge is bound to the client that asked for it: with the nonce comes a secret
(`challenge_secret`) that only that client gets, and the UPDATE needs it. The nonce
goes to the card (a card app, a reader, a QR code on another device) and may be seen
there; seen alone it can neither log in nor spend the challenge.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import citizen_tokens
from app.auth.jpki.errors import JpkiCertificateInvalid, JpkiNonceInvalid, JpkiSignatureInvalid
from app.auth.jpki.models import CitizenIdentity, JpkiChallenge
from app.auth.jpki.schemas import SignedChallenge
from app.auth.jpki.verifier import CertificateKind, SignedData, VerifiedCertificate, Verifier
from app.config import Settings
from app.db import new_uuid

NONCE_BYTES = 32
# Expired challenges are kept a while (so a late replay still reads as used/expired in
# logs) and then swept when new ones are issued.
CHALLENGE_RETENTION = timedelta(hours=1)
# A card's notBefore may be this far after the moment it was verified (the largest
# JPKI_CLOCK_SKEW_SECONDS); see record_identity.
LEGACY_CLAIM_SKEW = timedelta(hours=1)


class ChallengePurpose(StrEnum):
    LOGIN = "login"  # signed with the authentication key
    PREFILL = "prefill"  # signed with the signing key, to read the 基本4情報


class AssuranceLevel(StrEnum):
    JPKI_AUTH = "jpki_auth"  # 利用者証明: the card and its 4-digit PIN
    JPKI_SIGN = "jpki_sign"  # 署名: the card, its 6-16 character password, the 4 facts


@dataclass(frozen=True)
class CitizenLogin:
    token: citizen_tokens.IssuedCitizenToken
    identity: CitizenIdentity


@dataclass(frozen=True)
class CardProof:
    """What the card sent: a certificate (DER) and its signature, decoded."""

    certificate: bytes
    signature: bytes

    def over(self, data: bytes) -> SignedData:
        """The proof as a claim that the card signed `data` (the nonce, the document)."""
        return SignedData(self.certificate, data, self.signature)

    @classmethod
    def from_base64(cls, certificate: str, signature: str) -> CardProof:
        return cls(
            certificate=_base64(
                certificate,
                JpkiCertificateInvalid(
                    "The certificate must be base64 of the DER certificate.",
                    "電子証明書はDER形式をBase64で符号化して送信してください。",
                ),
            ),
            signature=_base64(
                signature,
                JpkiSignatureInvalid(
                    "The signature must be base64.",
                    "電子署名はBase64で符号化して送信してください。",
                ),
            ),
        )


@dataclass(frozen=True)
class AnsweredChallenge:
    """A challenge sent back: its nonce, the secret only the asking client holds, and the
    card's proof over the nonce."""

    nonce: str
    secret: str
    proof: CardProof

    @classmethod
    def from_request(cls, body: SignedChallenge) -> AnsweredChallenge:
        proof = CardProof.from_base64(body.certificate, body.signature)
        return cls(body.nonce, body.challenge_secret, proof)


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: JpkiChallenge
    secret: str
    """Given to the asking client only; stored as its SHA-256."""


async def issue_challenge(
    session: AsyncSession, *, purpose: ChallengePurpose, settings: Settings, now: datetime
) -> IssuedChallenge:
    """A fresh random nonce and its secret, valid once for `jpki_challenge_ttl_seconds`."""
    await session.execute(
        delete(JpkiChallenge).where(JpkiChallenge.expires_at < now - CHALLENGE_RETENTION)
    )
    secret = secrets.token_urlsafe(NONCE_BYTES)
    challenge = JpkiChallenge(
        # Hex, not base64url: a nonce starting with '-' would read as an option in a CLI.
        nonce=secrets.token_hex(NONCE_BYTES),
        purpose=purpose.value,
        secret_sha256=_secret_digest(secret),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.jpki_challenge_ttl_seconds),
    )
    session.add(challenge)
    await session.flush()
    return IssuedChallenge(challenge, secret)


async def use_challenge(
    session: AsyncSession,
    nonce: str,
    *,
    secret: str,
    purpose: ChallengePurpose,
    now: datetime,
) -> None:
    """Mark the nonce used, atomically: only one caller can ever see rowcount 1, and
    only a caller holding the challenge's secret can."""
    result = await session.execute(
        update(JpkiChallenge)
        .where(
            JpkiChallenge.nonce == nonce,
            JpkiChallenge.secret_sha256 == _secret_digest(secret),
            JpkiChallenge.purpose == purpose.value,
            JpkiChallenge.used_at.is_(None),
            JpkiChallenge.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise _nonce_invalid()


async def verify_challenge_response(
    session: AsyncSession,
    verifier: Verifier,
    answered: AnsweredChallenge,
    *,
    purpose: ChallengePurpose,
    now: datetime,
) -> VerifiedCertificate:
    """The card signed the UTF-8 bytes of our nonce with the key the purpose needs.

    The nonce is used up first, whatever the outcome: one attempt per challenge, so a
    refused proof cannot be retried (another certificate, another signature) against
    the same nonce. The route's session (`ChallengeSession`) commits that use even when
    the verification then fails. Without the challenge's secret nothing is used."""
    nonce = answered.nonce
    await use_challenge(session, nonce, secret=answered.secret, purpose=purpose, now=now)
    kind = (
        CertificateKind.AUTHENTICATION
        if purpose is ChallengePurpose.LOGIN
        else CertificateKind.SIGNING
    )
    return await verifier.verify(answered.proof.over(nonce.encode("utf-8")), kind=kind, now=now)


async def login(
    session: AsyncSession,
    verifier: Verifier,
    answered: AnsweredChallenge,
    *,
    settings: Settings,
    now: datetime,
) -> CitizenLogin:
    """Card login: verify the authentication certificate's signature over the nonce,
    record the card, and issue a short-lived citizen token bound to it."""
    verified = await verify_challenge_response(
        session, verifier, answered, purpose=ChallengePurpose.LOGIN, now=now
    )
    identity = await record_identity(session, verified, now=now)
    token = citizen_tokens.issue(settings, subject=identity.subject, now=now)
    return CitizenLogin(token, identity)


async def record_identity(
    session: AsyncSession, verified: VerifiedCertificate, *, now: datetime
) -> CitizenIdentity:
    """Insert or refresh the card certificate's identity row (one per issuer DN, issuing
    key and serial).

    A row recorded before the issuing key was part of a card's identity (migration 0012)
    has no key. The first card to come back matching it in issuer DN, serial, type and
    notAfter, and issued before the row was first verified, claims it, so the subject
    the citizen's applications carry keeps working; a card of another CA generation
    with the same DN and serial gets a row (and a subject) of its own. (Two such cards
    that both existed before 0012 and share a notAfter cannot be told apart by what the
    row kept: the first to log in claims it.)"""
    facts = verified.facts.as_json() if verified.facts else None
    level = (
        AssuranceLevel.JPKI_SIGN
        if verified.kind is CertificateKind.SIGNING
        else AssuranceLevel.JPKI_AUTH
    )
    issuer_key = verified.issuer_key_sha256
    same_card = (
        CitizenIdentity.issuer == verified.issuer,
        CitizenIdentity.serial_number == verified.serial_hex,
    )
    keyed = select(CitizenIdentity.id).where(
        *same_card, CitizenIdentity.issuer_key_sha256 == issuer_key
    )
    await session.execute(
        update(CitizenIdentity)
        .where(
            *same_card,
            CitizenIdentity.issuer_key_sha256.is_(None),
            CitizenIdentity.certificate_type == verified.kind.value,
            CitizenIdentity.not_after == verified.not_after,
            # A card issued after the row was first verified cannot be the card that was.
            CitizenIdentity.first_verified_at
            >= verified.certificate.not_valid_before_utc - LEGACY_CLAIM_SKEW,
            ~keyed.exists(),
        )
        .values(issuer_key_sha256=issuer_key)
        .execution_options(synchronize_session=False)
    )
    values = {
        "subject": verified.subject_id,
        "certificate_type": verified.kind.value,
        "issuer": verified.issuer,
        "issuer_key_sha256": issuer_key,
        "serial_number": verified.serial_hex,
        "assurance_level": level.value,
        "basic_facts": facts,
        "not_after": verified.not_after,
        "first_verified_at": now,
        "verified_at": now,
    }
    refreshed = {"verified_at": now, "basic_facts": facts, "assurance_level": level.value}
    card_key = ["issuer", "serial_number", "issuer_key_sha256"]
    # One statement, so two first logins with the same card cannot collide.
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            postgresql.insert(CitizenIdentity)
            .values(id=new_uuid(), **values)
            .on_conflict_do_update(index_elements=card_key, set_=refreshed)
        )
    else:
        await session.execute(
            sqlite.insert(CitizenIdentity)
            .values(id=new_uuid(), **values)
            .on_conflict_do_update(index_elements=card_key, set_=refreshed)
        )
    identity = await session.scalar(
        select(CitizenIdentity)
        .where(*same_card, CitizenIdentity.issuer_key_sha256 == issuer_key)
        .execution_options(populate_existing=True)
    )
    assert identity is not None
    return identity


def _base64(value: str, error: Exception) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise error from None


def _secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _nonce_invalid() -> JpkiNonceInvalid:
    # One answer for unknown, expired, used and another client's: nothing more is told.
    return JpkiNonceInvalid(
        "Request a new challenge and sign it; each one is valid once, for a few minutes, "
        "and only with the challenge_secret it was issued with.",
        "新しいチャレンジを取得して署名してください。チャレンジは数分間、一度だけ、"
        "発行時の challenge_secret とともに有効です。",
    )

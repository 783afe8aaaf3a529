"""Citizen access tokens, issued after a My Number card login: JWT (python-jose), HS256.

The token is bound to the card: `sub` is the subject id of the verified 利用者証明用
電子証明書 (SHA-256 of issuer DN + serial), so it names no person. The algorithm is
pinned on decode; `typ` and a key derived for citizens only keep a staff token (or any
other token signed from the same secret) from passing as a citizen's, and the other way
round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.auth import jwt_tokens
from app.config import Settings
from app.errors import AppError

TOKEN_TYPE = "citizen"
_KEY_PURPOSE = b"madoguchi/citizen-access-token/v1"
_SUBJECT = re.compile(r"^[0-9a-f]{64}$")
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class CitizenTokenInvalid(AppError, code="CITIZEN_TOKEN_INVALID", status=401): ...


@dataclass(frozen=True)
class CitizenTokenClaims:
    subject: str
    """The card's subject id (see app.auth.jpki.verifier.certificate_subject_id)."""
    jti: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class IssuedCitizenToken:
    access_token: str
    claims: CitizenTokenClaims

    @property
    def expires_in(self) -> int:
        return int((self.claims.expires_at - self.claims.issued_at).total_seconds())


def signing_key(settings: Settings) -> bytes:
    """A key for citizen tokens only, derived from the one secret (HMAC-SHA256)."""
    return jwt_tokens.derived_key(settings, _KEY_PURPOSE)


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts: told apart from submission access tokens (`sat_...`)."""
    return bool(_JWT_SHAPE.match(token))


def issue(settings: Settings, *, subject: str, now: datetime) -> IssuedCitizenToken:
    """A citizen token issued at `now` (the request's clock)."""
    lifetime = jwt_tokens.Lifetime.starting(now, settings.citizen_token_ttl_seconds)
    token = jwt_tokens.encode(signing_key(settings), TOKEN_TYPE, subject, lifetime)
    return IssuedCitizenToken(token, _claims(subject, lifetime))


def decode(settings: Settings, token: str) -> CitizenTokenClaims:
    """Verify signature, algorithm, expiry and shape; raise CitizenTokenInvalid otherwise."""
    payload = jwt_tokens.verified_payload(token, signing_key(settings), TOKEN_TYPE)
    subject = payload.get("sub") if payload is not None else None
    if payload is None or not isinstance(subject, str) or not _SUBJECT.match(subject):
        raise _invalid()
    try:
        return _claims(subject, jwt_tokens.lifetime_of(payload))
    except (TypeError, ValueError) as exc:
        raise _invalid() from exc


def _claims(subject: str, lifetime: jwt_tokens.Lifetime) -> CitizenTokenClaims:
    return CitizenTokenClaims(subject, lifetime.jti, lifetime.issued_at, lifetime.expires_at)


def _invalid() -> CitizenTokenInvalid:
    # One message for every cause: a caller learns nothing about which check failed.
    return CitizenTokenInvalid(
        "Log in again with your My Number card.",
        "マイナンバーカードでもう一度ログインしてください。",
    )

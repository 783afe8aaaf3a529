"""Citizen access tokens, issued after a My Number card login: JWT (python-jose), HS256.

The token is bound to the card: `sub` is the subject id of the verified 利用者証明用
電子証明書 (SHA-256 of issuer DN + serial), so it names no person. The algorithm is
pinned on decode; `typ` and a key derived for citizens only keep a staff token (or any
other token signed from the same secret) from passing as a citizen's, and the other way
round.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt

from app.config import Settings
from app.errors import AppError

ALGORITHM = "HS256"
TOKEN_TYPE = "citizen"
_KEY_PURPOSE = b"madoguchi/citizen-access-token/v1"
_REQUIRED_CLAIMS = ("exp", "iat", "jti", "sub")
_SUBJECT = re.compile(r"^[0-9a-f]{64}$")
_JWT_SHAPE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


class CitizenTokenInvalid(AppError):
    status = 401
    code = "CITIZEN_TOKEN_INVALID"
    title_en = "The citizen access token is not valid"
    title_ja = "ログインの有効期限が切れたか、トークンが無効です"


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
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, _KEY_PURPOSE, hashlib.sha256).digest()


def looks_like_jwt(token: str) -> bool:
    """Three base64url parts: told apart from submission access tokens (`sat_...`)."""
    return bool(_JWT_SHAPE.match(token))


def issue(settings: Settings, *, subject: str, now: datetime) -> IssuedCitizenToken:
    """A citizen token issued at `now` (the request's clock)."""
    # JWT times are whole seconds; truncating here keeps the claims equal to the token.
    issued_at = now.replace(microsecond=0)
    claims = CitizenTokenClaims(
        subject=subject,
        jti=uuid.uuid4().hex,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=settings.citizen_token_ttl_seconds),
    )
    payload = {
        "typ": TOKEN_TYPE,
        "sub": subject,
        "jti": claims.jti,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    token = jwt.encode(payload, signing_key(settings), algorithm=ALGORITHM)
    return IssuedCitizenToken(token, claims)


def decode(settings: Settings, token: str) -> CitizenTokenClaims:
    """Verify signature, algorithm, expiry and shape; raise CitizenTokenInvalid otherwise."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            options={f"require_{claim}": True for claim in _REQUIRED_CLAIMS},
        )
    except JWTError as exc:
        raise _invalid() from exc
    subject = payload.get("sub")
    if payload.get("typ") != TOKEN_TYPE or not isinstance(subject, str):
        raise _invalid()
    if not _SUBJECT.match(subject):
        raise _invalid()
    try:
        return CitizenTokenClaims(
            subject=subject,
            jti=str(payload["jti"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
    except (TypeError, ValueError) as exc:
        raise _invalid() from exc


def _invalid() -> CitizenTokenInvalid:
    # One message for every cause: a caller learns nothing about which check failed.
    return CitizenTokenInvalid(
        "Log in again with your My Number card.",
        "マイナンバーカードでもう一度ログインしてください。",
    )

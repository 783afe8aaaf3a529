"""Staff access tokens: JWT (python-jose), HS256 with a key derived for staff only.

The algorithm is pinned when decoding, so `none`, another HMAC size or an RSA/EC token
is refused whatever its header says. `typ` and the derived key keep a citizen token (or
any other token signed from the same secret) from passing as a staff token.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt

from app.config import Settings
from app.errors import AppError

ALGORITHM = "HS256"
TOKEN_TYPE = "staff"
_KEY_PURPOSE = b"madoguchi/staff-access-token/v1"
_REQUIRED_CLAIMS = ("exp", "iat", "jti", "sub", "typ", "municipality", "roles")


class StaffTokenInvalid(AppError):
    status = 401
    code = "STAFF_TOKEN_INVALID"
    title_en = "The access token is not valid"
    title_ja = "アクセストークンが無効です"


@dataclass(frozen=True)
class StaffTokenClaims:
    staff_id: uuid.UUID
    municipality_code: str
    roles: tuple[str, ...]
    jti: str
    issued_at: datetime
    expires_at: datetime
    generation: int = 0
    """The account's token generation at issue (claim `gen`); tokens issued before the
    claim existed count as 0."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    claims: StaffTokenClaims


def signing_key(settings: Settings) -> bytes:
    """A key for staff tokens only, derived from the one secret (HMAC-SHA256)."""
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, _KEY_PURPOSE, hashlib.sha256).digest()


def issue(
    settings: Settings,
    *,
    staff_id: uuid.UUID,
    municipality_code: str,
    roles: tuple[str, ...],
    now: datetime,
    generation: int = 0,
) -> IssuedToken:
    """A staff token issued at `now` (the request's clock)."""
    # JWT times are whole seconds; truncating here keeps the claims equal to the token.
    issued_at = now.replace(microsecond=0)
    claims = StaffTokenClaims(
        staff_id=staff_id,
        municipality_code=municipality_code,
        roles=roles,
        jti=uuid.uuid4().hex,
        issued_at=issued_at,
        expires_at=issued_at + timedelta(seconds=settings.staff_token_ttl_seconds),
        generation=generation,
    )
    payload = {
        "typ": TOKEN_TYPE,
        "sub": str(staff_id),
        "municipality": municipality_code,
        "roles": list(roles),
        "jti": claims.jti,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
        "gen": generation,
    }
    return IssuedToken(jwt.encode(payload, signing_key(settings), algorithm=ALGORITHM), claims)


def decode(settings: Settings, token: str) -> StaffTokenClaims:
    """Verify signature, algorithm, expiry and shape; raise StaffTokenInvalid otherwise."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            options={f"require_{claim}": True for claim in ("exp", "iat", "jti", "sub")},
        )
    except JWTError as exc:
        raise _invalid() from exc
    if any(claim not in payload for claim in _REQUIRED_CLAIMS) or payload["typ"] != TOKEN_TYPE:
        raise _invalid()
    try:
        roles = payload["roles"]
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise ValueError("roles")
        generation = payload.get("gen", 0)
        if type(generation) is not int or generation < 0:
            raise ValueError("gen")
        return StaffTokenClaims(
            staff_id=uuid.UUID(str(payload["sub"])),
            municipality_code=str(payload["municipality"]),
            roles=tuple(roles),
            jti=str(payload["jti"]),
            issued_at=datetime.fromtimestamp(int(payload["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
            generation=generation,
        )
    except (TypeError, ValueError) as exc:
        raise _invalid() from exc


def _invalid() -> StaffTokenInvalid:
    # One message for every cause: a caller learns nothing about which check failed.
    return StaffTokenInvalid(
        "Sign in again to get a new access token.",
        "もう一度ログインして、新しいアクセストークンを取得してください。",
    )

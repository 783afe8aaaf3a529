"""Staff access tokens: JWT (python-jose), HS256 with a key derived for staff only.

The algorithm is pinned when decoding, so `none`, another HMAC size or an RSA/EC token
is refused whatever its header says. `typ` and the derived key keep a citizen token (or
any other token signed from the same secret) from passing as a staff token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from app.auth import jwt_tokens
from app.config import Settings
from app.errors import AppError

TOKEN_TYPE = "staff"
_KEY_PURPOSE = b"madoguchi/staff-access-token/v1"


class StaffTokenInvalid(AppError, code="STAFF_TOKEN_INVALID", status=401): ...


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
    return jwt_tokens.derived_key(settings, _KEY_PURPOSE)


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
    lifetime = jwt_tokens.Lifetime.starting(now, settings.staff_token_ttl_seconds)
    token = jwt_tokens.encode(
        signing_key(settings),
        TOKEN_TYPE,
        str(staff_id),
        lifetime,
        municipality=municipality_code,
        roles=list(roles),
        gen=generation,
    )
    return IssuedToken(token, _claims(staff_id, municipality_code, roles, lifetime, generation))


def decode(settings: Settings, token: str) -> StaffTokenClaims:
    """Verify signature, algorithm, expiry and shape; raise StaffTokenInvalid otherwise."""
    payload = jwt_tokens.verified_payload(
        token, signing_key(settings), TOKEN_TYPE, required=("municipality", "roles")
    )
    if payload is None:
        raise _invalid()
    try:
        roles = payload["roles"]
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise ValueError("roles")
        generation = payload.get("gen", 0)
        if type(generation) is not int or generation < 0:
            raise ValueError("gen")
        return _claims(
            uuid.UUID(str(payload["sub"])),
            str(payload["municipality"]),
            tuple(roles),
            jwt_tokens.lifetime_of(payload),
            generation,
        )
    except (TypeError, ValueError) as exc:
        raise _invalid() from exc


def _claims(
    staff_id: uuid.UUID,
    municipality_code: str,
    roles: tuple[str, ...],
    lifetime: jwt_tokens.Lifetime,
    generation: int,
) -> StaffTokenClaims:
    return StaffTokenClaims(
        staff_id,
        municipality_code,
        roles,
        lifetime.jti,
        lifetime.issued_at,
        lifetime.expires_at,
        generation,
    )


def _invalid() -> StaffTokenInvalid:
    # One message for every cause: a caller learns nothing about which check failed.
    return StaffTokenInvalid(
        "Sign in again to get a new access token.",
        "もう一度ログインして、新しいアクセストークンを取得してください。",
    )

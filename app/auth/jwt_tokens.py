"""What citizen and staff access tokens share: JWTs (python-jose), HS256, each kind
signed with a key derived for it alone from the one secret, the algorithm pinned when
decoding (so `none`, another HMAC size or an RSA/EC token is refused whatever its
header says) and `typ` checked, so one kind never passes as the other."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jose import JWTError, jwt

from app.config import Settings

ALGORITHM = "HS256"
_ALWAYS_REQUIRED = ("exp", "iat", "jti", "sub")


def derived_key(settings: Settings, purpose: bytes) -> bytes:
    """A key for one kind of token, derived from the one secret (HMAC-SHA256)."""
    secret = settings.secret_key.get_secret_value().encode()
    return hmac.new(secret, purpose, hashlib.sha256).digest()


@dataclass(frozen=True)
class Lifetime:
    """When a token is issued and expires, in whole seconds as the JWT carries them."""

    jti: str
    issued_at: datetime
    expires_at: datetime

    @classmethod
    def starting(cls, now: datetime, ttl_seconds: int) -> Lifetime:
        # JWT times are whole seconds; truncating here keeps the claims equal to the token.
        issued_at = now.replace(microsecond=0)
        return cls(uuid.uuid4().hex, issued_at, issued_at + timedelta(seconds=ttl_seconds))


def encode(key: bytes, token_type: str, subject: str, lifetime: Lifetime, **claims: Any) -> str:
    payload = {
        "typ": token_type,
        "sub": subject,
        **claims,
        "jti": lifetime.jti,
        "iat": int(lifetime.issued_at.timestamp()),
        "exp": int(lifetime.expires_at.timestamp()),
    }
    token: str = jwt.encode(payload, key, algorithm=ALGORITHM)
    return token


def verified_payload(
    token: str, key: bytes, token_type: str, required: Iterable[str] = ()
) -> dict[str, Any] | None:
    """The payload of an unexpired token of `token_type` signed with `key` and holding
    `sub`, `jti`, `iat`, `exp` and every `required` claim; None for anything else."""
    try:
        payload: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={f"require_{claim}": True for claim in _ALWAYS_REQUIRED},
        )
    except JWTError:
        return None
    if payload.get("typ") != token_type or any(claim not in payload for claim in required):
        return None
    return payload


def lifetime_of(payload: dict[str, Any]) -> Lifetime:
    """Raises TypeError or ValueError when a claim is not what it should be."""
    return Lifetime(
        str(payload["jti"]),
        datetime.fromtimestamp(int(payload["iat"]), UTC),
        datetime.fromtimestamp(int(payload["exp"]), UTC),
    )

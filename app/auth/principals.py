"""Who is calling (呼出し元): the one place an `Authorization` header becomes a caller.

Services never read headers; they receive a `Caller` and ask `caller.owns(resource)`.
A citizen owns a submission either through the access token returned once when it
was created (`AccessTokenCaller`) or, logged in with the My Number card, through the
card's subject carried by a citizen JWT (`CitizenCaller`); `caller_from_bearer` tells
the two apart.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, ClassVar, Protocol

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.auth import citizen_tokens
from app.config import Settings
from app.dependencies import AppSettings
from app.errors import AppError

ACCESS_TOKEN_PREFIX = "sat_"
"""Submission access tokens start with this, so they are recognisable in a leak scan."""


class AuthenticationRequired(AppError, code="AUTHENTICATION_REQUIRED", status=401):
    """No usable credentials at all. Decided before any lookup, so it reveals nothing
    about whether the requested resource exists."""


class OwnedResource(Protocol):
    """Anything a citizen can own: today a submission."""

    @property
    def access_token_hash(self) -> str | None: ...

    @property
    def citizen_subject(self) -> str | None: ...


class Caller(Protocol):
    @property
    def principal_key(self) -> str | None:
        """A stable, non-secret name of this caller (idempotency scopes, rate limits);
        None for an anonymous caller."""
        ...

    @property
    def citizen_subject(self) -> str | None:
        """The logged-in citizen (JPKI issuer + card serial), if any. A submission
        created by such a caller is owned by the subject instead of a token."""
        ...

    def owns(self, resource: OwnedResource) -> bool: ...


def _same_secret(stored: str | None, presented: str) -> bool:
    """Compared in constant time: how long it takes tells nothing of the stored value."""
    return stored is not None and hmac.compare_digest(stored, presented)


@dataclass(frozen=True)
class AnonymousCaller:
    """No credentials: may create a submission (and receive its access token), owns nothing."""

    principal_key: ClassVar[None] = None
    citizen_subject: ClassVar[None] = None

    def owns(self, resource: OwnedResource) -> bool:
        return False


@dataclass(frozen=True)
class AccessTokenCaller:
    """Holds the bearer token of one submission. Only its SHA-256 is kept, as stored."""

    token_hash: str
    citizen_subject: ClassVar[None] = None

    @property
    def principal_key(self) -> str:
        return f"access-token:{self.token_hash}"

    def owns(self, resource: OwnedResource) -> bool:
        return _same_secret(resource.access_token_hash, self.token_hash)


@dataclass(frozen=True)
class CitizenCaller:
    """Logged in with the My Number card (利用者証明用電子証明書): owns the submissions
    it created, by the card's subject id (issuer + serial digest)."""

    citizen_subject: str

    @property
    def principal_key(self) -> str:
        return f"citizen:{self.citizen_subject}"

    def owns(self, resource: OwnedResource) -> bool:
        return _same_secret(resource.citizen_subject, self.citizen_subject)


class CitizenLoginRequired(AppError, code="CITIZEN_LOGIN_REQUIRED", status=401): ...


ANONYMOUS = AnonymousCaller()


def hash_access_token(token: str) -> str:
    """SHA-256 hex: the tokens are 256-bit random or HMAC outputs, so a fast hash is
    enough (no password stretching needed) and lookups stay cheap."""
    return hashlib.sha256(token.encode()).hexdigest()


def caller_from_bearer(token: str, settings: Settings) -> Caller:
    # A JWT is a citizen login: an expired or forged one is 401 (log in again). Any
    # other bearer token is an access token: a wrong or garbled one simply owns
    # nothing, so the answer is 404, never a hint.
    if citizen_tokens.looks_like_jwt(token):
        return CitizenCaller(citizen_tokens.decode(settings, token).subject)
    return AccessTokenCaller(hash_access_token(token))


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="SubmissionAccessToken",
    description="The `access_token` returned once when a submission was created.",
)


async def get_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: AppSettings,
) -> Caller:
    """The caller behind the `Authorization` header; anonymous when there is none."""
    if credentials is None or not credentials.credentials.strip():
        return ANONYMOUS
    return caller_from_bearer(credentials.credentials.strip(), settings)


async def get_authenticated_caller(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    """For owner-only routes: a missing (or non-Bearer) `Authorization` is 401; a
    bearer that owns nothing is left to the service, which answers 404."""
    if caller.principal_key is None:
        raise AuthenticationRequired(
            "Send the access token as 'Authorization: Bearer <access_token>'.",
            "アクセストークンを「Authorization: Bearer <access_token>」で送信してください。",
        )
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]
AuthenticatedCaller = Annotated[Caller, Depends(get_authenticated_caller)]

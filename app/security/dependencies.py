"""Rate limits as route dependencies, attached with one line; over the limit they raise
RateLimited (429 with `Retry-After`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.config import Settings
from app.dependencies import Now
from app.security import ratelimit
from app.security.ratelimit import RateLimited


def _client_ip(request: Request) -> str:
    # Behind a load balancer uvicorn's --proxy-headers puts the real client here
    # (see docs/operations.md); an unknown peer shares one bucket.
    return request.client.host if request.client else "unknown"


async def _enforce(request: Request, key: str, limit: int, now: datetime) -> None:
    settings: Settings = request.app.state.settings
    decision = await ratelimit.hit(
        request.app.state.session_factory,
        key,
        limit=limit,
        window_seconds=settings.rate_limit_window_seconds,
        now=now,
    )
    if not decision.allowed:
        raise RateLimited(decision.retry_after)


async def limit_jpki(request: Request, now: Now) -> None:
    """JPKI challenge and login: per client IP."""
    settings: Settings = request.app.state.settings
    key = ratelimit.bucket_key("jpki", _client_ip(request))
    await _enforce(request, key, settings.rate_limit_jpki_per_window, now)


async def limit_staff_token(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], now: Now
) -> None:
    """Staff sign-in: per client IP and user name, so one guessed account cannot be
    hammered from one address, and one address cannot lock others out."""
    settings: Settings = request.app.state.settings
    key = ratelimit.bucket_key("staff-token", _client_ip(request), form.username.casefold())
    await _enforce(request, key, settings.rate_limit_staff_token_per_window, now)


JpkiRateLimit = Depends(limit_jpki)
StaffTokenRateLimit = Depends(limit_staff_token)


RATE_LIMIT_ERRORS = (RateLimited,)
"""For a rate-limited route's `responses=`."""

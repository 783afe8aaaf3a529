"""Rate limits as route dependencies, attached with one line; over the limit they raise
RateLimited (429 with `Retry-After`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from app.auth.staff_service import login_id
from app.config import Settings
from app.dependencies import Now
from app.security import ratelimit
from app.security.ratelimit import RateLimited


def _client_ip(request: Request) -> str:
    # The peer address, or the client a proxy in FORWARDED_ALLOW_IPS names (create_app;
    # docs/operations.md); an unknown peer shares one bucket.
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
    """Staff sign-in, keyed on the login id as sign-in reads it (" admin@…", "ＡＤＭＩＮ@…"
    and "admin@…" + a tab are one account). Three counts: per client IP and login id (the
    tightest); per login id from every address together, so many addresses cannot share
    the guessing (an attacker can hold an account's sign-in off for one window, no more);
    per client IP across login ids, so one address cannot try every account."""
    settings: Settings = request.app.state.settings
    address = _client_ip(request)
    account = login_id(form.username)
    limits = (
        (
            ratelimit.bucket_key("staff-token-address", address),
            settings.rate_limit_staff_address_per_window,
        ),
        (
            ratelimit.bucket_key("staff-token", address, account),
            settings.rate_limit_staff_token_per_window,
        ),
        (
            ratelimit.bucket_key("staff-token-account", account),
            settings.rate_limit_staff_account_per_window,
        ),
    )
    for key, limit in limits:
        await _enforce(request, key, limit, now)


JpkiRateLimit = Depends(limit_jpki)
StaffTokenRateLimit = Depends(limit_staff_token)


RATE_LIMIT_ERRORS = (RateLimited,)
"""For a rate-limited route's `responses=`."""

"""Fixed-window rate limits counted in `rate_limit_buckets`. No FastAPI imports; the
dependency in app.security.dependencies applies them to routes.

Each hit is one atomic `INSERT ... ON CONFLICT DO UPDATE SET count = count + 1
RETURNING count` in its own short transaction: concurrent workers never lose an
increment, and the count survives the request failing (a refused login still counts).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.errors import AppError
from app.security.models import RateLimitBucket


class RateLimited(AppError, code="RATE_LIMITED", status=429):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many attempts. Try again in {retry_after} seconds.",
            f"試行回数が上限を超えました。{retry_after}秒後に再度お試しください。",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Decision:
    count: int
    limit: int
    retry_after: int
    """Seconds until the current window ends."""

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit


def bucket_key(scope: str, *parts: str) -> str:
    """The caller's IP (and login id) hashed: buckets hold no personal data."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:48]
    return f"{scope}:{digest}"


def window_start(now: datetime, window_seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)


async def hit(
    factory: async_sessionmaker[AsyncSession],
    key: str,
    *,
    limit: int,
    window_seconds: int,
    now: datetime,
) -> Decision:
    """Counts one request against `key` and says whether it is within `limit`."""
    start = window_start(now, window_seconds)
    async with factory() as session, session.begin():
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(RateLimitBucket)
            .values(key=key, window_start=start, count=1)
            .on_conflict_do_update(
                index_elements=["key", "window_start"],
                set_={"count": RateLimitBucket.count + 1},
            )
            .returning(RateLimitBucket.count)
        )
        count = int((await session.execute(statement)).scalar_one())
    window_end = start + timedelta(seconds=window_seconds)
    retry_after = max(1, int((window_end - now).total_seconds() + 0.999))
    return Decision(count=count, limit=limit, retry_after=retry_after)


async def delete_expired(session: AsyncSession, *, before: datetime) -> int:
    """Drops windows that ended before `before` (run by the retention command)."""
    result = await session.execute(
        delete(RateLimitBucket).where(RateLimitBucket.window_start < before)
    )
    return int(getattr(result, "rowcount", 0) or 0)

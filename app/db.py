"""Async engine, session factory, declarative Base and the portable column types."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, DateTime, MetaData, Select, Table, TypeDecorator, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both SQLite (which has no zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for statements built once and run without the
    ORM (on paths where building and flushing objects costs more than the work)."""
    return cast(Table, model.__table__)


Row = TypeVar("Row")


async def fetch_page(
    session: AsyncSession, statement: Select[Row], *, limit: int, offset: int
) -> tuple[list[Row], int]:
    """One page of the statement's rows, and how many rows it has in all."""
    counted = statement.order_by(None).subquery()
    total = await session.scalar(select(func.count()).select_from(counted))
    rows = await session.scalars(statement.limit(limit).offset(offset))
    return list(rows), total or 0


Owned = TypeVar("Owned", bound=Base)


async def rows_of_submission(
    session: AsyncSession,
    model: type[Owned],
    submission_id: uuid.UUID,
    *,
    oldest_first_by: InstrumentedAttribute[datetime],
) -> list[Owned]:
    """The rows of one kind that belong to an application (its events, comments, payments,
    files...), in the order they happened; ties by id, so the order never changes. The
    table must have `id` and `submission_id` columns."""
    columns = model.__table__.c
    rows = await session.scalars(
        select(model)
        .where(columns.submission_id == submission_id)
        .order_by(oldest_first_by, columns.id)
    )
    return list(rows)


def make_engine(
    database_url: str,
    *,
    echo: bool = False,
    pool_size: int = 10,
    pool_timeout_seconds: float = 30,
    pool_recycle_seconds: int = 1800,
) -> AsyncEngine:
    """The engine of one process. On PostgreSQL a fixed pool of `pool_size` connections:
    no overflow, because an overflow connection is closed when it is returned, so under
    load every request beyond the pool would open (fork) a new backend; a request waits
    up to `pool_timeout_seconds` for a free one instead. No ping per checkout (a round
    trip on every request); connections are replaced after `pool_recycle_seconds`, and
    one that died is detected by the failed statement and discarded."""
    kwargs: dict[str, Any] = {"echo": echo}
    if database_url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout_seconds,
            pool_recycle=pool_recycle_seconds,
        )
    return create_async_engine(database_url, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
    *,
    commit_on: tuple[type[Exception], ...] = (),
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit when the handler returns, roll back on error,
    except on the errors in `commit_on`: what was written before them is kept."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except commit_on:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise

"""HotStatement (app/db.py): statements of the hot paths, run on the driver on PostgreSQL
and through the session elsewhere, with the session's transaction and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import HotStatement, table_of
from app.submissions.models import IdempotencyRecord

_records = table_of(IdempotencyRecord)
INSERT = HotStatement(insert(_records).returning(_records.c.id))
ANSWER = HotStatement(
    update(_records)
    .where(_records.c.key == bindparam("of_key"))
    .values(response_status=bindparam("status"), response_body=bindparam("body"))
)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _record(key: str) -> dict[str, object]:
    return {
        "scope": "test",
        "key": key,
        "request_hash": "h",
        "created_at": NOW,
        "expires_at": NOW + timedelta(days=1),
    }


async def _keys(session_factory: async_sessionmaker[AsyncSession]) -> list[str]:
    async with session_factory() as session:
        return list(await session.scalars(select(IdempotencyRecord.key).order_by("key")))


async def test_writes_belong_to_the_session_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # The first statement of each transaction: it must not run outside it (autocommit).
    async with session_factory() as session:
        assert await INSERT.scalar(session, _record("rolled-back")) is not None
        await session.rollback()
        await INSERT.scalar(session, _record("committed"))
        await session.commit()
    assert await _keys(session_factory) == ["committed"]


async def test_values_are_converted_as_the_orm_reads_them(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    body = {"reference_number": "TOMI-R8-000001", "fee": {"total": 300}, "note": "受付"}
    async with session_factory() as session:
        await INSERT.scalar(session, _record("k"))
        await ANSWER.run(session, {"of_key": "k", "status": 201, "body": body})
        await session.commit()
    async with session_factory() as session:
        record = await session.scalar(select(IdempotencyRecord))
    assert record is not None
    assert (record.response_status, record.response_body) == (201, body)
    assert record.created_at == NOW and record.expires_at == NOW + timedelta(days=1)


async def test_a_failed_statement_raises_sqlalchemys_error_and_rolls_back(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await INSERT.scalar(session, _record("twice"))
        await session.commit()
        with pytest.raises(IntegrityError):
            await INSERT.scalar(session, _record("twice"))
        await session.rollback()
        await INSERT.scalar(session, _record("after"))
        await session.commit()
    assert await _keys(session_factory) == ["after", "twice"]

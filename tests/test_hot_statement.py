"""HotStatement (app/db.py): statements of the hot paths, run on the driver on PostgreSQL
and through the session elsewhere, with the session's transaction and errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, literal, select, update
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
NOTHING = HotStatement(select(literal(1)))
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


async def test_a_write_left_for_later_goes_in_with_the_next_statement_or_the_commit(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        # Taken by the next hot statement (on PostgreSQL as a WITH of it).
        await INSERT.write_later(session, _record("with-the-next"))
        await INSERT.write_later(session, _record("also-with-the-next"))
        assert await NOTHING.scalar(session, {}) == 1
        # Written before a statement on their table, which finds them (as on SQLite).
        await INSERT.write_later(session, _record("before-an-update"))
        await ANSWER.run(session, {"of_key": "before-an-update", "status": 201, "body": {}})
        # Seen by any other statement of the transaction: written before it runs.
        await INSERT.write_later(session, _record("before-a-query"))
        seen = set(await session.scalars(select(IdempotencyRecord.key)))
        assert seen == {"with-the-next", "also-with-the-next", "before-an-update", "before-a-query"}
        # At the latest at commit.
        await INSERT.write_later(session, _record("at-commit"))
        await session.commit()
    assert await _keys(session_factory) == [
        "also-with-the-next",
        "at-commit",
        "before-a-query",
        "before-an-update",
        "with-the-next",
    ]
    async with session_factory() as session:
        record = await session.get(IdempotencyRecord, await _id_of(session, "before-an-update"))
        assert record is not None and record.response_status == 201


async def test_a_write_left_for_later_is_rolled_back_with_its_transaction(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await INSERT.write_later(session, _record("rolled-back"))
        await session.rollback()
        await INSERT.scalar(session, _record("committed"))
        await session.commit()
    assert await _keys(session_factory) == ["committed"]


async def _id_of(session: AsyncSession, key: str) -> int:
    found = await session.scalar(select(IdempotencyRecord.id).where(IdempotencyRecord.key == key))
    assert found is not None
    return found

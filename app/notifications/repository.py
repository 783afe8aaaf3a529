"""Queries over the notification outbox; the only place that builds SQL over it."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement, rows_of_submission, table_of
from app.notifications.models import Notification
from app.submissions.dialects import insert_ignoring_conflicts_of


async def add_unless_queued(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Inserts one outbox row (every column given) unless its event already queued a
    message for the recipient; whether it was inserted. One statement, built once."""
    return await _ADD_UNLESS_QUEUED.scalar(session, row) is not None


async def add_later(session: AsyncSession, row: dict[str, Any]) -> None:
    """`add_unless_queued` sent with the transaction's next statement (or at commit), for
    a message nothing reads back before the commit."""
    await _ADD_UNLESS_QUEUED.write_later(session, row)


_notifications = table_of(Notification)
_ADD_UNLESS_QUEUED = HotStatement(
    lambda dialect: insert_ignoring_conflicts_of(
        dialect, _notifications, ("event_key", "recipient")
    ).returning(_notifications.c.id)
)


async def list_for_submission(
    session: AsyncSession, submission_id: uuid.UUID
) -> list[Notification]:
    return await rows_of_submission(
        session, Notification, submission_id, oldest_first_by=Notification.created_at
    )


async def claim_due(session: AsyncSession, now: datetime) -> Notification | None:
    """The next message due for delivery, row-locked until the caller's transaction
    ends. On PostgreSQL a row another sender holds is skipped (FOR UPDATE SKIP LOCKED),
    so any number of senders share the outbox without sending a message twice."""
    return await session.scalar(
        select(Notification)
        .where(Notification.state == "pending", Notification.next_attempt_at <= now)
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )


async def delete_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> int:
    result = await session.execute(
        delete(Notification).where(Notification.submission_id == submission_id)
    )
    return int(getattr(result, "rowcount", 0) or 0)

"""Queries over the attachments table; the only place that builds SQL over it."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments.models import Attachment
from app.db import rows_of_submission


async def usage(session: AsyncSession, submission_id: uuid.UUID) -> tuple[int, int]:
    """How many attachments an application has, and their bytes together."""
    row = (
        await session.execute(
            select(
                func.count(Attachment.id), func.coalesce(func.sum(Attachment.size_bytes), 0)
            ).where(Attachment.submission_id == submission_id)
        )
    ).one()
    return int(row[0]), int(row[1])


async def list_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> list[Attachment]:
    return await rows_of_submission(
        session, Attachment, submission_id, oldest_first_by=Attachment.created_at
    )


async def get(
    session: AsyncSession, submission_id: uuid.UUID, attachment_id: uuid.UUID
) -> Attachment | None:
    return await session.scalar(
        select(Attachment).where(
            Attachment.id == attachment_id, Attachment.submission_id == submission_id
        )
    )


async def get_many(
    session: AsyncSession, submission_id: uuid.UUID, attachment_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, Attachment]:
    if not attachment_ids:
        return {}
    rows = await session.scalars(
        select(Attachment).where(
            Attachment.submission_id == submission_id, Attachment.id.in_(list(attachment_ids))
        )
    )
    return {row.id: row for row in rows}


async def claim_pending_scans(session: AsyncSession, limit: int) -> list[Attachment]:
    """Quarantined attachments to scan, oldest first; on PostgreSQL rows another scanner
    holds are skipped (FOR UPDATE SKIP LOCKED)."""
    rows = await session.scalars(
        select(Attachment)
        .where(Attachment.scan_status == "pending")
        .order_by(Attachment.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows)


async def delete_for_submission(session: AsyncSession, submission_id: uuid.UUID) -> list[str]:
    """Deletes the application's attachment rows; returns the storage keys they named."""
    keys = await session.scalars(
        select(Attachment.storage_key).where(Attachment.submission_id == submission_id)
    )
    found = list(keys)
    if found:
        await session.execute(delete(Attachment).where(Attachment.submission_id == submission_id))
    return found

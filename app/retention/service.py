"""Retention (保存期間): once a decided application is older than its procedure's
retention period, its personal data goes — the answers, the personal parts of the fee
breakdown, the card-prefill marks and the signature evidence (signature, certificate,
基本4情報), the attachments and the notification emails (they hold the address and the
staff's words). What stays: the row with its 受付番号, status, fee total and timestamps, the
status history (SubmissionEvent) the KPIs are computed from, and the audit log.

Never commits; the command owns the transaction."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attachments import service as attachments
from app.attachments.storage import AttachmentStorage, storage_for
from app.audit import service as audit
from app.audit.service import AuditActor
from app.config import get_settings
from app.notifications import service as notifications
from app.retention.models import RetentionPurge
from app.security.ratelimit import delete_expired as delete_expired_rate_limits
from app.submissions import idempotency
from app.submissions import repository as submissions_repository
from app.submissions import service as submissions
from app.submissions.lifecycle import Status
from app.submissions.repository import Submission

FINAL_STATUSES = (Status.APPROVED, Status.REJECTED, Status.WITHDRAWN)
SYSTEM = AuditActor(actor_type="system", actor_id="retention-purge")


@dataclass
class PurgeReport:
    run_id: str
    dry_run: bool
    submissions: int = 0
    signatures: int = 0
    attachments: int = 0
    notifications: int = 0
    idempotency_records: int = 0
    per_municipality: Counter[str] = field(default_factory=Counter)


def retention_days_of(definition: dict[str, Any], default_days: int) -> int:
    """The pinned version's `retention_days`, or the deployment's default."""
    days = definition.get("retention_days")
    return days if isinstance(days, int) and days > 0 else default_days


async def purge(
    session: AsyncSession,
    *,
    now: datetime,
    default_days: int,
    dry_run: bool = False,
    attachment_storage: AttachmentStorage | None = None,
) -> PurgeReport:
    """Purges every decided application past its retention period; one audit entry
    per municipality touched (actor `system`), none on a dry run. Attachments (rows and
    stored bytes) go too, from `attachment_storage` (default: the configured store)."""
    storage = attachment_storage or storage_for(get_settings())
    report = PurgeReport(run_id=uuid.uuid4().hex, dry_run=dry_run)
    rows = await submissions_repository.due_for_retention(
        session,
        statuses=FINAL_STATUSES,
        # No period is shorter than a day: skips rows that cannot be due yet.
        settled_before=now - timedelta(days=1),
        excluding=select(RetentionPurge.submission_id),
    )
    due: list[tuple[Submission, int]] = []
    for submission, definition in rows:
        days = retention_days_of(definition, default_days)
        decided_at = submission.decided_at or submission.updated_at
        if decided_at + timedelta(days=days) <= now:
            due.append((submission, days))

    for submission, days in due:
        report.submissions += 1
        report.signatures += await submissions_repository.count_signatures(session, submission.id)
        report.per_municipality[submission.municipality_code] += 1
        report.attachments += await attachments.purge_for_submission(
            session, submission.id, storage=storage, dry_run=dry_run
        )
        report.notifications += await notifications.purge_for_submission(
            session, submission.id, dry_run=dry_run
        )
        if dry_run:
            continue
        await submissions.purge_personal_data(session, submission)
        session.add(
            RetentionPurge(
                submission_id=submission.id,
                municipality_code=submission.municipality_code,
                retention_days=days,
                purged_at=now,
                run_id=report.run_id,
            )
        )
    if dry_run:
        return report

    await session.flush()
    for municipality_code, count in sorted(report.per_municipality.items()):
        await audit.record(
            session,
            SYSTEM,
            "retention.purge",
            "retention_run",
            report.run_id,
            municipality_code,
            details={"submissions": count, "default_retention_days": default_days},
        )
    # Rate-limit windows older than a day, and expired Idempotency-Key records (which
    # hold receipts, never answers), are of no further use.
    await delete_expired_rate_limits(session, before=now - timedelta(days=1))
    report.idempotency_records = await idempotency.purge_expired(session, now=now)
    return report

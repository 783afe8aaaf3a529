"""`python -m app.retention purge [--dry-run]`: purge the personal data of decided
applications past their retention period (保存期間). Run it daily from cron or a
scheduled job; it is idempotent and safe to run from any one host."""

from __future__ import annotations

import asyncio
import json

from app.attachments.storage import storage_for
from app.commands import SwitchCommand, command_transaction
from app.config import get_settings
from app.db import utcnow
from app.retention import service

PURGE = SwitchCommand(
    "python -m app.retention",
    ("purge", "purge applications past their retention"),
    ("--dry-run", "count only; change nothing"),
)


async def _purge(dry_run: bool) -> service.PurgeReport:
    settings = get_settings()
    async with command_transaction(settings.database_url) as session:
        return await service.purge(
            session,
            now=utcnow(),
            default_days=settings.retention_default_days,
            dry_run=dry_run,
            attachment_storage=storage_for(settings),
        )


def main(argv: list[str] | None = None) -> int:
    dry_run = PURGE.parse(argv)
    report = asyncio.run(_purge(dry_run))
    summary = {
        "run_id": report.run_id,
        "dry_run": report.dry_run,
        "submissions": report.submissions,
        "signatures": report.signatures,
        "attachments": report.attachments,
        "notifications": report.notifications,
        "idempotency_records": report.idempotency_records,
        "per_municipality": dict(report.per_municipality),
    }
    print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

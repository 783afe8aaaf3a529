"""`python -m app.attachments scan`: scan the quarantined attachments (検査待ち) again,
e.g. after clamd was down. Run it from cron every few minutes when
ATTACHMENT_VIRUS_SCAN is on; it is safe to run from several hosts at once (rows another
scanner holds are skipped on PostgreSQL)."""

from __future__ import annotations

import argparse
import asyncio
import json

from app.attachments import service
from app.attachments.scanning import scanner_for
from app.attachments.storage import storage_for
from app.commands import command_transaction
from app.config import get_settings
from app.db import utcnow


async def _scan(batch: int) -> dict[str, int]:
    settings = get_settings()
    scanner = scanner_for(settings)
    if scanner is None:
        raise SystemExit("ATTACHMENT_VIRUS_SCAN is off: nothing is quarantined")
    async with command_transaction(settings.database_url) as session:
        return await service.rescan_pending(
            session,
            storage=storage_for(settings),
            scanner=scanner,
            settings=settings,
            now=utcnow(),
            limit=batch,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.attachments")
    commands = parser.add_subparsers(dest="command", required=True)
    scan = commands.add_parser("scan", help="scan quarantined attachments again")
    scan.add_argument("--batch", type=int, default=service.SCAN_BATCH, help="at most this many")
    arguments = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_scan(arguments.batch))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

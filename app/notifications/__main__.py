"""`python -m app.notifications worker [--once]`: deliver the notification outbox over
SMTP (production runs one or more of these next to the web workers; they share the
outbox safely). `--once` sends what is due now and exits (cron, tests)."""

from __future__ import annotations

import asyncio
import json
import signal

from app.commands import SwitchCommand, command_database
from app.config import get_settings
from app.logging_config import configure_logging
from app.notifications import sender

WORKER = SwitchCommand(
    "python -m app.notifications",
    ("worker", "deliver queued notifications over SMTP"),
    ("--once", "send what is due, then exit"),
)


async def _work(once: bool) -> dict[str, int]:
    settings = get_settings()
    if not settings.smtp_host:
        raise SystemExit("SMTP_HOST is not set: there is nowhere to send notifications")
    configure_logging(settings.log_level)
    async with command_database(settings.database_url) as factory:
        if once:
            report = await sender.deliver_due(factory, settings)
            return {"sent": report.sent, "retrying": report.retrying, "failed": report.failed}
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await sender.run(factory, settings, stop)
        return {}


def main(argv: list[str] | None = None) -> int:
    once = WORKER.parse(argv)
    result = asyncio.run(_work(once))
    if once:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

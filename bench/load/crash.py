"""Crash test: the deadline-day load with one of the 2 uvicorn workers killed with
SIGKILL midway. Clients on the killed worker's connections retry with the same
Idempotency-Key, as a phone would. Then: every submission acknowledged with 2xx is in
the database and complete, nothing is half-written (each row has its 受付番号, fee and
event; numbers stay gap-free: a killed transaction gives its number back).

    .venv/bin/python -m bench.load.crash [--total 10000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from app.config import Settings
from bench.load.common import (
    as_result,
    check_database,
    scratch_database,
    submission_templates,
    submit_load,
    uvicorn_workers,
)

WORKERS = 2


async def run(total: int, concurrency: int, retry_share: float) -> bool:
    async with scratch_database() as database:
        env = {"DATABASE_URL": database.url, "LOG_LEVEL": "WARNING"}
        templates = submission_templates(Settings(database_url=database.url))
        killed: list[int] = []
        with uvicorn_workers("app.main:create_app", env=env, workers=WORKERS) as server:

            def kill_one_midway(acknowledged: int) -> None:
                if not killed and acknowledged >= total // 2:
                    victim = server.worker_pids()[0]
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                    print(f"SIGKILL worker {victim} after {acknowledged} acknowledgements")

            outcome = await submit_load(
                server.url,
                templates,
                total=total,
                concurrency=concurrency,
                retry_share=retry_share,
                on_progress=kill_one_midway,
            )
            survivors = server.worker_pids()
        result = as_result(f"create+submit, one worker killed c={concurrency}", outcome)
        print(result.line())
        print(
            f"    {len(outcome.acknowledged)} acknowledged, transport errors "
            f"{outcome.transport_errors} (retried with the same key), refused "
            f"{outcome.refused or 'none'}; workers after: {len(survivors)}"
        )
        checks = await check_database(database.dsn, outcome, expected=total)
    print("Database checks:")
    for check in checks:
        print(check.line())
    return bool(killed) and all(check.passed for check in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--total", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--retry-share", type=float, default=0.05)
    arguments = parser.parse_args()
    passed = asyncio.run(run(arguments.total, arguments.concurrency, arguments.retry_share))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()

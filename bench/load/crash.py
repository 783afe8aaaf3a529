"""Crash test: the deadline-day load (wrk, 64 connections) with one of the 2 workers
killed with SIGKILL once half the submissions are in the database (the one serving
most connections). Requests on the
killed worker's connections get no answer; wrk's script sends them again with the same
Idempotency-Key on a new connection, as a phone would. Then: every submission
acknowledged with 2xx is in the database and complete, nothing is half-written (each
row has its 受付番号, fee and event; numbers stay gap-free: a killed transaction gives
its number back).

    .venv/bin/python -m bench.load.crash [--total 10000] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

import asyncpg

from app.config import Settings
from bench.load.common import (
    check_database,
    scratch_database,
    submission_templates,
    submit_load,
    uvicorn_workers,
)

WORKERS = 2


async def run(total: int, concurrency: int, retry_share: float) -> bool:
    async with scratch_database() as database:
        env = {"DATABASE_URL": database.url}
        templates = submission_templates(Settings(database_url=database.url))
        killed: list[int] = []
        connection = await asyncpg.connect(database.dsn)
        try:
            with uvicorn_workers("app.main:create_app", env=env, workers=WORKERS) as server:

                async def kill_one_midway() -> None:
                    if killed:
                        return
                    stored = await connection.fetchval("SELECT count(*) FROM submissions")
                    if stored >= total // 2:
                        # The worker serving most of wrk's connections.
                        connections = server.client_connections()
                        victim = max(connections, key=lambda pid: connections[pid])
                        os.kill(victim, signal.SIGKILL)
                        killed.append(victim)
                        print(
                            f"SIGKILL worker {victim} (serving {connections[victim]} of the "
                            f"{concurrency} connections) with {stored} submissions stored"
                        )

                outcome = await submit_load(
                    server.url,
                    templates,
                    total=total,
                    concurrency=concurrency,
                    retry_share=retry_share,
                    while_running=kill_one_midway,
                )
                survivors = server.worker_pids()
        finally:
            await connection.close()
        print(f"{'create+submit, one worker killed':<40} {outcome.figures.line()}")
        print(
            f"    {len(outcome.acknowledged)} acknowledged, {outcome.transport_errors} "
            f"requests without an answer (sent again with the same key), refused "
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

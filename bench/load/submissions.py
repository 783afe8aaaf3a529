"""Deadline-day load (現況届 season): 10,000 create-and-submit requests from 64 wrk
connections against 2 workers on the production server stack and PostgreSQL, 5% sent
again with the same Idempotency-Key, over a mix of catalog procedures in two
municipalities; then the database is checked.

    .venv/bin/python -m bench.load.submissions [--total 10000] [--concurrency 64]

Prints wrk's throughput and p50/p99 next to a bare FastAPI + asyncpg baseline (same
stack, same workers and connections) measured in the same run; exits 1 when a check
fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys

from app.config import Settings
from bench.load.common import (
    baseline_load,
    check_database,
    scratch_database,
    submission_templates,
    submit_load,
    uvicorn_workers,
)

WORKERS = 2
BASELINE_SECONDS = 10


async def run(total: int, concurrency: int, retry_share: float) -> bool:
    async with scratch_database() as database:
        env = {"DATABASE_URL": database.url, "BENCH_BASELINE_DSN": database.dsn}
        templates = submission_templates(Settings(database_url=database.url))
        print(
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}; {WORKERS} workers per server; {total} submissions, "
            f"{concurrency} connections, {retry_share:.0%} retried with the same key, "
            f"{len(templates)} request templates"
        )
        with uvicorn_workers(
            "bench.bare_app:create_insert_app", env=env, workers=WORKERS
        ) as baseline_server:
            await baseline_load(baseline_server.url, seconds=3, concurrency=16)  # warm-up
            baseline = await baseline_load(
                baseline_server.url, seconds=BASELINE_SECONDS, concurrency=concurrency
            )
        with uvicorn_workers("app.main:create_app", env=env, workers=WORKERS) as server:
            outcome = await submit_load(
                server.url,
                templates,
                total=total,
                concurrency=concurrency,
                retry_share=retry_share,
            )
        result = outcome.figures
        print(f"{'baseline (pydantic + asyncpg INSERT)':<40} {baseline.line()}")
        print(f"{'create+submit (mix, retries)':<40} {result.line()}")
        print(
            f"    vs baseline: throughput x{result.throughput / baseline.throughput:.2f}, "
            f"p50 x{result.p50_ms / baseline.p50_ms:.2f}, "
            f"p99 x{result.p99_ms / baseline.p99_ms:.2f}"
        )
        print(
            f"    {len(outcome.acknowledged)} acknowledged, {outcome.replays} retried, "
            f"refused {outcome.refused or 'none'}, transport errors {outcome.transport_errors}"
        )
        checks = await check_database(database.dsn, outcome, expected=total)
    print("Database checks:")
    for check in checks:
        print(check.line())
    return all(check.passed for check in checks)


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

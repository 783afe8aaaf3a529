"""Deadline-day load (現況届 season): 10,000 create-and-submit requests from 64 clients
against 2 uvicorn workers on PostgreSQL, 5% sent again with the same Idempotency-Key,
over a mix of catalog procedures in two municipalities; then the database is checked.

    .venv/bin/python -m bench.load.submissions [--total 10000] [--concurrency 64]

Prints throughput and p50/p99 next to a bare FastAPI + asyncpg baseline (also 2
workers) measured in the same run; exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys

from app.config import Settings
from bench.load.common import (
    as_result,
    baseline_load,
    check_database,
    scratch_database,
    submission_templates,
    submit_load,
    uvicorn_workers,
)

WORKERS = 2


def ratio_line(result_throughput: float, result_p50: float, result_p99: float,
               base_throughput: float, base_p50: float, base_p99: float) -> str:  # fmt: skip
    return (
        f"{'':<4}vs baseline: throughput x{result_throughput / base_throughput:.2f}, "
        f"p50 x{result_p50 / base_p50:.2f}, p99 x{result_p99 / base_p99:.2f}"
    )


async def run(total: int, concurrency: int, retry_share: float) -> bool:
    async with scratch_database() as database:
        env = {"DATABASE_URL": database.url, "LOG_LEVEL": "WARNING"}
        templates = submission_templates(Settings(database_url=database.url))
        print(
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs; {WORKERS} uvicorn "
            f"workers per app; {total} submissions, {concurrency} clients, "
            f"{retry_share:.0%} retried with the same key, {len(templates)} request templates"
        )
        with uvicorn_workers(
            "bench.submit_bench:create_baseline_app",
            env={"BENCH_BASELINE_DSN": database.dsn},
            workers=WORKERS,
        ) as baseline_server:
            await baseline_load(baseline_server.url, 500, 16)  # warm-up
            baseline = await baseline_load(baseline_server.url, total, concurrency)
        with uvicorn_workers("app.main:create_app", env=env, workers=WORKERS) as server:
            outcome = await submit_load(
                server.url,
                templates,
                total=total,
                concurrency=concurrency,
                retry_share=retry_share,
            )
        result = as_result(f"create+submit (mix, retries) c={concurrency}", outcome)
        print(baseline.line())
        print(result.line())
        print(
            ratio_line(
                result.throughput,
                result.percentile(0.5),
                result.percentile(0.99),
                baseline.throughput,
                baseline.percentile(0.5),
                baseline.percentile(0.99),
            )
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

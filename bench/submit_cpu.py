"""CPU per create+submit, in one process, without a server or an HTTP client.

    .venv/bin/python -m bench.submit_cpu [--requests 2000] [--profile out.prof]

The figure to iterate on when the machine is shared: wall-clock throughput moves with
the load average, the process's own CPU time per request much less. One scratch
PostgreSQL database seeded like `make bench-load` (20 municipalities of 長野県, the
catalog's street-light-request); the app from create_app() is called as an ASGI
callable directly, one request after another, with the bodies bench-load sends and a
fresh Idempotency-Key each. Prints the process CPU time (user + system) per request,
which includes asyncpg's protocol work, and, when PostgreSQL runs on this machine, the
CPU time of the app's PostgreSQL backends per request (read from /proc); `--profile`
writes a cProfile of the timed requests for `python -m pstats` or snakeviz.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from app.config import Settings
from app.forms.definition import ProcedureDefinition
from app.main import create_app
from bench.harness import asgi_post, scratch_database, spent
from bench.load.throughput import MUNICIPALITIES, PROCEDURE, _seed
from tests.forms.sample_answers import sample_answers_without_files

WARM_UP = 200


def _backends_cpu(pids: list[int]) -> float | None:
    """User + system CPU seconds of these processes; None when one is not on this machine."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


async def _backend_pids(dsn: str) -> list[int]:
    """The other sessions on the scratch database: the app's pooled connections."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def _create_and_submit(app: Any, path: str, body: bytes) -> None:
    """One create+submit under a fresh Idempotency-Key, as bench-load sends it."""
    status, _ = await asgi_post(
        app,
        path,
        body,
        [
            (b"content-type", b"application/json"),
            (b"idempotency-key", str(uuid.uuid4()).encode()),
        ],
    )
    if status != 201:
        raise RuntimeError(f"create+submit answered {status}")


async def run(requests: int, profile_path: str | None) -> None:
    async with scratch_database("madoguchi_submitcpu") as database:
        raw = await _seed(database)
        definition = ProcedureDefinition.model_validate(raw)
        bodies = [
            json.dumps(
                {"answers": sample_answers_without_files(definition, seed), "submit": True},
                ensure_ascii=False,
            ).encode()
            for seed in range(50)
        ]
        path = f"/api/v1/municipalities/{MUNICIPALITIES[0].code}/procedures/{PROCEDURE}/submissions"
        settings = Settings(database_url=database.url, log_level="WARNING", kpi_fold_seconds=0)
        app = create_app(settings)
        try:
            for index in range(WARM_UP):
                await _create_and_submit(app, path, bodies[index % len(bodies)])
            backends = await _backend_pids(database.dsn)
            database_cpu = _backends_cpu(backends)
            with spent(profile_path) as timed:
                for index in range(requests):
                    await _create_and_submit(app, path, bodies[index % len(bodies)])
            database_after = _backends_cpu(backends)
            if database_cpu is not None and database_after is not None:
                database_cpu = database_after - database_cpu
            else:
                database_cpu = None
        finally:
            await app.state.engine.dispose()
    print(
        f"{requests} create+submit in one process: {timed.cpu / requests * 1000:.2f} ms CPU"
        f" and {timed.wall / requests * 1000:.2f} ms wall per request"
        + (" (under cProfile)" if profile_path else "")
        + (
            f"; PostgreSQL backends {database_cpu / requests * 1000:.2f} ms CPU per request"
            if database_cpu is not None
            else "; PostgreSQL's CPU not measured (not on this machine)"
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", help="write a cProfile of the timed requests here")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.requests, arguments.profile))


if __name__ == "__main__":
    main()

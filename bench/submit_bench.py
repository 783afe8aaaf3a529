"""Submit throughput and latency on PostgreSQL, next to a bare FastAPI + asyncpg baseline.

    .venv/bin/python -m bench.submit_bench [--requests 2000] [--concurrency 32 64]

Creates its own database, migrates it with Alembic, seeds 東御市 with a small
procedure (300 yen a copy), starts the app and a baseline app under uvicorn on free
loopback ports, and drives both with closed-loop httpx clients in the same run:

- baseline: a bare FastAPI endpoint validating a small pydantic model and inserting one
  row with asyncpg;
- submit: `POST /submissions/{id}/submit` on drafts made beforehand (untimed), with an
  Idempotency-Key: full validation against the pinned version, fee, 受付番号 (one
  municipality, so every submit queues for the same counter row), event, idempotency
  record;
- create+submit: `POST .../submissions` with `"submit": true`, the one-request path.

Prints throughput, p50/p99 and the ratios to the baseline, then drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
from sqlalchemy import text

from app.db import make_engine, make_session_factory
from app.forms.service import load_catalog
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES
from bench.bare_app import CREATE_BASELINE_TABLE, INSERT_PATH
from bench.harness import LoadResult, closed_loop, scratch_database, uvicorn_server
from tests.factories import simple_definition

TOMI = "202193"
PROCEDURE = "bench-certificate"
ANSWERS = {"requester": "self", "copies": 2}

# The small 300-yen-a-copy procedure the tests use, paid on submit.
DEFINITION = simple_definition(PROCEDURE)


# --- Setup ------------------------------------------------------------------------------


async def _seed(database_url: str, dsn: str) -> str:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            for municipality in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, municipality)
            await load_catalog(session, TOMI, [DEFINITION], now=datetime.now(UTC))
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()
    # The baseline's own scratch table, outside the app's schema.
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(CREATE_BASELINE_TABLE)
    finally:
        await connection.close()
    return str(version)


# --- Load -------------------------------------------------------------------------------


def _created(response: httpx.Response) -> bool:
    return response.status_code == 201


async def _baseline(url: str, total: int, concurrency: int) -> LoadResult:
    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.post(INSERT_PATH, json={"answers": ANSWERS, "submit": True})

    return await closed_loop(
        f"baseline (pydantic + asyncpg INSERT) c={concurrency}",
        send,
        base_url=url,
        total=total,
        concurrency=concurrency,
        ok=_created,
    )


async def _drafts(url: str, count: int) -> list[tuple[str, str]]:
    """Drafts to submit, made beforehand through the API (not timed)."""
    drafts: list[tuple[str, str]] = []

    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        response = await client.post(_create_path(), json={"answers": ANSWERS})
        body = response.json()
        if response.status_code != 201:
            raise RuntimeError(f"draft refused: {body}")
        drafts.append((body["id"], body["access_token"]))
        return response

    result = await closed_loop(
        "drafts", send, base_url=url, total=count, concurrency=32, ok=_created
    )
    if result.errors:
        raise RuntimeError(f"{result.errors} drafts could not be created")
    return drafts


async def _submit(url: str, total: int, concurrency: int) -> LoadResult:
    drafts = await _drafts(url, total)

    async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
        submission_id, token = drafts[index]
        return await client.post(
            f"/api/v1/submissions/{submission_id}/submit",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())},
        )

    return await closed_loop(
        f"submit (POST /submissions/{{id}}/submit) c={concurrency}",
        send,
        base_url=url,
        total=total,
        concurrency=concurrency,
        ok=lambda response: response.status_code == 200,
    )


async def _create_and_submit(url: str, total: int, concurrency: int) -> LoadResult:
    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.post(
            _create_path(),
            json={"answers": ANSWERS, "submit": True},
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )

    return await closed_loop(
        f"create+submit (one request) c={concurrency}",
        send,
        base_url=url,
        total=total,
        concurrency=concurrency,
        ok=_created,
    )


def _create_path() -> str:
    return f"/api/v1/municipalities/{TOMI}/procedures/{PROCEDURE}/submissions"


def _ratio(result: LoadResult, baseline: LoadResult) -> str:
    return (
        f"{'':<4}vs baseline: throughput x{result.throughput / baseline.throughput:.2f}, "
        f"p50 x{result.percentile(0.5) / baseline.percentile(0.5):.2f}, "
        f"p99 x{result.percentile(0.99) / baseline.percentile(0.99):.2f}"
    )


async def _gap_free(dsn: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        numbers = await connection.fetch(
            "SELECT reference_number FROM submissions WHERE reference_number IS NOT NULL"
        )
        counter = await connection.fetchval("SELECT max(last_value) FROM reference_counters")
    finally:
        await connection.close()
    sequences = sorted(int(row["reference_number"].rsplit("-", 1)[1]) for row in numbers)
    gap_free = sequences == list(range(1, len(sequences) + 1)) and counter == len(sequences)
    return f"{len(sequences)} reference numbers issued, gap-free: {gap_free}"


async def run(total: int, concurrencies: list[int]) -> None:
    async with scratch_database("madoguchi_bench") as database:
        database_url, dsn = database.url, database.dsn
        server_version = await _seed(database_url, dsn)
        print(
            f"PostgreSQL {server_version}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs; {total} requests per run, one uvicorn worker per app"
        )
        app_env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
        with (
            uvicorn_server("app.main:create_app", env=app_env, factory=True) as app_url,
            uvicorn_server(
                "bench.bare_app:create_insert_app",
                env={"BENCH_BASELINE_DSN": dsn},
                factory=True,
            ) as baseline_url,
        ):
            # Warm-up: connection pools, the compiled-form cache, the counter row.
            await _baseline(baseline_url, 200, 16)
            await _create_and_submit(app_url, 200, 16)
            figures: dict[str, object] = {}
            for concurrency in concurrencies:
                baseline = await _baseline(baseline_url, total, concurrency)
                submit = await _submit(app_url, total, concurrency)
                both = await _create_and_submit(app_url, total, concurrency)
                print(baseline.line())
                print(submit.line())
                print(_ratio(submit, baseline))
                print(both.line())
                print(_ratio(both, baseline))
                figures[str(concurrency)] = {
                    result.label: {
                        "throughput": round(result.throughput, 1),
                        "p50_ms": round(result.percentile(0.5), 2),
                        "p99_ms": round(result.percentile(0.99), 2),
                        "errors": result.errors,
                    }
                    for result in (baseline, submit, both)
                }
            print(await _gap_free(dsn))
            print(json.dumps(figures, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[32, 64])
    arguments = parser.parse_args()
    asyncio.run(run(arguments.requests, arguments.concurrency))


if __name__ == "__main__":
    main()

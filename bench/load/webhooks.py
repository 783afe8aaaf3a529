"""Webhooks that pay an application, under wrk, next to a bare verify + insert endpoint
started side by side on the same server stack.

    .venv/bin/python -m bench.load.webhooks [--seconds 10] [--repeat 3] [--workers 2]
        [--connections 32] [--events 30000] [--json figures.json]

One scratch PostgreSQL database, migrated with Alembic; 東御市 gets `--events`
applications awaiting payment, each with an open Stripe payment of 300 yen. Every event
is a signed `checkout.session.completed` (paid) naming one of those payments, so each
one the app handles inserts into the inbox, checks amount, currency and session against
the payment, moves it to succeeded and the application to `paid` (status event and
listeners), and marks the event handled. Two servers run side by side, each with
`--workers` processes on the production stack (`python -m bench.serve`: uvloop +
httptools):

- baseline: bench.bare_app:create_webhook_app, which verifies the Stripe-Signature with
  the SDK, parses the JSON and inserts one row (event id, payload) with asyncpg;
- app: madoguchi, `POST /api/v1/payments/stripe/webhook`.

wrk (bench/load/lua/webhooks.lua) sends the same signed deliveries to both, baseline and
app runs alternating, `--repeat` rounds of `--seconds`; each app round gets events of
its own, so every delivery the app sees is new. The medians are printed next to each
other with the ratio and the machine's load average; afterwards the database says how
many events were applied and applications paid. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from bench.bare_app import CREATE_WEBHOOK_TABLE, WEBHOOK_PATH
from bench.harness import scratch_database
from bench.load.common import load_average, median_figures, uvicorn_workers
from bench.load.wrk import WrkFigures, run_wrk
from bench.payments_bench import AMOUNT, TOMI, payment_id, seed_applications, seed_catalog
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, signed_delivery

NAMESPACE = uuid.UUID("0b4f51d5-3f0e-4f61-8a53-4a6c1e7f0c02")
APP_PATH = "/api/v1/payments/stripe/webhook"


def completed_event(index: int) -> dict[str, Any]:
    """Stripe's `checkout.session.completed` for the `index`th seeded payment, paid."""
    return {
        "id": f"evt_bench_{index}",
        "object": "event",
        "api_version": "2025-01-27.acacia",
        "type": "checkout.session.completed",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "data": {
            "object": {
                "id": f"cs_bench_{NAMESPACE.hex[:6]}_{index}",
                "object": "checkout.session",
                "mode": "payment",
                "status": "complete",
                "payment_status": "paid",
                "amount_subtotal": AMOUNT,
                "amount_total": AMOUNT,
                "currency": "jpy",
                "client_reference_id": str(payment_id(NAMESPACE, index)),
                "payment_intent": f"pi_bench_{index}",
                "metadata": {
                    "payment_id": str(payment_id(NAMESPACE, index)),
                    "municipality_code": TOMI,
                },
            }
        },
    }


def _write_deliveries(path: Path, url_path: str, indexes: range) -> None:
    """Signed now: Stripe's tolerance is 5 minutes, so they are written just before use."""
    with path.open("w", encoding="utf-8") as out:
        for index in indexes:
            payload, headers = signed_delivery(completed_event(index))
            out.write(f"{url_path}\t{headers['Stripe-Signature']}\t{payload.decode()}\n")


async def _wrk(url: str, requests: Path, connections: int, seconds: float) -> WrkFigures:
    threads = min(2, connections)
    return await run_wrk(
        url,
        "webhooks.lua",
        connections=connections,
        threads=threads,
        seconds=seconds,
        env={"WRK_REQUESTS": str(requests), "WRK_THREADS": str(threads)},
    )


async def _outcomes(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT coalesce(outcome, 'unhandled') AS outcome, count(*) AS n "
            "FROM provider_events GROUP BY 1"
        )
        paid = await connection.fetchval(
            "SELECT count(*) FROM submissions WHERE status = 'paid' AND municipality_code = $1",
            TOMI,
        )
    finally:
        await connection.close()
    return {**{row["outcome"]: row["n"] for row in rows}, "applications_paid": paid}


async def run(arguments: argparse.Namespace) -> dict[str, Any]:
    load_averages: list[tuple[float, float, float]] = [os.getloadavg()]
    per_round = arguments.events // arguments.repeat
    baseline_runs: list[WrkFigures] = []
    app_runs: list[WrkFigures] = []
    async with scratch_database("madoguchi_bench_webhooks") as database:
        await seed_catalog(database.url)
        await seed_applications(
            database.url, NAMESPACE, arguments.events, status="created", first_number=1
        )
        connection = await asyncpg.connect(database.dsn)
        try:
            await connection.execute(CREATE_WEBHOOK_TABLE)
        finally:
            await connection.close()
        env = {
            "DATABASE_URL": database.url,
            "BENCH_BASELINE_DSN": database.dsn,
            "PAYMENT_PROVIDER": "stripe",
            "STRIPE_API_KEY": API_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        with (
            tempfile.TemporaryDirectory(prefix="madoguchi-bench-webhooks-") as directory,
            uvicorn_workers(
                "bench.bare_app:create_webhook_app", env=env, workers=arguments.workers
            ) as baseline,
            uvicorn_workers("app.main:create_app", env=env, workers=arguments.workers) as app,
        ):
            print(
                f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
                f"{arguments.workers} workers per server, {arguments.connections} connections, "
                f"{arguments.seconds:.0f} s per run, {arguments.repeat} rounds, "
                f"{per_round} events per app round; load average {load_average()}"
            )
            files = Path(directory)
            # Warm-up on the baseline with the events the app never gets (past the seeded
            # ones, so the app's inbox stays clean), and on the app with a few of its own
            # that no round sends again.
            warm = files / "warm.tsv"
            _write_deliveries(warm, WEBHOOK_PATH, range(arguments.events, arguments.events + 2000))
            await _wrk(baseline.url, warm, arguments.connections, 3)
            for round_number in range(arguments.repeat):
                indexes = range(round_number * per_round, (round_number + 1) * per_round)
                base_file, app_file = files / "baseline.tsv", files / "app.tsv"
                _write_deliveries(base_file, WEBHOOK_PATH, indexes)
                _write_deliveries(app_file, APP_PATH, indexes)
                base = await _wrk(baseline.url, base_file, arguments.connections, arguments.seconds)
                ours = await _wrk(app.url, app_file, arguments.connections, arguments.seconds)
                baseline_runs.append(base)
                app_runs.append(ours)
                print(f"  round {round_number + 1} baseline {base.line()}")
                print(f"  round {round_number + 1} app      {ours.line()}")
                if ours.requests > per_round:
                    print(f"  (the app got {ours.requests} requests: some events twice)")
                load_averages.append(os.getloadavg())
                print(f"  load average after round {round_number + 1}: {load_average()}")
        outcomes = await _outcomes(database.dsn)

    base_median, app_median = median_figures(baseline_runs), median_figures(app_runs)
    ratio = app_median["req_s"] / base_median["req_s"] if base_median["req_s"] else 0.0
    print()
    print(
        f"Medians of {arguments.repeat} rounds, c={arguments.connections} "
        "(checkout.session.completed, paid; ratio = app / baseline req/s)"
    )
    print(
        f"  baseline (verify + INSERT)  {base_median['req_s']:8.1f} req/s"
        f"  p50 {base_median['p50_ms']:7.1f} ms"
        f"  p99 {base_median['p99_ms']:7.1f} ms  non-2xx {base_median['non_2xx']:.0f}"
    )
    print(
        f"  app (pays an application)   {app_median['req_s']:8.1f} req/s"
        f"  p50 {app_median['p50_ms']:7.1f} ms"
        f"  p99 {app_median['p99_ms']:7.1f} ms  non-2xx {app_median['non_2xx']:.0f}"
        f"  socket errors {app_median['socket_errors']:.0f}"
    )
    print(f"  ratio {ratio:.1%}")
    print(f"  inbox outcomes and applications paid: {outcomes}")
    print(f"load average (1/5/15 min) at start and after each round: {load_averages}")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpus": os.cpu_count(),
        "workers": arguments.workers,
        "connections": arguments.connections,
        "seconds": arguments.seconds,
        "rounds": arguments.repeat,
        "load_averages": load_averages,
        "baseline": base_median,
        "app": app_median,
        "ratio": round(ratio, 4),
        "outcomes": outcomes,
        "runs": {
            "baseline": [r.as_dict() for r in baseline_runs],
            "app": [r.as_dict() for r in app_runs],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--json", type=Path, help="also write every figure here")
    arguments = parser.parse_args()
    result = asyncio.run(run(arguments))
    if arguments.json is not None:
        arguments.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()

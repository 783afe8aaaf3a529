"""Payments on PostgreSQL: reconciliation of a 100,000-transaction payout (time and peak
memory) and webhook events handled per second, each next to a bare baseline.

    .venv/bin/python -m bench.payments_bench [--transactions 100000] [--events 2000]
                                             [--concurrency 32]

Creates its own database (`BENCH_DATABASE_URL`, an account that may create databases),
migrates it with Alembic, seeds 東御市 with paid applications, and drops it at the end.
The fake Stripe server (tests/fakes) runs in a process of its own, so the figures
measure our side: the official SDK paging over real HTTP, matching, storing.

- reconciliation: `run_reconciliation` for one payout of N charges, each one of our
  payments (all match). Baseline: the same SDK paging over the same payout doing
  nothing with the transactions. Peak memory is this process's RSS high-water mark
  during the run (reset before it via /proc/self/clear_refs), next to RSS before.
- webhooks: signed `checkout.session.completed` events (each pays a different
  application: inbox insert, payment and application updated, status event) POSTed
  to the app under uvicorn by a closed loop of clients; then the same events again
  (duplicates). Baseline: a bare endpoint that verifies the signature with the SDK
  and inserts the event id into a table (asyncpg, ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import stripe
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import insert, select, text

from app.audit.service import AuditActor
from app.config import Settings
from app.db import make_engine, make_session_factory, utcnow
from app.forms.models import Procedure, ProcedureVersion
from app.forms.service import load_catalog
from app.municipalities.service import upsert_municipality
from app.payments.models import Payment
from app.payments.providers.stripe_checkout import StripeCheckout
from app.payments.providers.stripe_ledger import StripeLedger
from app.payments.reconciliation import service as reconciliation
from app.seed import SAMPLE_MUNICIPALITIES
from app.submissions.models import Submission
from bench.harness import LoadResult, closed_loop, scratch_database, uvicorn_server
from tests.factories import simple_definition
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, serve, signed_delivery

TOMI = "202193"
PROCEDURE = "bench-certificate"
AMOUNT = 300
BATCH = 5000
RECONCILE_NAMESPACE = uuid.UUID("6d2b3f3e-6a8b-4c47-9a53-0d0c2b0d7a01")
WEBHOOK_NAMESPACE = uuid.UUID("0b4f51d5-3f0e-4f61-8a53-4a6c1e7f0c02")
BASELINE_TABLE = "bench_webhook_inbox"


def payment_id(namespace: uuid.UUID, index: int) -> uuid.UUID:
    """The same id in this process and in the fake's, without sending 100,000 of them."""
    return uuid.uuid5(namespace, str(index))


# --- The fake Stripe server, in a process of its own ---------------------------------------


def _fake_stripe_process(count: int, ready: Any, stop: Any) -> None:
    fake = FakeStripe()
    payout_id = fake.bulk_load(
        count,
        amount=AMOUNT,
        metadata=lambda index: {
            "payment_id": str(payment_id(RECONCILE_NAMESPACE, index)),
            "municipality_code": TOMI,
        },
    )
    with serve(fake):
        ready.put((fake.base_url, payout_id))
        stop.wait()


# --- The webhook baseline ----------------------------------------------------------------


def create_baseline_app() -> FastAPI:
    """uvicorn factory: verify the Stripe-Signature, insert the event id, answer 200."""
    dsn = os.environ["BENCH_BASELINE_DSN"]
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=10, max_size=30)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/webhook")
    async def webhook(request: Request) -> JSONResponse:
        payload = await request.body()
        event = stripe.Webhook.construct_event(
            payload, request.headers.get("stripe-signature"), WEBHOOK_SECRET
        )
        await state["pool"].execute(
            f"INSERT INTO {BASELINE_TABLE} (event_id) VALUES ($1) ON CONFLICT DO NOTHING",
            event.id,
        )
        return JSONResponse({"received": True})

    return app


# --- Setup -------------------------------------------------------------------------------


async def _seed_applications(
    database_url: str, namespace: uuid.UUID, count: int, *, status: str, first_number: int
) -> None:
    """`count` applications awaiting payment (or paid), each with one payment of 300 yen:
    bulk inserts, since building them through the API is not what is measured."""
    engine = make_engine(database_url)
    now = utcnow()
    try:
        async with make_session_factory(engine)() as session, session.begin():
            procedure, version = (
                await session.execute(
                    select(Procedure.id, ProcedureVersion.id)
                    .join(ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id)
                    .where(Procedure.code == PROCEDURE, Procedure.municipality_code == TOMI)
                )
            ).one()
            paid = status == "succeeded"
            for start in range(0, count, BATCH):
                indexes = range(start, min(start + BATCH, count))
                submissions = [
                    {
                        "id": uuid.uuid5(namespace, f"submission-{index}"),
                        "municipality_code": TOMI,
                        "procedure_id": procedure,
                        "procedure_version_id": version,
                        "procedure_code": PROCEDURE,
                        "version": 1,
                        "channel": "online",
                        "status": "paid" if paid else "awaiting_payment",
                        "answers": {"copies": 1, "requester": "self"},
                        "fee_total": AMOUNT,
                        "fee_breakdown": {"total": AMOUNT, "currency": "JPY", "items": []},
                        "reference_number": f"TOMI-R8-{first_number + index:07d}",
                        "fiscal_year": 2026,
                        "row_version": 1,
                        "created_at": now,
                        "updated_at": now,
                        "submitted_at": now,
                    }
                    for index in indexes
                ]
                payments = [
                    {
                        "id": payment_id(namespace, index),
                        "submission_id": row["id"],
                        "municipality_code": TOMI,
                        "reference_number": row["reference_number"],
                        "provider": "stripe",
                        "provider_checkout_id": f"cs_bench_{namespace.hex[:6]}_{index}",
                        "amount": AMOUNT,
                        "currency": "JPY",
                        "fee_breakdown": row["fee_breakdown"],
                        "payment_method_types": ["card"],
                        "status": status,
                        "refunded_amount": 0,
                        "expires_at": now + timedelta(hours=1),
                        "created_at": now,
                        "updated_at": now,
                        "paid_at": now - timedelta(days=1) if paid else None,
                        "row_version": 1,
                    }
                    for index, row in zip(indexes, submissions, strict=True)
                ]
                await session.execute(insert(Submission), submissions)
                await session.execute(insert(Payment), payments)
    finally:
        await engine.dispose()


async def _seed(database_url: str, dsn: str) -> str:
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            for municipality in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, municipality)
            await load_catalog(session, TOMI, [simple_definition(PROCEDURE)], now=datetime.now(UTC))
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"CREATE TABLE {BASELINE_TABLE} (event_id text PRIMARY KEY)")
    finally:
        await connection.close()
    return str(version)


# --- Reconciliation -----------------------------------------------------------------------


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def _reset_peak_rss() -> None:
    # Linux: writing 5 resets VmHWM to the current RSS.
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


async def _reconciliation(database_url: str, count: int) -> dict[str, Any]:
    await _seed_applications(
        database_url, RECONCILE_NAMESPACE, count, status="succeeded", first_number=1
    )
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=_fake_stripe_process, args=(count, ready, stop), daemon=True)
    server.start()
    try:
        base_url, payout_id = ready.get(timeout=600)
        settings = Settings(
            environment="test",
            database_url=database_url,
            payment_provider="stripe",
            stripe_api_key=API_KEY,  # type: ignore[arg-type]
            stripe_webhook_secret=WEBHOOK_SECRET,  # type: ignore[arg-type]
            stripe_api_base=base_url,
        )
        provider = StripeCheckout(settings)
        ledger = StripeLedger(provider.client)

        started = time.perf_counter()
        paged = 0
        async for _ in ledger.transactions(payout_id=payout_id):
            paged += 1
        baseline_seconds = time.perf_counter() - started

        engine = make_engine(database_url)
        rss_before = _rss_kib("VmRSS")
        _reset_peak_rss()
        started = time.perf_counter()
        async with make_session_factory(engine)() as session, session.begin():
            run = await reconciliation.run_reconciliation(
                session,
                ledger,
                AuditActor("system", "bench"),
                TOMI,
                reconciliation.RunScope(payout_id=payout_id),
                unpaid_after_days=7,
                now=utcnow(),
            )
        seconds = time.perf_counter() - started
        peak = _rss_kib("VmHWM")

        started = time.perf_counter()
        async with make_session_factory(engine)() as session:
            csv_bytes = await reconciliation.report_csv(session, run)
        csv_seconds = time.perf_counter() - started
        await engine.dispose()
        await provider.aclose()
    finally:
        stop.set()
        server.join(timeout=30)
    return {
        "transactions_paged": paged,
        "baseline_sdk_paging_s": round(baseline_seconds, 2),
        "reconcile_s": round(seconds, 2),
        "reconcile_tx_per_s": round(run.transaction_count / seconds, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_rss_during_run_mib": round(peak / 1024, 1),
        "counts": run.counts,
        "totals": run.totals,
        "csv_s": round(csv_seconds, 2),
        "csv_mib": round(len(csv_bytes) / 1024 / 1024, 1),
    }


# --- Webhooks -----------------------------------------------------------------------------


def _completed_events(count: int) -> list[tuple[bytes, dict[str, str]]]:
    deliveries = []
    for index in range(count):
        pid = payment_id(WEBHOOK_NAMESPACE, index)
        event = {
            "id": f"evt_bench_{index}",
            "object": "event",
            "type": "checkout.session.completed",
            "created": int(time.time()),
            "livemode": False,
            "data": {
                "object": {
                    "id": f"cs_bench_{WEBHOOK_NAMESPACE.hex[:6]}_{index}",
                    "object": "checkout.session",
                    "status": "complete",
                    "payment_status": "paid",
                    "amount_total": AMOUNT,
                    "currency": "jpy",
                    "payment_intent": f"pi_bench_{index}",
                    "metadata": {"payment_id": str(pid), "municipality_code": TOMI},
                }
            },
        }
        deliveries.append(signed_delivery(event))
    return deliveries


async def _webhooks(database_url: str, dsn: str, count: int, concurrency: int) -> list[LoadResult]:
    await _seed_applications(
        database_url, WEBHOOK_NAMESPACE, count, status="created", first_number=5_000_000
    )
    deliveries = _completed_events(count)
    app_env = {
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "PAYMENT_PROVIDER": "stripe",
        "STRIPE_API_KEY": API_KEY,
        "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }

    def sender(path: str) -> Any:
        async def send(client: httpx.AsyncClient, index: int) -> httpx.Response:
            payload, headers = deliveries[index]
            return await client.post(path, content=payload, headers=headers)

        return send

    results = []
    with (
        uvicorn_server("app.main:create_app", env=app_env, factory=True) as app_url,
        uvicorn_server(
            "bench.payments_bench:create_baseline_app",
            env={"BENCH_BASELINE_DSN": dsn},
            factory=True,
        ) as baseline_url,
    ):
        # Warm-up on the baseline only: every app event may be delivered once.
        await closed_loop(
            "warm-up",
            sender("/webhook"),
            base_url=baseline_url,
            total=min(200, count),
            concurrency=8,
        )
        results.append(
            await closed_loop(
                f"baseline (verify + INSERT) c={concurrency}",
                sender("/webhook"),
                base_url=baseline_url,
                total=count,
                concurrency=concurrency,
            )
        )
        results.append(
            await closed_loop(
                f"webhook: pays an application c={concurrency}",
                sender("/api/v1/payments/stripe/webhook"),
                base_url=app_url,
                total=count,
                concurrency=concurrency,
                ok=lambda r: r.status_code == 200 and r.json()["outcome"] == "applied",
            )
        )
        results.append(
            await closed_loop(
                f"webhook: duplicate delivery c={concurrency}",
                sender("/api/v1/payments/stripe/webhook"),
                base_url=app_url,
                total=count,
                concurrency=concurrency,
                ok=lambda r: r.status_code == 200 and r.json()["outcome"] == "duplicate",
            )
        )
    return results


async def _paid_count(dsn: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM submissions WHERE status = 'paid' "
                "AND reference_number >= 'TOMI-R8-5000000'"
            )
        )
    finally:
        await connection.close()


async def run(transactions: int, events: int, concurrency: int) -> None:
    async with scratch_database("madoguchi_bench") as database:
        database_url, dsn = database.url, database.dsn
        server_version = await _seed(database_url, dsn)
        print(
            f"PostgreSQL {server_version}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs"
        )
        figures: dict[str, Any] = {}

        print(f"\nreconciliation of one payout of {transactions} balance transactions")
        recon = await _reconciliation(database_url, transactions)
        figures["reconciliation"] = recon
        print(
            f"  baseline: SDK auto-paging only        {recon['baseline_sdk_paging_s']:8.2f} s"
            f"  ({recon['transactions_paged']} transactions)"
        )
        print(
            f"  reconcile (page, match, store, report) {recon['reconcile_s']:8.2f} s"
            f"  {recon['reconcile_tx_per_s']:.0f} tx/s"
            f"  (x{recon['reconcile_s'] / recon['baseline_sdk_paging_s']:.2f} of baseline)"
        )
        print(
            f"  memory: RSS before {recon['rss_before_mib']} MiB,"
            f" peak during run {recon['peak_rss_during_run_mib']} MiB"
        )
        print(f"  counts {recon['counts']}  totals {recon['totals']}")
        print(f"  CSV of the run: {recon['csv_mib']} MiB in {recon['csv_s']} s")

        print(f"\nwebhook events, {events} per run")
        results = await _webhooks(database_url, dsn, events, concurrency)
        for result in results:
            print("  " + result.line())
        baseline = results[0]
        for result in results[1:]:
            print(f"    vs baseline: throughput x{result.throughput / baseline.throughput:.2f}")
        print(f"  applications paid by the events: {await _paid_count(dsn)} of {events}")
        figures["webhooks"] = [
            {
                "label": r.label,
                "events_per_s": round(r.throughput, 1),
                "p50_ms": round(r.percentile(0.5), 2),
                "p99_ms": round(r.percentile(0.99), 2),
                "errors": r.errors,
            }
            for r in results
        ]
        print("\n" + json.dumps(figures, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.payments_bench")
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(run(args.transactions, args.events, args.concurrency))


if __name__ == "__main__":
    main()

"""Reconciliation on PostgreSQL: one payout of 100,000 balance transactions (time and
peak memory), next to paging the same payout and doing nothing with it.

    .venv/bin/python -m bench.payments_bench [--transactions 100000]

Prints wall time and this process's CPU for both. Creates its own database
(`BENCH_DATABASE_URL`, an account that may create databases), migrates it with Alembic,
seeds 東御市 with paid applications, and drops it at the end. The fake Stripe server
(tests/fakes) runs in a process of its own, so the figures measure our side: the
official SDK's raw requests paging over real HTTP, matching, storing.

`run_reconciliation` for one payout of N charges, each one of our payments (all match).
Baseline: the ledger paging over the same payout doing nothing with the transactions.
Peak memory is this process's RSS high-water mark during the run (reset before it via
/proc/self/clear_refs), next to RSS before.

Webhooks are measured under wrk next to a bare endpoint: `python -m bench.load.webhooks`.
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
from datetime import UTC, datetime, timedelta
from typing import Any

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
from bench.harness import scratch_database
from tests.factories import simple_definition
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, serve

TOMI = "202193"
PROCEDURE = "bench-certificate"
AMOUNT = 300
BATCH = 5000
RECONCILE_NAMESPACE = uuid.UUID("6d2b3f3e-6a8b-4c47-9a53-0d0c2b0d7a01")


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


# --- Setup -------------------------------------------------------------------------------


async def seed_applications(
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


async def seed_catalog(database_url: str) -> str:
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
    await seed_applications(
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
            stripe_api_key=API_KEY,
            stripe_webhook_secret=WEBHOOK_SECRET,
            stripe_api_base=base_url,
        )
        provider = StripeCheckout(settings)
        ledger = StripeLedger(provider.client)

        started, cpu = time.perf_counter(), time.process_time()
        paged = 0
        async for _ in ledger.transactions(payout_id=payout_id):
            paged += 1
        baseline_seconds = time.perf_counter() - started
        baseline_cpu = time.process_time() - cpu

        engine = make_engine(database_url)
        rss_before = _rss_kib("VmRSS")
        _reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
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
        reconcile_cpu = time.process_time() - cpu
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
        "baseline_paging_s": round(baseline_seconds, 2),
        "baseline_paging_cpu_s": round(baseline_cpu, 2),
        "reconcile_s": round(seconds, 2),
        "reconcile_cpu_s": round(reconcile_cpu, 2),
        "reconcile_tx_per_s": round(run.transaction_count / seconds, 1),
        "rss_before_mib": round(rss_before / 1024, 1),
        "peak_rss_during_run_mib": round(peak / 1024, 1),
        "counts": run.counts,
        "totals": run.totals,
        "csv_s": round(csv_seconds, 2),
        "csv_mib": round(len(csv_bytes) / 1024 / 1024, 1),
    }


async def run(transactions: int) -> None:
    async with scratch_database("madoguchi_bench") as database:
        server_version = await seed_catalog(database.url)
        print(
            f"PostgreSQL {server_version}, Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs; load average {_load()}"
        )
        print(f"\nreconciliation of one payout of {transactions} balance transactions")
        recon = await _reconciliation(database.url, transactions)
        print(
            f"  baseline: paging the ledger only        {recon['baseline_paging_s']:8.2f} s"
            f"  ({recon['transactions_paged']} transactions)"
        )
        print(
            f"  reconcile (page, match, store, report) {recon['reconcile_s']:8.2f} s"
            f"  {recon['reconcile_tx_per_s']:.0f} tx/s"
            f"  (x{recon['reconcile_s'] / recon['baseline_paging_s']:.2f} of baseline)"
        )
        print(
            f"  CPU of this process (the fake Stripe server runs in another): paging"
            f" {recon['baseline_paging_cpu_s']:.2f} s, reconcile {recon['reconcile_cpu_s']:.2f} s"
        )
        print(
            f"  memory: RSS before {recon['rss_before_mib']} MiB,"
            f" peak during run {recon['peak_rss_during_run_mib']} MiB"
        )
        print(f"  counts {recon['counts']}  totals {recon['totals']}")
        print(f"  CSV of the run: {recon['csv_mib']} MiB in {recon['csv_s']} s")
        print(f"  load average after: {_load()}")
        print("\n" + json.dumps({"reconciliation": recon}, ensure_ascii=False))


def _load() -> str:
    return "/".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.payments_bench")
    parser.add_argument("--transactions", type=int, default=100_000)
    args = parser.parse_args()
    asyncio.run(run(args.transactions))


if __name__ == "__main__":
    main()

"""Webhook storm: every Stripe event of a few hundred payments delivered 3 times,
shuffled, by wrk over 32 connections, to 2 workers on the production server stack and
PostgreSQL. Then: each payment is in the state its events imply, the inbox holds each
event once, and no application is fulfilled (moved to paid) twice.

    .venv/bin/python -m bench.load.webhook_storm [--payments 300] [--concurrency 32]

The payments go through the real Stripe SDK against the fake Stripe server of the test
suite (tests/fakes), which also signs the deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from app.db import make_engine, make_session_factory
from app.forms.service import load_catalog
from bench.harness import Database
from bench.load.common import TOMI, Check, scratch_database, uvicorn_workers
from bench.load.wrk import run_to_completion
from tests.factories import simple_definition
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, serve, signed_delivery

WORKERS = 2
DELIVERIES_PER_EVENT = 3
WEBHOOK = "/api/v1/payments/stripe/webhook"
PROCEDURE = "test-certificate"


@dataclass(frozen=True)
class Scenario:
    """What happens to one payment at Stripe, and the state it must end in."""

    name: str
    payment_status: str
    submission_status: str
    refunded: int


CARD = Scenario("card", "succeeded", "paid", 0)
KONBINI = Scenario("konbini paid, refund, dispute", "disputed", "paid", 200)
EXPIRED = Scenario("expired", "expired", "awaiting_payment", 0)


async def _publish_fee_procedure(database: Database) -> None:
    engine = make_engine(database.url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await load_catalog(session, TOMI, [simple_definition(PROCEDURE)], now=datetime.now(UTC))
    finally:
        await engine.dispose()


async def _payments(
    base_url: str, dsn: str, fake: FakeStripe, count: int
) -> tuple[dict[str, Scenario], dict[str, str], list[dict[str, Any]]]:
    """Applications submitted and paid (or not) at the fake Stripe: the scenario per
    payment, the application per payment, and every event, undelivered."""
    scenarios: dict[str, Scenario] = {}
    applications: dict[str, str] = {}
    events: list[dict[str, Any]] = []
    rnd = random.Random(20260401)
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        for _ in range(count):
            created = await client.post(
                f"/api/v1/municipalities/{TOMI}/procedures/{PROCEDURE}/submissions",
                json={"answers": {"copies": 2, "requester": "self"}, "submit": True},
            )
            created.raise_for_status()
            application = created.json()
            started = await client.post(
                f"/api/v1/submissions/{application['id']}/payment",
                headers={"Authorization": f"Bearer {application['access_token']}"},
            )
            started.raise_for_status()
            payment_id = started.json()["payment_id"]
            checkout_id = await _checkout_of(dsn, payment_id)
            scenario = rnd.choices([CARD, KONBINI, EXPIRED], weights=[6, 2, 2])[0]
            if scenario is CARD:
                events += fake.complete_card(checkout_id)
            elif scenario is KONBINI:
                events += fake.complete_konbini(checkout_id) + fake.konbini_paid(checkout_id)
                charge_id = fake.charge_of(checkout_id)["id"]
                events += fake.refund_in_dashboard(charge_id, 200)
                events += fake.dispute(charge_id)
            else:
                events += fake.expire(checkout_id)
            scenarios[payment_id] = scenario
            applications[payment_id] = application["id"]
    return scenarios, applications, events


async def _checkout_of(dsn: str, payment_id: str) -> str:
    connection = await asyncpg.connect(dsn)
    try:
        checkout_id = await connection.fetchval(
            "SELECT provider_checkout_id FROM payments WHERE id = $1", uuid.UUID(payment_id)
        )
    finally:
        await connection.close()
    return str(checkout_id)


async def _storm(
    base_url: str, events: list[dict[str, Any]], concurrency: int
) -> tuple[Counter[int], Counter[str], float]:
    """Every event delivered DELIVERIES_PER_EVENT times, shuffled, by wrk
    (bench/load/lua/deliveries.lua, one connection per thread), each delivery retried
    until it gets a 2xx, as Stripe does."""
    deliveries = [event for event in events for _ in range(DELIVERIES_PER_EVENT)]
    random.Random(7).shuffle(deliveries)
    lines = []
    for event in deliveries:
        payload, headers = signed_delivery(event, WEBHOOK_SECRET)
        lines.append(f"{WEBHOOK}\t{headers['Stripe-Signature']}\t{payload.decode()}")
    started = time.perf_counter()
    _, answers = await run_to_completion(
        base_url, "deliveries.lua", request_lines=lines, connections=concurrency, env={}
    )
    seconds = time.perf_counter() - started
    statuses: Counter[int] = Counter()
    outcomes: Counter[str] = Counter()
    for answer in answers:
        status, body = answer.split("\t", 1)
        statuses[int(status)] += 1
        if 200 <= int(status) < 300:
            outcomes[str(json.loads(body).get("outcome"))] += 1
    return statuses, outcomes, seconds


async def _checks(
    dsn: str,
    scenarios: dict[str, Scenario],
    applications: dict[str, str],
    events: list[dict[str, Any]],
) -> list[Check]:
    connection = await asyncpg.connect(dsn)
    try:
        payments = {
            str(row["id"]): row
            for row in await connection.fetch("SELECT id, status, refunded_amount FROM payments")
        }
        submissions = {
            str(row["id"]): row["status"]
            for row in await connection.fetch("SELECT id, status FROM submissions")
        }
        paid_events = Counter(
            str(row["submission_id"])
            for row in await connection.fetch(
                "SELECT submission_id FROM submission_events WHERE to_status = 'paid'"
            )
        )
        inbox = await connection.fetch("SELECT event_id, handled_at FROM provider_events")
    finally:
        await connection.close()

    wrong = []
    for payment_id, scenario in scenarios.items():
        payment = payments[payment_id]
        submission_status = submissions[applications[payment_id]]
        state = (payment["status"], payment["refunded_amount"], submission_status)
        if state != (scenario.payment_status, scenario.refunded, scenario.submission_status):
            wrong.append(f"{scenario.name}: {state}")
    fulfilled_twice = [s for s, n in paid_events.items() if n > 1]
    should_be_paid = {
        applications[p] for p, scenario in scenarios.items() if scenario.submission_status == "paid"
    }
    distinct = {event["id"] for event in events}
    stored = [row["event_id"] for row in inbox]
    unhandled = [row["event_id"] for row in inbox if row["handled_at"] is None]
    by_scenario = Counter(scenario.name for scenario in scenarios.values())
    return [
        Check("final states right", not wrong, "; ".join(wrong[:5]) or str(dict(by_scenario))),
        Check("no fulfilment twice", not fulfilled_twice, f"{len(fulfilled_twice)} twice"),
        Check(
            "every paid application fulfilled once",
            set(paid_events) == should_be_paid,
            f"{len(paid_events)} fulfilled, {len(should_be_paid)} expected",
        ),
        Check(
            "inbox holds each event once, handled",
            sorted(stored) == sorted(distinct) and not unhandled,
            f"{len(stored)} stored, {len(distinct)} distinct, {len(unhandled)} unhandled",
        ),
    ]


async def run(payment_count: int, concurrency: int) -> bool:
    async with scratch_database() as database:
        await _publish_fee_procedure(database)
        with serve() as fake:
            env = {
                "DATABASE_URL": database.url,
                "LOG_LEVEL": "WARNING",
                "PAYMENT_PROVIDER": "stripe",
                "STRIPE_API_KEY": API_KEY,
                "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "STRIPE_API_BASE": fake.base_url,
            }
            with uvicorn_workers("app.main:create_app", env=env, workers=WORKERS) as server:
                scenarios, applications, events = await _payments(
                    server.url, database.dsn, fake, payment_count
                )
                statuses, outcomes, seconds = await _storm(server.url, events, concurrency)
        deliveries = len(events) * DELIVERIES_PER_EVENT
        print(
            f"{len(scenarios)} payments, {len(events)} events, {deliveries} deliveries "
            f"({DELIVERIES_PER_EVENT} each, shuffled), {concurrency} connections, "
            f"{WORKERS} workers: {deliveries / seconds:.1f} deliveries/s"
        )
        print(f"    HTTP {dict(statuses)}; outcomes {dict(outcomes)}")
        checks = await _checks(database.dsn, scenarios, applications, events)
    print("Database checks:")
    for check in checks:
        print(check.line())
    return all(check.passed for check in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    arguments = parser.parse_args()
    sys.exit(0 if asyncio.run(run(arguments.payments, arguments.concurrency)) else 1)


if __name__ == "__main__":
    main()

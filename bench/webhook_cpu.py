"""CPU per webhook that pays an application, in one process, without a server or an
HTTP client.

    .venv/bin/python -m bench.webhook_cpu [--requests 2000] [--profile out.prof]

The figure to iterate on when the machine is shared (see bench.submit_cpu): one scratch
PostgreSQL database seeded like `python -m bench.load.webhooks` (東御市, applications
awaiting payment, each with an open Stripe payment of 300 yen); the app from
create_app() is called as an ASGI callable directly, one request after another, each a
signed `checkout.session.completed` (paid) naming a payment of its own. Then the same
number of duplicate deliveries (events already handled). Prints the process CPU time
(user + system) per delivery, asyncpg's protocol work included, PostgreSQL's not;
`--profile` writes a cProfile of the timed paying deliveries.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import time
from typing import Any

from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from bench.harness import scratch_database
from bench.load.webhooks import APP_PATH, NAMESPACE, completed_event
from bench.payments_bench import seed_applications, seed_catalog
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, signed_delivery

WARM_UP = 200


async def _call(app: Any, body: bytes, signature: str) -> tuple[int, bytes]:
    """One POST through the whole ASGI stack (middleware, routing, the handler)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": APP_PATH,
        "raw_path": APP_PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"stripe-signature", signature.encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    answer = b""

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer += message.get("body", b"")

    await app(scope, receive, send)
    return status, answer


async def _deliver(app: Any, deliveries: list[tuple[bytes, str]], outcome: str) -> None:
    for body, signature in deliveries:
        status, answer = await _call(app, body, signature)
        if status != 200 or json.loads(answer).get("outcome") != outcome:
            raise RuntimeError(f"webhook answered {status} {answer!r}, expected {outcome}")


async def run(requests: int, profile_path: str | None) -> None:
    total = WARM_UP + requests
    async with scratch_database("madoguchi_webhookcpu") as database:
        await seed_catalog(database.url)
        await seed_applications(database.url, NAMESPACE, total, status="created", first_number=1)
        deliveries = []
        for index in range(total):
            payload, headers = signed_delivery(completed_event(index))
            deliveries.append((payload, headers["Stripe-Signature"]))
        settings = Settings(
            database_url=database.url,
            log_level="WARNING",
            kpi_fold_seconds=0,
            payment_provider="stripe",
            stripe_api_key=SecretStr(API_KEY),
            stripe_webhook_secret=SecretStr(WEBHOOK_SECRET),
        )
        app = create_app(settings)
        try:
            async with app.router.lifespan_context(app):
                await _deliver(app, deliveries[:WARM_UP], "applied")
                timed = deliveries[WARM_UP:]
                profiler = cProfile.Profile(time.process_time) if profile_path else None
                cpu, wall = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                await _deliver(app, timed, "applied")
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(profile_path)
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                duplicate_cpu = time.process_time()
                await _deliver(app, timed, "duplicate")
                duplicate_cpu = time.process_time() - duplicate_cpu
        finally:
            await app.state.engine.dispose()
    print(
        f"{requests} paying webhooks in one process: {cpu / requests * 1000:.2f} ms CPU and "
        f"{wall / requests * 1000:.2f} ms wall per delivery"
        + (" (under cProfile)" if profile_path else "")
        + f"; duplicates {duplicate_cpu / requests * 1000:.2f} ms CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", help="write a cProfile of the timed deliveries here")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.requests, arguments.profile))


if __name__ == "__main__":
    main()

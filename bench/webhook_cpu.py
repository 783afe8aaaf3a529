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
import json
from typing import Any

from pydantic import SecretStr

from app.config import Settings
from app.main import create_app
from bench.harness import asgi_post, scratch_database, spent
from bench.load.webhooks import APP_PATH, NAMESPACE, completed_event
from bench.payments_bench import seed_applications, seed_catalog
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, signed_delivery

WARM_UP = 200


async def _deliver(app: Any, deliveries: list[tuple[bytes, str]], outcome: str) -> None:
    for body, signature in deliveries:
        status, answer = await asgi_post(
            app,
            APP_PATH,
            body,
            [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"stripe-signature", signature.encode()),
            ],
        )
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
                with spent(profile_path) as paying:
                    await _deliver(app, timed, "applied")
                with spent() as duplicates:
                    await _deliver(app, timed, "duplicate")
        finally:
            await app.state.engine.dispose()
    print(
        f"{requests} paying webhooks in one process: {paying.cpu / requests * 1000:.2f} ms CPU"
        f" and {paying.wall / requests * 1000:.2f} ms wall per delivery"
        + (" (under cProfile)" if profile_path else "")
        + f"; duplicates {duplicates.cpu / requests * 1000:.2f} ms CPU"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--profile", help="write a cProfile of the timed deliveries here")
    arguments = parser.parse_args()
    asyncio.run(run(arguments.requests, arguments.profile))


if __name__ == "__main__":
    main()

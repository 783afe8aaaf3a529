"""The bare baselines: what a request costs with nothing of ours in the way.

- `create_payload_app`: a FastAPI app returning a JSON document held in memory (GETs);
- `create_insert_app`: a FastAPI app that validates a small pydantic model and inserts
  one row with asyncpg, answering 201 (writes). Its pool has `BENCH_BASELINE_POOL_SIZE`
  connections (10 by default: its best on the 2-core machine, 2,995 req/s against 2,424
  with 3, while the app is fastest with few; each side runs with the pool it does best
  with, so the baseline is not handicapped).
- `create_webhook_app`: a Stripe webhook endpoint that verifies the signature, parses the
  event and inserts one row with asyncpg (webhooks).

Both are uvicorn factories, run by the benchmarks on the same server stack as the app.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import asyncpg
import stripe
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

BASELINE_TABLE = "bench_baseline_applications"
CREATE_BASELINE_TABLE = (
    f"CREATE TABLE {BASELINE_TABLE} "
    "(id uuid PRIMARY KEY, answers jsonb NOT NULL, created_at timestamptz NOT NULL)"
)
INSERT_PATH = "/applications"


def create_payload_app() -> FastAPI:
    """uvicorn factory: GET /payload answers the JSON file named by BENCH_PAYLOAD."""
    payload: dict[str, Any] = json.loads(
        Path(os.environ["BENCH_PAYLOAD"]).read_text(encoding="utf-8")
    )
    app = FastAPI()

    @app.get("/payload")
    async def read_payload() -> dict[str, Any]:
        return payload

    return app


class BaselineAnswers(BaseModel):
    model_config = ConfigDict(extra="forbid")

    copies: int = Field(ge=1, le=10)
    requester: Literal["self", "agent"]
    agent_name: str | None = Field(default=None, max_length=200)


class BaselineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: BaselineAnswers
    submit: bool = False


def _pool_lifespan(state: dict[str, asyncpg.Pool]) -> Any:
    """An asyncpg pool on BENCH_BASELINE_DSN as `state["pool"]` while the app runs, with
    `BENCH_BASELINE_POOL_SIZE` connections (10 by default)."""
    dsn = os.environ["BENCH_BASELINE_DSN"]
    pool_size = int(os.environ.get("BENCH_BASELINE_POOL_SIZE", "10"))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await state["pool"].close()

    return lifespan


def create_insert_app() -> FastAPI:
    """uvicorn factory: validate a small model, insert one row, answer 201. The database
    is BENCH_BASELINE_DSN (a libpq DSN); the table is BASELINE_TABLE."""
    state: dict[str, asyncpg.Pool] = {}
    app = FastAPI(lifespan=_pool_lifespan(state))

    @app.post(INSERT_PATH, status_code=201)
    async def create_application(body: BaselineRequest) -> dict[str, str]:
        application_id = uuid.uuid4()
        await state["pool"].execute(
            f"INSERT INTO {BASELINE_TABLE} (id, answers, created_at) VALUES ($1, $2, now())",
            application_id,
            body.answers.model_dump_json(),
        )
        return {"id": str(application_id)}

    return app


WEBHOOK_TABLE = "bench_baseline_webhooks"
CREATE_WEBHOOK_TABLE = (
    f"CREATE TABLE {WEBHOOK_TABLE} "
    "(event_id text PRIMARY KEY, payload jsonb NOT NULL, received_at timestamptz NOT NULL)"
)
WEBHOOK_PATH = "/webhook"


def create_webhook_app() -> FastAPI:
    """uvicorn factory: a bare Stripe webhook endpoint. It verifies the Stripe-Signature
    with the SDK (`WebhookSignature.verify_header`: HMAC-SHA256, 5-minute tolerance),
    parses the body as JSON and inserts one row (event id and payload; a redelivery
    inserts nothing), answering 200. The secret is STRIPE_WEBHOOK_SECRET; the database
    BENCH_BASELINE_DSN; the table WEBHOOK_TABLE."""
    secret = os.environ["STRIPE_WEBHOOK_SECRET"]
    state: dict[str, asyncpg.Pool] = {}
    app = FastAPI(lifespan=_pool_lifespan(state))

    @app.post(WEBHOOK_PATH)
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            stripe.WebhookSignature.verify_header(
                body.decode(),
                request.headers.get("stripe-signature", ""),
                secret,
                stripe.Webhook.DEFAULT_TOLERANCE,
            )
            event = json.loads(body)
        except (stripe.SignatureVerificationError, ValueError):
            return JSONResponse({"error": "signature"}, status_code=400)
        await state["pool"].execute(
            f"INSERT INTO {WEBHOOK_TABLE} (event_id, payload, received_at) "
            "VALUES ($1, $2, now()) ON CONFLICT DO NOTHING",
            event["id"],
            body.decode(),
        )
        return JSONResponse({"received": True})

    return app

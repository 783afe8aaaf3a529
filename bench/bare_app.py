"""The bare baselines: what a request costs with nothing of ours in the way.

- `create_payload_app`: a FastAPI app returning a JSON document held in memory (GETs);
- `create_insert_app`: a FastAPI app that validates a small pydantic model and inserts
  one row with asyncpg, answering 201 (writes). Its pool has as many connections as the
  app's (`DATABASE_POOL_SIZE`), so both sides can hold the same number of transactions.

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
from fastapi import FastAPI
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


def create_insert_app() -> FastAPI:
    """uvicorn factory: validate a small model, insert one row, answer 201. The database
    is BENCH_BASELINE_DSN (a libpq DSN); the table is BASELINE_TABLE."""
    dsn = os.environ["BENCH_BASELINE_DSN"]
    pool_size = int(os.environ.get("DATABASE_POOL_SIZE", "10"))
    state: dict[str, asyncpg.Pool] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["pool"] = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size)
        yield
        await state["pool"].close()

    app = FastAPI(lifespan=lifespan)

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

"""`/healthz` answers while the process lives; `/readyz` only when the database answers
and its schema is at the migrations' head."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.health.service import script_heads
from app.main import create_app

PROBLEM = "application/problem+json"


async def test_healthz_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


async def test_readyz_is_ok_on_a_migrated_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {key: body[key] for key in ("status", "database", "migrations", "jpki")} == {
        "status": "ok",
        "database": "ok",
        "migrations": "ok",
        "jpki": "ok",
    }
    # The shipped test CA: both types, both generations, each with a fresh CRL.
    assert len(body["revocation_lists"]) == 4
    assert {item["state"] for item in body["revocation_lists"]} == {"fresh"}


async def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql+asyncpg://nobody@127.0.0.1:1/none"}
    )
    app = create_app(unreachable)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/readyz")
        live = await client.get("/healthz")
    await app.state.engine.dispose()
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "NOT_READY"
    assert body["database"] == "unreachable"
    assert body["detail_ja"]
    assert live.status_code == 200


async def test_readyz_is_503_when_migrations_are_behind(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    heads = sorted(script_heads())
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE alembic_version SET version_num = '0001' WHERE version_num = :head"),
            {"head": heads[0]},
        )
    try:
        response = await client.get("/readyz")
    finally:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :head WHERE version_num = '0001'"),
                {"head": heads[0]},
            )
    assert response.status_code == 503
    assert response.json()["migrations"] == "behind"

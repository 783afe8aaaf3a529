"""Rate limits on the JPKI challenge/login and the staff token endpoints: 429 problem+json
with Retry-After, counted in the database so every worker shares them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.main import create_app
from app.security import ratelimit

PROBLEM = "application/problem+json"
LIMIT = 3


@pytest.fixture
def limited(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "rate_limit_jpki_per_window": LIMIT,
            "rate_limit_staff_token_per_window": LIMIT,
            "rate_limit_window_seconds": 600,
        }
    )


@pytest.fixture
async def workers(limited: Settings, engine: AsyncEngine) -> AsyncIterator[list[httpx.AsyncClient]]:
    """Two app instances on one database, as two uvicorn workers would be."""
    apps: list[FastAPI] = [create_app(limited), create_app(limited)]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
        for app in apps
    ]
    yield clients
    for client, app in zip(clients, apps, strict=True):
        await client.aclose()
        await app.state.engine.dispose()


def _sign_in(username: str) -> dict[str, str]:
    return {"username": username, "password": "wrong-password", "grant_type": "password"}


def _assert_limited(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert 1 <= int(response.headers["retry-after"]) <= 600
    body = response.json()
    assert body["code"] == "RATE_LIMITED"
    assert body["detail_ja"]


async def test_staff_token_is_limited_per_address_and_user(
    workers: list[httpx.AsyncClient],
) -> None:
    client = workers[0]
    for _ in range(LIMIT):
        response = await client.post("/api/v1/admin/auth/token", data=_sign_in("a@x.example"))
        assert response.status_code == 401
    _assert_limited(await client.post("/api/v1/admin/auth/token", data=_sign_in("a@x.example")))
    # The same address may still sign in as someone else: one user cannot lock out all.
    other = await client.post("/api/v1/admin/auth/token", data=_sign_in("b@x.example"))
    assert other.status_code == 401


async def test_jpki_challenge_and_login_share_one_limit(
    workers: list[httpx.AsyncClient],
) -> None:
    client = workers[0]
    for _ in range(LIMIT - 1):
        assert (await client.post("/api/v1/auth/jpki/challenge")).status_code == 200
    login = await client.post(
        "/api/v1/auth/jpki/login", json={"nonce": "n", "certificate": "", "signature": ""}
    )
    assert login.status_code != 429
    _assert_limited(await client.post("/api/v1/auth/jpki/challenge"))
    _assert_limited(
        await client.post(
            "/api/v1/auth/jpki/login", json={"nonce": "n", "certificate": "", "signature": ""}
        )
    )


async def test_workers_share_the_count(workers: list[httpx.AsyncClient]) -> None:
    first, second = workers
    assert (await first.post("/api/v1/auth/jpki/challenge")).status_code == 200
    assert (await second.post("/api/v1/auth/jpki/challenge")).status_code == 200
    assert (await first.post("/api/v1/auth/jpki/challenge")).status_code == 200
    _assert_limited(await second.post("/api/v1/auth/jpki/challenge"))


async def test_concurrent_hits_are_all_counted(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    now = utcnow()
    attempts = 40 if settings.database_url.startswith("postgresql") else 10
    decisions = await asyncio.gather(
        *(
            ratelimit.hit(session_factory, "test:concurrent", limit=5, window_seconds=60, now=now)
            for _ in range(attempts)
        )
    )
    assert sorted(decision.count for decision in decisions) == list(range(1, attempts + 1))
    assert sum(decision.allowed for decision in decisions) == 5


def test_windows_are_aligned_and_keys_hold_no_personal_data() -> None:
    key = ratelimit.bucket_key("staff-token", "203.0.113.7", "tanaka@city.example")
    assert "203.0.113.7" not in key
    assert "tanaka" not in key
    assert len(key) <= 80
    start = ratelimit.window_start(utcnow(), 60)
    assert start.second == 0

"""Rate limits on the JPKI challenge/login and the staff token endpoints: 429 problem+json
with Retry-After, counted in the database so every worker shares them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

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


@pytest.fixture
async def from_address(
    limited: Settings, engine: AsyncEngine
) -> AsyncIterator[Callable[..., httpx.AsyncClient]]:
    """Clients of one app, each calling from a peer address of the test's choice."""
    apps: list[FastAPI] = []
    clients: list[httpx.AsyncClient] = []

    def connect(address: str, **overrides: object) -> httpx.AsyncClient:
        app = create_app(limited.model_copy(update=overrides))
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        apps.append(app)
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://testserver"))
        return clients[-1]

    yield connect
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.state.engine.dispose()


async def test_a_login_id_is_one_account_however_it_is_typed(
    workers: list[httpx.AsyncClient],
) -> None:
    """Sign-in strips, case-folds and NFKC-normalises the login id; so does the limit."""
    client = workers[0]
    spellings = [
        "admin@ueda.example",
        " admin@ueda.example",
        "admin@ueda.example\t",
        "\u3000admin@ueda.example",
        "ADMIN@Ueda.Example",
        "ａｄｍｉｎ＠ueda.example",
    ]
    statuses = [
        (await client.post("/api/v1/admin/auth/token", data=_sign_in(name))).status_code
        for name in spellings
    ]
    assert statuses == [401] * LIMIT + [429] * (len(spellings) - LIMIT)


async def test_an_account_is_limited_across_addresses(
    from_address: Callable[..., httpx.AsyncClient],
) -> None:
    limits = {
        "rate_limit_staff_token_per_window": 100,
        "rate_limit_staff_account_per_window": LIMIT,
    }
    clients = [from_address(f"198.51.100.{n}", **limits) for n in range(1, LIMIT + 2)]
    for client in clients[:LIMIT]:
        response = await client.post("/api/v1/admin/auth/token", data=_sign_in("a@x.example"))
        assert response.status_code == 401
    _assert_limited(
        await clients[LIMIT].post("/api/v1/admin/auth/token", data=_sign_in("a@x.example"))
    )


async def test_an_address_is_limited_across_accounts(
    from_address: Callable[..., httpx.AsyncClient],
) -> None:
    client = from_address("198.51.100.7", rate_limit_staff_address_per_window=LIMIT)
    for n in range(LIMIT):
        response = await client.post("/api/v1/admin/auth/token", data=_sign_in(f"{n}@x.example"))
        assert response.status_code == 401
    _assert_limited(
        await client.post("/api/v1/admin/auth/token", data=_sign_in("another@x.example"))
    )
    # Another address is counted on its own.
    other = from_address("198.51.100.8", rate_limit_staff_address_per_window=LIMIT)
    response = await other.post("/api/v1/admin/auth/token", data=_sign_in("another@x.example"))
    assert response.status_code == 401


async def test_forwarded_for_is_not_believed_unless_the_peer_is_a_configured_proxy(
    from_address: Callable[..., httpx.AsyncClient],
) -> None:
    """By default no peer is trusted, 127.0.0.1 included: a made-up X-Forwarded-For
    buys no fresh bucket. From a proxy in FORWARDED_ALLOW_IPS it names the client."""
    local = from_address("127.0.0.1")
    for n in range(LIMIT):
        forged = {"X-Forwarded-For": f"203.0.113.{n}"}
        assert (await local.post("/api/v1/auth/jpki/challenge", headers=forged)).status_code == 200
    _assert_limited(
        await local.post("/api/v1/auth/jpki/challenge", headers={"X-Forwarded-For": "192.0.2.1"})
    )

    balancer = from_address("10.0.0.5", forwarded_allow_ips=["10.0.0.0/8"])
    for n in range(LIMIT + 2):
        forwarded = {"X-Forwarded-For": f"203.0.113.{100 + n}"}
        response = await balancer.post("/api/v1/auth/jpki/challenge", headers=forwarded)
        assert response.status_code == 200
    # A peer outside the list is its own client, whatever it forwards.
    outsider = from_address("198.51.100.9", forwarded_allow_ips=["10.0.0.0/8"])
    for n in range(LIMIT):
        forged = {"X-Forwarded-For": f"203.0.113.{200 + n}"}
        response = await outsider.post("/api/v1/auth/jpki/challenge", headers=forged)
        assert response.status_code == 200
    _assert_limited(await outsider.post("/api/v1/auth/jpki/challenge"))


def test_forwarded_allow_ips_takes_addresses_and_networks_only() -> None:
    settings = Settings(forwarded_allow_ips="10.0.0.5, 192.168.0.0/16")  # type: ignore[arg-type]
    assert settings.forwarded_allow_ips == ["10.0.0.5", "192.168.0.0/16"]
    assert Settings().forwarded_allow_ips == []
    with pytest.raises(ValueError, match="FORWARDED_ALLOW_IPS"):
        Settings(forwarded_allow_ips="*")  # type: ignore[arg-type]

"""Test harness: the whole suite runs once per database backend.

Each backend's database is created for the run, migrated with Alembic (the only way a
schema is made), emptied after every test, and dropped at the end. PostgreSQL is used
when `TEST_DATABASE_URL` is set or a local server answers; with `REQUIRE_POSTGRES=1`
(CI) its absence fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import Base, make_engine, make_session_factory
from app.listeners import install_listeners
from app.main import create_app

PROJECT_ROOT = Path(__file__).resolve().parent.parent

pytest_plugins = ["tests.cards"]

# Tests call services directly too, without create_app: the lifecycle tells the same
# listeners (the KPI, payments) as in the running app.
install_listeners()


@dataclass(frozen=True)
class Backend:
    name: str
    url: str


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


def run_alembic(database_url: str, action: str, revision: str) -> None:
    """Alembic's async env calls asyncio.run(), so it runs in its own thread."""
    operation = command.upgrade if action == "upgrade" else command.downgrade
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(operation, alembic_config(database_url), revision).result()


def _postgres_admin_url() -> str | None:
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return None
    user = os.environ.get("PGUSER", "postgres")
    return f"postgresql+asyncpg://{user}@127.0.0.1:5432/postgres"


async def _admin_execute(admin_url: str, statement: str) -> None:
    engine = make_engine(admin_url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def _backend_params() -> list[object]:
    return [
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgresql),
    ]


@pytest.fixture(scope="session", params=_backend_params())
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "madoguchi_test.db"
        url = f"sqlite+aiosqlite:///{path}"
        run_alembic(url, "upgrade", "head")
        yield Backend("sqlite", url)
        return

    admin_url = _postgres_admin_url()
    if admin_url is None:
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES=1) but not reachable")
        pytest.skip("no PostgreSQL reachable; set TEST_DATABASE_URL to run these")
    # A name of our own per run, so parallel runs on one server never collide.
    database = f"madoguchi_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    url = make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    asyncio.run(_admin_execute(admin_url, f'CREATE DATABASE "{database}"'))
    try:
        run_alembic(url, "upgrade", "head")
        yield Backend("postgresql", url)
    finally:
        asyncio.run(_admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture
def settings(backend: Backend) -> Settings:
    return Settings(
        environment="test",
        database_url=backend.url,
        log_level="WARNING",
        max_request_body_bytes=256_000,
    )


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(settings.database_url)
    yield engine
    await _empty_all_tables(engine)
    await engine.dispose()


async def _empty_all_tables(engine: AsyncEngine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            quoted = ", ".join(f'"{name}"' for name in tables)
            await connection.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await connection.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_session_factory(engine)


@pytest.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture
async def client(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()

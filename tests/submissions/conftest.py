"""Fixtures for applications: an API client whose clock the test can set, and a
municipality (東御市) offering the small test procedure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.config import Settings
from app.db import make_session_factory
from app.dependencies import current_time
from app.main import create_app
from tests.factories import TOMI, publish_definition, seed_municipalities, simple_definition
from tests.submissions.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app over ASGI, with the request clock under the test's control.

    On PostgreSQL its pool is 20 connections with a long wait, so a test may fire a
    few hundred concurrent requests without starving the shared server of connections."""
    app = create_app(settings)
    app.dependency_overrides[current_time] = clock
    engines = [app.state.engine]
    if settings.database_url.startswith("postgresql"):
        pooled = create_async_engine(
            settings.database_url, pool_size=20, max_overflow=0, pool_timeout=120
        )
        app.state.engine = pooled
        app.state.session_factory = make_session_factory(pooled)
        engines.append(pooled)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    for created in engines:
        await created.dispose()


@pytest.fixture
async def tomi(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """東御市 offering `test-certificate` (300 yen a copy, paid on submit)."""
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, simple_definition())
    return TOMI

"""Fixtures for the reliability tests: the app over ASGI and 東御市 with a procedure."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from tests.factories import TOMI, publish_definition, seed_municipalities, simple_definition


@pytest.fixture
async def api(settings: Settings, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()


@pytest.fixture
async def tomi(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """東御市 with `test-certificate` (default retention) and `short-keep` (30 days)."""
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, simple_definition())
    await publish_definition(
        session_factory, TOMI, simple_definition("short-keep", retention_days=30)
    )
    return TOMI

"""The connection pool: under load no PostgreSQL connection is opened per request."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import event

from app.config import Settings
from app.main import create_app
from tests.conftest import Backend


async def test_concurrent_requests_share_the_fixed_pool(
    backend: Backend, settings: Settings
) -> None:
    if backend.name != "postgresql":
        pytest.skip("the pool is PostgreSQL's: PostgreSQL only")
    app = create_app(settings.model_copy(update={"database_pool_size": 3}))
    opened = 0

    def count_connection(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(app.state.engine.sync_engine, "connect", count_connection)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            responses = await asyncio.gather(
                *(client.get("/api/v1/municipalities") for _ in range(60))
            )
    finally:
        await app.state.engine.dispose()
    assert [response.status_code for response in responses] == [200] * 60
    # 60 requests at once, 3 connections: the others waited for one instead of opening
    # (and closing) an overflow connection each.
    assert 1 <= opened <= 3

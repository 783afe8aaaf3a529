"""Fixtures for the My Number card tests: the trust directory of the run's test CA
(tests/cards.py mints the cards), and an API client whose clock the test can set."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.jpki.testca import TestCaHome
from app.config import Settings
from app.db import utcnow
from app.dependencies import current_time
from app.main import create_app
from tests.cards import MintCard as MintCard  # imported from here by the card tests


@pytest.fixture
def settings(settings: Settings, jpki_home: TestCaHome) -> Settings:
    return settings.model_copy(update={"jpki_trust_dir": jpki_home.trust_dir})


@dataclass
class Clock:
    """The request clock; real time unless a test sets `moment`."""

    moment: datetime | None = None

    def __call__(self) -> datetime:
        return self.moment if self.moment is not None else utcnow()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def api(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    app.dependency_overrides[current_time] = clock
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
    await app.state.engine.dispose()

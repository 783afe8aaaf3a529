"""Fixtures for the My Number card tests: a test CA made for the run (both generations,
both types), cards minted from it, and an API client whose clock the test can set.

RSA key generation is the slow part, so card keys come from a small pool; a test that
needs a key no card has makes its own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.auth.jpki.testca import CardHolder, TestCaHome, TestCard, mint_card
from app.auth.jpki.verifier import CertificateKind
from app.config import Settings
from app.db import utcnow
from app.dependencies import current_time
from app.main import create_app
from tests.auth.jpki.helpers import HANAKO, KeyPool


@pytest.fixture(scope="session")
def key_pool() -> KeyPool:
    return KeyPool()


@pytest.fixture(scope="session")
def jpki_home(tmp_path_factory: pytest.TempPathFactory) -> TestCaHome:
    """A trust directory of our own (2015 in DER, 2023 in PEM), made with `init`."""
    return TestCaHome.init(tmp_path_factory.mktemp("jpki") / "trust")


MintCard = Callable[..., TestCard]


@pytest.fixture
def mint(jpki_home: TestCaHome, key_pool: KeyPool) -> MintCard:
    def _mint(
        holder: CardHolder = HANAKO,
        *,
        generation: int | None = None,
        home: TestCaHome | None = None,
        not_before: datetime | None = None,
        not_after: datetime | None = None,
    ) -> TestCard:
        source = home or jpki_home
        return mint_card(
            source.authority(CertificateKind.AUTHENTICATION, generation),
            source.authority(CertificateKind.SIGNING, generation),
            holder,
            not_before=not_before,
            not_after=not_after,
            keys=key_pool.pair(),
        )

    return _mint


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

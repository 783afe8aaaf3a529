"""Fixtures for payments: the fake Stripe server (one per run, emptied per test), the app
with the `stripe` or the `demo` provider and a clock the test controls, procedures with
a fee, and finance staff."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from app.auth.staff_models import StaffUser
from app.config import Settings
from app.db import make_session_factory
from app.dependencies import current_time
from app.main import create_app
from app.payments.dependencies import payment_registry
from tests.factories import (
    TOMI,
    UEDA,
    create_staff,
    publish_definition,
    seed_municipalities,
    simple_definition,
    staff_headers,
)
from tests.fakes.stripe_server import API_KEY, WEBHOOK_SECRET, FakeStripe, serve
from tests.payments.helpers import AFTER_REVIEW, ON_SUBMIT
from tests.submissions.helpers import Clock


@pytest.fixture(scope="session")
def fake_stripe_server() -> Iterator[FakeStripe]:
    with serve() as fake:
        yield fake


@pytest.fixture
def fake(fake_stripe_server: FakeStripe) -> FakeStripe:
    fake_stripe_server.reset()
    return fake_stripe_server


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def stripe_settings(settings: Settings, fake: FakeStripe) -> Settings:
    return settings.model_copy(
        update={
            "payment_provider": "stripe",
            "stripe_api_key": SecretStr(API_KEY),
            "stripe_webhook_secret": SecretStr(WEBHOOK_SECRET),
            "stripe_api_base": fake.base_url,
        }
    )


async def _app_client(settings: Settings, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
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
    await payment_registry(app).aclose()
    for created in engines:
        await created.dispose()


@pytest.fixture
async def stripe_api(
    stripe_settings: Settings, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app taking payments through Stripe (the fake)."""
    async for client in _app_client(stripe_settings, clock):
        yield client


@pytest.fixture
async def demo_api(
    settings: Settings, engine: AsyncEngine, clock: Clock
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with the default `demo` provider."""
    async for client in _app_client(settings, clock):
        yield client


@pytest.fixture
async def procedures(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """東御市 and 上田市 offering a certificate paid on submit (300 yen a copy); 東御市
    also one paid after review."""
    await seed_municipalities(session_factory)
    for code in (TOMI, UEDA):
        await publish_definition(session_factory, code, simple_definition(ON_SUBMIT))
    await publish_definition(
        session_factory, TOMI, simple_definition(AFTER_REVIEW, payment_timing="after_review")
    )


@dataclass(frozen=True)
class Staff:
    finance: StaffUser
    reviewer: StaffUser
    """市民課, where both test procedures belong."""
    other_reviewer: StaffUser
    """子育て支援課."""
    ueda_finance: StaffUser


@pytest.fixture
async def staff(procedures: None, session_factory: async_sessionmaker[AsyncSession]) -> Staff:
    return Staff(
        finance=await create_staff(session_factory, roles=("finance",), department="会計課"),
        reviewer=await create_staff(session_factory, roles=("reviewer",), department="市民課"),
        other_reviewer=await create_staff(
            session_factory, roles=("reviewer",), department="子育て支援課"
        ),
        ueda_finance=await create_staff(
            session_factory, municipality_code=UEDA, roles=("finance",), department="会計課"
        ),
    )


@pytest.fixture
def as_staff(settings: Settings) -> Callable[[StaffUser], dict[str, str]]:
    """`Authorization` headers for a staff member (a fresh token each call)."""

    def headers(member: StaffUser) -> dict[str, str]:
        return staff_headers(settings, member)

    return headers

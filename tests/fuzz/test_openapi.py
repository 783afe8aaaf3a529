"""API fuzzing from the OpenAPI schema (schemathesis): every operation, examples built
from its declared parameters and bodies, with a staff token (all roles) on /admin and /kpi
routes and a citizen token elsewhere. No answer may be a 5xx, and every answer must match
the schema the route declares."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from app.auth import citizen_tokens
from app.config import Settings
from app.db import make_session_factory, utcnow
from app.main import create_app
from tests.factories import (
    TOMI,
    create_staff,
    publish_definition,
    seed_municipalities,
    simple_definition,
    staff_headers,
)

STAFF_PATHS = ("/api/v1/admin", "/api/v1/kpi")
CHECKS = [not_a_server_error, schemathesis.checks.response_schema_conformance]


# Built at import, so schemathesis can collect one test per operation; the fixture
# points it at the database of the backend under test.
APP: FastAPI = create_app(Settings(environment="test", log_level="WARNING"))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@pytest.fixture
async def fuzz_target(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    """The app on a seeded database, with its tokens. The engine keeps no pooled
    connections: schemathesis drives the app from an event loop of its own per call."""
    # Both municipalities and one small procedure: enough for valid paths, and cheap to
    # make before each of the ~65 operations on each backend.
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, simple_definition())
    staff = await create_staff(session_factory, roles=("admin", "reviewer", "finance", "analyst"))
    unpooled = create_async_engine(settings.database_url, poolclass=NullPool)
    APP.state.settings = settings
    APP.state.engine = unpooled
    APP.state.session_factory = make_session_factory(unpooled)
    citizen = citizen_tokens.issue(
        settings, subject=hashlib.sha256(b"fuzz-citizen").hexdigest(), now=utcnow()
    )
    APP.state.fuzz_headers = {
        "staff": staff_headers(settings, staff),
        "citizen": {"Authorization": f"Bearer {citizen.access_token}"},
    }
    yield APP
    await unpooled.dispose()


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors_and_responses_match_the_schema(
    case: schemathesis.Case, fuzz_target: FastAPI
) -> None:
    role = "staff" if case.path.startswith(STAFF_PATHS) else "citizen"
    headers = dict(fuzz_target.state.fuzz_headers[role])
    if case.headers and "Authorization" in case.headers:
        headers.pop("Authorization")
    case.call_and_validate(headers=headers, checks=CHECKS)

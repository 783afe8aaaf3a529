"""Hostile input: SQL-injection and path-traversal strings in every filter and path
parameter, huge repeating groups, and no stack trace or personal data in any answer or
log line."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.submissions.models import Submission
from tests.factories import (
    TOMI,
    create_staff,
    publish_definition,
    seed_municipalities,
    simple_definition,
    staff_headers,
)

PERSONAL_NAME = "山田太郎"
INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "'; DROP TABLE submissions; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)",
    "%' OR '%'='",
    "\\'; --",
    "' UNION SELECT id, answers FROM submissions --",
    "\x00",
]
TRAVERSALS = [
    "../../etc/passwd",
    "..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "/etc/passwd",
    "..\\..\\windows\\win.ini",
    "%00",
]
HOSTILE = INJECTIONS + TRAVERSALS
SUBMISSION_FILTERS = [
    "procedure_code",
    "department",
    "reference_number",
    "assignee",
    "channel",
    "status",
    "sort",
    "submitted_from",
    "submitted_to",
    "limit",
    "offset",
]
AUDIT_FILTERS = [
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "request_id",
    "occurred_from",
    "occurred_to",
    "limit",
    "offset",
]
LEAKS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "sqlite3", PERSONAL_NAME, "root:")


@pytest.fixture
async def hostile(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    await seed_municipalities(session_factory)
    group = {
        "key": "children",
        "type": "group",
        "label": {"ja": "児童", "en": "Children"},
        "max_items": 5,
        "fields": [{"key": "name", "type": "text", "label": {"ja": "氏名", "en": "Name"}}],
    }
    definition = simple_definition()
    definition["steps"][0]["fields"].append(group)
    await publish_definition(session_factory, TOMI, definition)
    staff = await create_staff(session_factory, roles=("admin", "reviewer"))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for _ in range(2):
            created = await client.post(
                f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
                json={
                    "answers": {"copies": 1, "requester": "agent", "agent_name": PERSONAL_NAME},
                    "submit": True,
                },
            )
            assert created.status_code == 201, created.text
        yield client, staff_headers(settings, staff)
    await app.state.engine.dispose()


def _assert_clean(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    for leak in LEAKS:
        assert leak not in response.text


@pytest.mark.parametrize("parameter", SUBMISSION_FILTERS)
async def test_submission_filters_refuse_or_match_nothing(
    hostile: tuple[httpx.AsyncClient, dict[str, str]],
    session_factory: async_sessionmaker[AsyncSession],
    parameter: str,
) -> None:
    client, headers = hostile
    baseline = await client.get("/api/v1/admin/submissions", headers=headers)
    assert baseline.json()["total"] == 2
    for payload in HOSTILE:
        response = await client.get(
            "/api/v1/admin/submissions", params={parameter: payload}, headers=headers
        )
        _assert_clean(response)
        assert response.status_code in (200, 400, 422), (payload, response.status_code)
        if response.status_code == 200:
            assert response.json()["total"] == 0, (parameter, payload)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Submission)) == 2


@pytest.mark.parametrize("parameter", AUDIT_FILTERS)
async def test_audit_log_filters_refuse_or_match_nothing(
    hostile: tuple[httpx.AsyncClient, dict[str, str]], parameter: str
) -> None:
    client, headers = hostile
    for payload in HOSTILE:
        response = await client.get(
            "/api/v1/admin/audit-log", params={parameter: payload}, headers=headers
        )
        _assert_clean(response)
        assert response.status_code in (200, 400, 422), (payload, response.status_code)
        if response.status_code == 200:
            assert response.json()["total"] == 0, (parameter, payload)


@pytest.mark.parametrize(
    "template",
    [
        "/api/v1/admin/submissions/{}",
        "/api/v1/admin/procedures/{}",
        "/api/v1/admin/procedures/test-certificate/versions/{}",
        "/api/v1/admin/staff/{}",
        "/api/v1/municipalities/{}",
        "/api/v1/municipalities/{}/procedures",
        f"/api/v1/municipalities/{TOMI}/procedures/{{}}",
        "/api/v1/submissions/{}",
        "/static/{}",
        "/{}",
    ],
)
async def test_path_parameters_refuse_hostile_strings(
    hostile: tuple[httpx.AsyncClient, dict[str, str]], template: str
) -> None:
    client, headers = hostile
    for payload in HOSTILE:
        # Quoted as a client would send it; the %-forms stay as written.
        response = await client.get(template.format(quote(payload, safe="/%")), headers=headers)
        _assert_clean(response)
        assert response.status_code in (200, 400, 401, 404, 405, 422), (payload, response)
        assert "SECRET_KEY" not in response.text
        assert "[alembic]" not in response.text


async def test_a_huge_repeating_group_is_refused_politely(
    hostile: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, _ = hostile
    answers = {
        "copies": 1,
        "requester": "self",
        "children": [{"name": f"子{i}"} for i in range(5000)],
    }
    response = await client.post(
        f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
        json={"answers": answers, "submit": True},
    )
    _assert_clean(response)
    assert response.status_code in (413, 422)


async def test_errors_and_logs_hold_no_personal_data_or_trace(
    hostile: tuple[httpx.AsyncClient, dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    client, headers = hostile
    caplog.set_level(logging.INFO)  # LOG_LEVEL in production; DEBUG shows drivers' SQL
    bad_answers = {"copies": "many", "requester": "agent", "agent_name": PERSONAL_NAME * 500}
    responses = [
        await client.post(
            f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
            json={"answers": bad_answers, "submit": True},
        ),
        await client.get(
            "/api/v1/admin/submissions",
            params={"reference_number": PERSONAL_NAME},
            headers=headers,
        ),
        await client.post(
            "/api/v1/admin/auth/token",
            data={"username": f"{PERSONAL_NAME}@x.example", "password": PERSONAL_NAME},
        ),
        await client.post("/api/v1/auth/jpki/login", content=b'{"nonce": "' + b"\xff" * 10),
    ]
    assert [response.status_code for response in responses] == [422, 200, 401, 422]
    for response in responses:
        if response.status_code >= 400:
            assert response.headers["content-type"] == "application/problem+json"
        _assert_clean(response)
    # The app's own lines (access log, errors); httpx's are the test client's.
    for record in (r for r in caplog.records if not r.name.startswith("httpx")):
        line = record.getMessage()
        assert PERSONAL_NAME not in line
        assert "Traceback" not in line


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", "/api/v1/admin/submissions?reference_number=%00", {}),
        ("GET", "/api/v1/municipalities/%00/procedures", {}),
        (
            "POST",
            f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
            {"json": {"answers": {"copies": 1, "requester": "agent", "agent_name": "a\u0000"}}},
        ),
        ("POST", "/api/v1/admin/auth/token", {"data": {"username": "a\x00", "password": "x"}}),
    ],
)
async def test_nul_characters_are_refused_at_the_door(
    hostile: tuple[httpx.AsyncClient, dict[str, str]],
    method: str,
    path: str,
    kwargs: dict[str, object],
) -> None:
    """PostgreSQL cannot store U+0000; it is a 400, never a driver error behind a 500."""
    client, headers = hostile
    response = await client.request(method, path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "NUL_CHARACTER"


async def test_a_json_string_that_only_mentions_u0000_is_accepted(
    hostile: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, _ = hostile
    response = await client.post(
        f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions",
        json={"answers": {"copies": 1, "requester": "agent", "agent_name": "\\u0000 %00"}},
    )
    assert response.status_code == 201, response.text

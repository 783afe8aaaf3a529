"""Text no database column can hold (issue 15): a lone UTF-16 surrogate in any JSON body,
and a NUL or a lone surrogate in a YAML definition, is a 400 problem in Japanese and
English (like a NUL in JSON), never a driver error behind a 500, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

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

SUBMISSIONS = f"/api/v1/municipalities/{TOMI}/procedures/test-certificate/submissions"
PROCEDURES = "/api/v1/admin/procedures"
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def api(
    settings: Settings, engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    await seed_municipalities(session_factory)
    await publish_definition(session_factory, TOMI, simple_definition())
    admin = await create_staff(session_factory, roles=("admin",))
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client, staff_headers(settings, admin)
    await app.state.engine.dispose()


async def _stored(factory: async_sessionmaker[AsyncSession]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(Submission)) or 0)


def _refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code
    assert body["title_ja"] and body["detail_ja"] and body["detail"]


@pytest.mark.parametrize(
    "agent_name",
    [
        rb'"\ud800"',  # a high surrogate escape with no low one after it
        rb'"ab\udfffcd"',  # a low surrogate alone
        rb'"\ud83d x \ude00"',  # both halves, not next to each other
        b'"\xed\xa0\x80"',  # a surrogate's UTF-8 bytes, which Python's json decodes
    ],
)
async def test_a_lone_surrogate_in_answers_is_a_400(
    api: tuple[httpx.AsyncClient, dict[str, str]],
    session_factory: async_sessionmaker[AsyncSession],
    agent_name: bytes,
) -> None:
    client, _ = api
    body = b'{"answers": {"copies": 1, "requester": "agent", "agent_name": %s}, "submit": true}'
    response = await client.post(SUBMISSIONS, content=body % agent_name, headers=JSON)
    _refused(response, "UNPAIRED_SURROGATE")
    assert await _stored(session_factory) == 0


async def test_a_lone_surrogate_in_a_key_or_a_staff_body_is_a_400(
    api: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, admin = api
    in_a_key = b'{"answers": {"copies": 1, "requester": "self", "\\udc00": 1}}'
    _refused(await client.post(SUBMISSIONS, content=in_a_key, headers=JSON), "UNPAIRED_SURROGATE")
    definition = b'{"code": "x-\\ud800", "title": {"ja": "\\ud800"}}'
    response = await client.post(PROCEDURES, content=definition, headers={**admin, **JSON})
    _refused(response, "UNPAIRED_SURROGATE")


async def test_a_surrogate_pair_and_a_mention_of_one_are_accepted(
    api: tuple[httpx.AsyncClient, dict[str, str]],
) -> None:
    client, _ = api
    body = (
        b'{"answers": {"copies": 1, "requester": "agent", '
        b'"agent_name": "\\ud83d\\ude00 \\\\ud800 \xf0\x9f\x98\x80"}}'
    )
    response = await client.post(SUBMISSIONS, content=body, headers=JSON)
    assert response.status_code == 201, response.text
    created = response.json()
    read = await client.get(
        f"/api/v1/submissions/{created['id']}",
        headers={"Authorization": f"Bearer {created['access_token']}"},
    )
    assert read.json()["answers"]["agent_name"] == "\U0001f600 \\ud800 \U0001f600"


async def test_a_body_without_content_type_is_checked_as_json(
    api: tuple[httpx.AsyncClient, dict[str, str]],
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """FastAPI parses a body sent without a Content-Type as JSON, so it is checked too."""
    client, _ = api
    for agent_name, code in ((rb"a\u0000", "NUL_CHARACTER"), (rb"\ud800", "UNPAIRED_SURROGATE")):
        body = b'{"answers": {"copies": 1, "requester": "agent", "agent_name": "%s"}}' % agent_name
        request = client.build_request("POST", SUBMISSIONS, content=body)
        assert "content-type" not in request.headers
        _refused(await client.send(request), code)
    assert await _stored(session_factory) == 0


@pytest.mark.parametrize(
    ("legal_basis", "code"),
    [
        ('"テスト条例\\0第1条"', "NUL_CHARACTER"),
        ('"テスト条例\\x00第1条"', "NUL_CHARACTER"),
        ('"テスト条例\\ud800第1条"', "UNPAIRED_SURROGATE"),
    ],
)
async def test_a_yaml_definition_with_unstorable_text_is_a_400(
    api: tuple[httpx.AsyncClient, dict[str, str]], legal_basis: str, code: str
) -> None:
    client, admin = api
    definition = simple_definition("yaml-escapes")
    yaml_text = "\n".join(
        f"{key}: {legal_basis}" if key == "legal_basis" else f"{key}: {_flow(value)}"
        for key, value in definition.items()
    )
    headers = {**admin, "Content-Type": "application/yaml"}
    for url in (PROCEDURES, f"{PROCEDURES}/validate"):
        _refused(await client.post(url, content=yaml_text.encode(), headers=headers), code)
    listed = await client.get(PROCEDURES, headers=admin)
    assert [item["code"] for item in listed.json()["items"]] == ["test-certificate"]


def _flow(value: object) -> str:
    """A value as YAML flow style (JSON is YAML)."""
    return json.dumps(value, ensure_ascii=False)

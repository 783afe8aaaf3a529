"""The skeleton every route relies on: problem+json errors, request ids, body caps."""

from __future__ import annotations

import gc
import logging
import weakref
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Request

from app.config import Settings
from app.main import GARBAGE_THRESHOLDS, create_app
from app.middleware import json_nesting_depth

PROBLEM = "application/problem+json"


async def test_unknown_route_is_a_bilingual_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "NOT_FOUND"
    assert body["title"] == "Not found"
    assert body["title_ja"] == "見つかりません"
    assert body["request_id"] == response.headers["x-request-id"]


async def test_wrong_method_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/municipalities")
    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_incoming_request_id_is_kept_and_a_bad_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/api/v1/municipalities", headers={"X-Request-ID": "abc-123-def"})
    assert kept.headers["x-request-id"] == "abc-123-def"
    replaced = await client.get(
        "/api/v1/municipalities", headers={"X-Request-ID": "bad id\twith spaces"}
    )
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_oversized_body_is_413_by_declared_length(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    body = b"{" + b'"a":"' + b"x" * settings.max_request_body_bytes + b'"}'
    response = await client.post(
        "/api/v1/municipalities", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "PAYLOAD_TOO_LARGE"
    assert response.json()["detail_ja"]


async def test_oversized_streamed_body_without_length_is_413(settings: Settings) -> None:
    app = create_app(settings)

    async def echo_length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    app.add_api_route("/api/v1/echo", echo_length, methods=["POST"])

    async def chunks(count: int) -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * 1000

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        small = await client.post("/api/v1/echo", content=chunks(3))
        large = await client.post(
            "/api/v1/echo", content=chunks(settings.max_request_body_bytes // 1000 + 2)
        )
    await app.state.engine.dispose()
    assert small.json() == {"length": 3000}
    assert large.status_code == 413
    assert large.json()["code"] == "PAYLOAD_TOO_LARGE"


async def test_deeply_nested_json_is_refused_before_parsing(client: httpx.AsyncClient) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = await client.post(
        "/api/v1/municipalities", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "JSON_TOO_DEEP"


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        (b"{}", 1),
        (b'{"a":[{"b":1}]}', 3),
        (b'"[[[["', 0),
        (b'{"a":"\\"[["}', 1),
        (b"42", 0),
        (b'[["\\\\"],[{}]]', 3),  # an escaped backslash, then the string ends
        (b'[{"a":"[[[', 2),  # unterminated: the rest is string
        (b'[{"a":"x\\', 2),
    ],
)
def test_json_depth_ignores_brackets_inside_strings(text: bytes, depth: int) -> None:
    assert json_nesting_depth(text) == depth


async def test_access_log_has_request_id_and_no_query_string(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="madoguchi.access"):
        response = await client.get(
            "/api/v1/municipalities", params={"name": "山田太郎", "token": "secret-token"}
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "madoguchi.access"]
    assert any("/api/v1/municipalities" in line and "200" in line for line in lines)
    joined = "\n".join(lines)
    assert "山田" not in joined and "secret-token" not in joined
    assert any(
        getattr(r, "request_id", None) == response.headers["x-request-id"]
        for r in caplog.records
        if r.name == "madoguchi.access"
    )


def test_production_refuses_development_secrets() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(environment="production", database_url="postgresql+asyncpg://x@y/z")
    with pytest.raises(ValueError, match="PostgreSQL"):
        Settings(
            environment="production",
            secret_key="x" * 40,
            database_url="sqlite+aiosqlite:///prod.db",
        )


async def test_unexpected_error_is_a_500_problem_without_the_message(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    personal = "山田太郎 0901234567"

    async def broken() -> None:
        raise RuntimeError(personal)

    app.add_api_route("/api/v1/broken", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.ERROR):
            response = await client.get("/api/v1/broken")
    await app.state.engine.dispose()
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "INTERNAL_ERROR"
    assert "山田" not in response.text
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "RuntimeError" in logged
    assert "山田" not in logged and "0901234567" not in logged


async def test_missing_credentials_are_401_with_a_bearer_challenge(
    client: httpx.AsyncClient,
) -> None:
    citizen = await client.get("/api/v1/submissions/00000000-0000-4000-8000-000000000000")
    staff = await client.get("/api/v1/admin/submissions")
    for response in (citizen, staff):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"] == PROBLEM


async def test_every_401_names_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    """RFC 9110 §11.6.1: a refused token or sign-in says which scheme would be accepted."""
    junk = {"Authorization": "Bearer not-a-token"}
    refusals = {
        "citizen token": await client.get("/api/v1/me/submissions", headers=junk),
        "staff token": await client.get("/api/v1/admin/submissions", headers=junk),
        "sign-in": await client.post(
            "/api/v1/admin/auth/token",
            data={"username": "nobody@tomi.example", "password": "wrong password 123"},
        ),
    }
    for what, response in refusals.items():
        assert response.status_code == 401, what
        assert response.headers["www-authenticate"] == "Bearer", what
        assert response.headers["content-type"] == PROBLEM, what


async def test_a_serving_process_collects_garbage_less_often(settings: Settings) -> None:
    """What is alive once the app serves is left out of garbage collection and young
    collections are rarer (app.main.collect_garbage_less_often), once per process;
    garbage cycles are still freed."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        assert gc.get_threshold() == GARBAGE_THRESHOLDS
        assert gc.get_freeze_count() > 0

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    freed = weakref.ref(Cycle())
    gc.collect()
    assert freed() is None

"""Browser security headers on every response and CORS from the allow-list setting."""

from __future__ import annotations

import httpx
import pytest

from app.config import Settings
from app.main import create_app


async def _get(settings: Settings, path: str, **kwargs: object) -> httpx.Response:
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.request(kwargs.pop("method", "GET"), path, **kwargs)  # type: ignore[arg-type]
    await app.state.engine.dispose()
    return response


@pytest.mark.parametrize(
    "path", ["/api/v1/municipalities", "/api/v1/nothing-here", "/healthz", "/openapi.json"]
)
async def test_api_responses_carry_a_restrictive_policy(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    # Served over plain http in development: no HSTS.
    assert "strict-transport-security" not in response.headers


async def test_pages_of_the_web_client_may_load_their_own_scripts(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


async def test_errors_from_the_middleware_carry_the_headers_too(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    response = await client.post(
        "/api/v1/municipalities",
        content=b"x" * (settings.max_request_body_bytes + 1),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_hsts_when_the_public_url_is_https(settings: Settings) -> None:
    https = settings.model_copy(update={"public_base_url": "https://madoguchi.example.jp"})
    response = await _get(https, "/healthz")
    assert response.headers["strict-transport-security"].startswith("max-age=")


async def test_cors_is_off_by_default(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/municipalities", headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in response.headers


async def test_cors_allows_only_the_listed_origins(settings: Settings) -> None:
    allowed = settings.model_copy(update={"cors_allow_origins": ["https://app.example.jp"]})
    preflight = {
        "Origin": "https://app.example.jp",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,idempotency-key",
    }
    ok = await _get(allowed, "/api/v1/municipalities", method="OPTIONS", headers=preflight)
    assert ok.status_code == 200
    assert ok.headers["access-control-allow-origin"] == "https://app.example.jp"

    refused = await _get(
        allowed,
        "/api/v1/municipalities",
        method="OPTIONS",
        headers={**preflight, "Origin": "https://evil.example"},
    )
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers

    simple = await _get(
        allowed, "/api/v1/municipalities", headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in simple.headers

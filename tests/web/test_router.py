"""The web client is served by the app: `/`, `/analyst`, `/assets/...`, next to (never
over) `/api/v1` and `/docs`."""

from __future__ import annotations

import httpx


async def test_pages_and_assets_are_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/assets/app.js">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]

    script = await client.get("/assets/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert (await client.get("/assets/style.css")).headers["content-type"].startswith("text/css")
    assert (await client.get("/analyst")).status_code == 200
    assert (await client.get("/assets/missing.js")).status_code == 404


async def test_api_and_docs_are_untouched(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    listing = await client.get("/api/v1/municipalities")
    assert listing.status_code == 200
    assert listing.headers["content-type"].startswith("application/json")
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/" not in paths
    assert "/api/v1/client-config" in paths


async def test_client_config_offers_the_test_card_outside_production(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/client-config")
    assert response.json() == {"environment": "test", "test_card_enabled": True}


async def test_client_config_hides_the_test_card_in_production() -> None:
    from app.config import Settings
    from app.web.router import client_config

    # Only `environment` is read; the production checks on secrets are tested elsewhere.
    production = Settings.model_construct(environment="production")
    config = await client_config(production)
    assert config.model_dump() == {"environment": "production", "test_card_enabled": False}

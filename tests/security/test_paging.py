"""Page sizes are capped: every list route that takes `limit` states its maximum in the
OpenAPI schema and refuses one more (422) instead of reading the whole table."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_models import StaffRole
from app.config import Settings
from app.main import create_app
from tests.factories import create_staff, seed_municipalities, staff_headers


def _paged_routes(settings: Settings) -> list[tuple[str, int]]:
    """(path, maximum of `limit`) of every GET route with a `limit` query parameter."""
    paged = []
    for path, operations in create_app(settings).openapi()["paths"].items():
        parameters: list[dict[str, Any]] = operations.get("get", {}).get("parameters", [])
        for parameter in parameters:
            if parameter["name"] == "limit" and parameter["in"] == "query":
                paged.append((path, parameter["schema"]["maximum"]))
    return paged


async def test_every_page_size_is_capped(
    client: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await seed_municipalities(session_factory)
    staff = await create_staff(session_factory, roles=tuple(StaffRole))
    headers = staff_headers(settings, staff)
    paged = _paged_routes(settings)
    assert len(paged) >= 6
    for path, maximum in paged:
        assert maximum <= 1000, path
        url = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
        at_most = await client.get(url, params={"limit": maximum}, headers=headers)
        assert at_most.status_code in (200, 404), (path, at_most.text)
        too_many = await client.get(url, params={"limit": maximum + 1}, headers=headers)
        assert too_many.status_code == 422, (path, too_many.text)
        negative = await client.get(url, params={"offset": -1}, headers=headers)
        assert negative.status_code == 422, (path, negative.text)

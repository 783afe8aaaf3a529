"""KPI reports are reused while nothing they are computed from has changed: a new
application (folded or not), a fold and a publication each give fresh figures and a new
ETag; a client holding the current ETag gets 304 Not Modified."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kpi import folding
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.helpers import Applications, ProcedureClock, jst

FREE = "reports-free"
LATER = "reports-later"
USAGE = ("/api/v1/kpi/usage", {"fiscal_year": "2025", "group_by": ""})


@pytest.fixture
async def catalog(
    session_factory: async_sessionmaker[AsyncSession], procedure_clock: ProcedureClock
) -> None:
    await seed_municipalities(session_factory)
    await procedure_clock.publish(jst(2025, 4, 1, 9), simple_definition(FREE, fee_rules=[]))


async def _usage(
    api: httpx.AsyncClient, headers: dict[str, str], etag: str | None = None
) -> httpx.Response:
    path, params = USAGE
    conditional = {"If-None-Match": etag} if etag is not None else {}
    return await api.get(path, params=params, headers={**headers, **conditional})


async def test_figures_and_etag_follow_every_change_and_304_while_none(
    catalog: None,
    kpi_api: httpx.AsyncClient,
    analyst: dict[str, str],
    applications: Applications,
    procedure_clock: ProcedureClock,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await applications.online(FREE, jst(2025, 6, 2, 9))
    first = await _usage(kpi_api, analyst)
    assert first.status_code == 200
    assert first.json()["total"]["applications"] == 1
    etag = first.headers["ETag"]

    unchanged = await _usage(kpi_api, analyst, etag)
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["ETag"] == etag

    # A new application, not folded yet: counted at once, under a new ETag.
    await applications.online(FREE, jst(2025, 6, 3, 9))
    received = await _usage(kpi_api, analyst, etag)
    assert received.status_code == 200
    assert received.json()["total"]["applications"] == 2
    assert received.headers["ETag"] != etag

    # Folded: the same figures, read from the daily and month rows now.
    assert await folding.fold_pending(session_factory) > 0
    folded = await _usage(kpi_api, analyst, received.headers["ETag"])
    assert folded.status_code == 200
    assert folded.json() == received.json()

    # A publication changes the catalog the lists and the trend are built from.
    listed = await kpi_api.get("/api/v1/kpi/procedures", headers=analyst)
    assert [item["procedure_code"] for item in listed.json()["items"]] == [FREE]
    await procedure_clock.publish(jst(2025, 7, 1, 9), simple_definition(LATER, fee_rules=[]))
    relisted = await kpi_api.get(
        "/api/v1/kpi/procedures", headers={**analyst, "If-None-Match": listed.headers["ETag"]}
    )
    assert relisted.status_code == 200
    assert [item["procedure_code"] for item in relisted.json()["items"]] == [FREE, LATER]


async def test_json_and_csv_of_one_report_have_their_own_etags(
    catalog: None, kpi_api: httpx.AsyncClient, analyst: dict[str, str]
) -> None:
    path, params = USAGE
    as_json = await kpi_api.get(path, params=params, headers=analyst)
    as_csv = await kpi_api.get(f"{path}.csv", params=params, headers=analyst)
    assert as_json.headers["ETag"] != as_csv.headers["ETag"]
    again = await kpi_api.get(
        f"{path}.csv", params=params, headers={**analyst, "If-None-Match": as_json.headers["ETag"]}
    )
    assert again.status_code == 200
    assert again.content == as_csv.content


async def test_open_data_answers_304_with_its_cache_lifetime(
    catalog: None, kpi_api: httpx.AsyncClient, applications: Applications
) -> None:
    await applications.online(FREE, jst(2025, 6, 2, 9))
    url = f"/api/v1/municipalities/{TOMI}/open-data/applications.csv"
    first = await kpi_api.get(url)
    assert first.status_code == 200
    assert "2025-06_" + FREE in first.text
    again = await kpi_api.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]

"""Who may read the KPI: analysts and admins, of their own municipality only; the open
data needs nobody. Every /api/v1/kpi route declares its rule through staff_access."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.auth.staff_access import AccessRule, declared_rules
from app.auth.staff_models import StaffRole
from app.config import Settings
from app.main import create_app
from tests.factories import TOMI, UEDA, create_staff, staff_headers
from tests.kpi.conftest import Seeded

KPI_PREFIX = "/api/v1/kpi"
ANALYSTS = AccessRule(roles=frozenset({StaffRole.ANALYST, StaffRole.ADMIN}))
KPI_ROUTES = [
    "/online-procedures",
    "/online-procedures.csv",
    "/procedures",
    "/procedures.csv",
    "/usage",
    "/usage.csv",
]


def test_every_kpi_route_declares_the_analyst_rule(settings: Settings) -> None:
    declared = {}
    for route in iter_route_contexts(create_app(settings).routes):
        path = route.path or ""
        if path.startswith(KPI_PREFIX):
            declared[path.removeprefix(KPI_PREFIX)] = declared_rules(route.dependant)
    assert sorted(declared) == sorted(KPI_ROUTES)
    assert all(rules == [ANALYSTS] for rules in declared.values()), declared


def test_open_data_routes_need_no_sign_in(settings: Settings) -> None:
    open_data = [
        route
        for route in iter_route_contexts(create_app(settings).routes)
        if "/open-data/" in (route.path or "")
    ]
    assert len(open_data) == 3
    assert all(declared_rules(route.dependant) == [] for route in open_data)


@pytest.mark.parametrize("path", KPI_ROUTES)
async def test_roles(
    path: str,
    kpi_api: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    analyst: dict[str, str],
) -> None:
    url = KPI_PREFIX + path
    anonymous = await kpi_api.get(url)
    assert anonymous.status_code == 401
    for role in StaffRole:
        staff = await create_staff(session_factory, roles=(role,))
        response = await kpi_api.get(url, headers=staff_headers(settings, staff))
        expected = 200 if role in (StaffRole.ANALYST, StaffRole.ADMIN) else 403
        assert response.status_code == expected, (role, response.text)


async def test_each_analyst_sees_their_own_municipality(
    kpi_api: httpx.AsyncClient,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    analyst: dict[str, str],
    seeded: Seeded,
) -> None:
    ueda = await create_staff(session_factory, municipality_code=UEDA, roles=("analyst",))
    params = {"from": "2025-04-01", "to": "2025-04-30", "group_by": ""}
    seen = {}
    for code, headers in ((TOMI, analyst), (UEDA, staff_headers(settings, ueda))):
        response = await kpi_api.get(f"{KPI_PREFIX}/usage", params=params, headers=headers)
        body = response.json()
        assert body["municipality_code"] == code
        seen[code] = body["total"]["applications"]
    assert seen == {TOMI: 4, UEDA: 1}  # 東御市: a2 a3 c1 c2; 上田市: its own one
    trend = await kpi_api.get(
        f"{KPI_PREFIX}/online-procedures", headers=staff_headers(settings, ueda)
    )
    assert trend.json()["baseline"] is None  # 上田市 set no baseline
    assert [item["online_procedures"] for item in trend.json()["items"]] == [1, 1]

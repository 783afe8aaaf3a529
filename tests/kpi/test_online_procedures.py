"""行政手続のオンライン手続数 on the seeded catalog history (tests/kpi/conftest.py):
per fiscal year against the baseline, per department, the list behind the number, the
edges at midnight JST between 31 March and 1 April, and the CSV twins."""

from __future__ import annotations

from typing import Any

import httpx

from app.kpi.schemas import Baseline
from app.kpi.service import baseline_of
from app.municipalities.models import Municipality
from tests.kpi.conftest import ALLOWANCE, CERTIFICATE, RETIRED, SIGNED, Seeded, Today

TREND = "/api/v1/kpi/online-procedures"
LIST = "/api/v1/kpi/procedures"


async def get(api: httpx.AsyncClient, url: str, headers: dict[str, str], **params: Any) -> Any:
    response = await api.get(url, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_trend_per_fiscal_year_against_the_baseline(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    body = await get(kpi_api, TREND, analyst)
    assert body["baseline"] == {
        "fiscal_year": 2021,
        "fiscal_year_label": "令和3年度",
        "online_procedures": 13,
    }
    assert body["items"] == [
        {
            "fiscal_year": 2024,
            "fiscal_year_label": "令和6年度",
            "as_of": "2025-03-31",
            "department": None,
            "online_procedures": 3,  # retired, certificate, signed (23:59 on 31 March)
            "fully_online_procedures": 3,
            "first_published": 3,
            "retired": 0,
            "change_from_baseline": -10,
        },
        {
            "fiscal_year": 2025,
            "fiscal_year_label": "令和7年度",
            "as_of": "2026-01-15",  # the year is not over: counted today
            "department": None,
            "online_procedures": 3,  # certificate (2 versions, counted once), signed, allowance
            "fully_online_procedures": 2,  # allowance needs an identity check in person
            "first_published": 1,  # allowance, at 00:00 on 1 April
            "retired": 1,
            "change_from_baseline": -10,
        },
    ]


async def test_trend_per_department(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    body = await get(kpi_api, TREND, analyst, fiscal_year=2025, group_by="department")
    rows = {
        item["department"]: (
            item["online_procedures"],
            item["fully_online_procedures"],
            item["first_published"],
            item["retired"],
            item["change_from_baseline"],
        )
        for item in body["items"]
    }
    assert rows == {
        "子育て支援課": (1, 0, 1, 0, None),
        "市民課": (1, 1, 0, 1, None),
        "税務課": (1, 1, 0, 0, None),
    }


async def test_a_year_that_has_not_ended_counts_at_today(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded, today: Today
) -> None:
    """Standing on 2025-09-30, before kpi-retired was retired, FY2025 has 4 online."""
    today.day = today.day.replace(year=2025, month=9, day=30)
    body = await get(kpi_api, TREND, analyst, fiscal_year=2025)
    (row,) = body["items"]
    assert (row["as_of"], row["online_procedures"], row["retired"]) == ("2025-09-30", 4, 0)


async def test_the_list_behind_the_number_at_the_fiscal_year_edge(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    """kpi-signed went online at 23:59 JST on 31 March, kpi-allowance at 00:00 on 1 April."""
    counts = {}
    for day in ("2025-03-30", "2025-03-31", "2025-04-01"):
        body = await get(kpi_api, LIST, analyst, to=day)
        counts[day] = [item["procedure_code"] for item in body["items"]]
        assert body["online_procedures"] == len(body["items"])  # nothing retired yet
    assert counts == {
        "2025-03-30": [CERTIFICATE, RETIRED],
        "2025-03-31": [CERTIFICATE, RETIRED, SIGNED],
        "2025-04-01": [ALLOWANCE, CERTIFICATE, RETIRED, SIGNED],
    }


async def test_the_list_for_a_fiscal_year(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    body = await get(kpi_api, LIST, analyst, fiscal_year=2025)
    assert (body["period_from"], body["as_of"]) == ("2025-04-01", "2026-01-15")
    assert (body["online_procedures"], body["fully_online_procedures"]) == (3, 2)
    rows = {item["procedure_code"]: item for item in body["items"]}
    assert rows[ALLOWANCE] == {
        "procedure_code": ALLOWANCE,
        "title_ja": "テスト手当の請求",
        "title_en": "Test allowance claim",
        "department": "子育て支援課",
        "status": "online",
        "version": 1,
        "first_published_on": "2025-04-01",
        "retired_on": None,
        "identity_requirement": "none",
        "fee_due": False,
        "fully_online": False,
        "visit_reasons": ["identity_check"],
        "first_published_in_period": True,
        "retired_in_period": False,
    }
    assert rows[RETIRED]["status"] == "retired"
    assert rows[RETIRED]["retired_on"] == "2025-10-01"
    assert rows[RETIRED]["retired_in_period"] is True
    assert rows[CERTIFICATE]["version"] == 2
    assert rows[CERTIFICATE]["fee_due"] is True
    assert rows[CERTIFICATE]["fully_online"] is True  # the fee is paid online
    assert rows[CERTIFICATE]["first_published_on"] == "2024-06-01"
    assert rows[SIGNED]["identity_requirement"] == "jpki_sign"

    earlier = await get(kpi_api, LIST, analyst, to="2025-06-30")
    assert {item["procedure_code"]: item["version"] for item in earlier["items"]}[CERTIFICATE] == 1


async def test_csv_twins_as_documented(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    trend = await kpi_api.get(f"{TREND}.csv", headers=analyst)
    assert trend.status_code == 200
    assert trend.headers["content-type"] == "text/csv; charset=utf-8"
    assert trend.content.decode("utf-8-sig").split("\r\n") == [
        "fiscal_year,fiscal_year_label,as_of,department,online_procedures,"
        "fully_online_procedures,first_published,retired,change_from_baseline",
        "2024,令和6年度,2025-03-31,,3,3,3,0,-10",
        "2025,令和7年度,2026-01-15,,3,2,1,1,-10",
        "",
    ]
    listing = await kpi_api.get(f"{LIST}.csv", params={"fiscal_year": 2025}, headers=analyst)
    assert listing.content.startswith(b"\xef\xbb\xbf")
    assert listing.content.decode("utf-8-sig").split("\r\n") == [
        "procedure_code,title_ja,title_en,department,status,version,first_published_on,"
        "retired_on,identity_requirement,fee_due,fully_online,visit_reasons,"
        "first_published_in_period,retired_in_period",
        "kpi-allowance,テスト手当の請求,Test allowance claim,子育て支援課,online,1,2025-04-01,,"
        "none,0,0,identity_check,1,0",
        "kpi-certificate,テスト証明書の交付請求（第2版）,Test certificate,市民課,online,2,"
        "2024-06-01,,none,1,1,,0,0",
        "kpi-retired,テスト証明書の交付請求,Request for a test certificate,市民課,retired,1,"
        "2024-04-01,2025-10-01,none,1,1,,0,1",
        "kpi-signed,テスト署名付き届出,Signed test notification,税務課,online,1,2025-03-31,,"
        "jpki_sign,0,1,,0,0",
        "",
    ]


def test_the_baseline_comes_from_the_municipality_settings() -> None:
    assert baseline_of(
        Municipality(settings={"kpi_baseline": {"fiscal_year": 2021, "online_procedures": 13}})
    ) == Baseline(fiscal_year=2021, fiscal_year_label="令和3年度", online_procedures=13)
    assert baseline_of(Municipality(settings={})) is None
    assert baseline_of(Municipality(settings={"kpi_baseline": {"fiscal_year": "x"}})) is None

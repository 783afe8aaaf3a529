"""Usage figures on the seeded history (tests/kpi/conftest.py: Seeded), every number
worked out by hand: counter vs online, オンライン利用率, card share, cashless share,
returned rate, lead times, the fiscal-year edge at midnight JST, and the CSV twin."""

from __future__ import annotations

from typing import Any

import httpx

from app.kpi.csv_export import USAGE_FIGURE_COLUMNS
from tests.kpi.conftest import CERTIFICATE, SIGNED, Seeded

USAGE = "/api/v1/kpi/usage"

FY2025_TOTAL = {
    "applications": 7,  # a2 a3 a4 s1 online; c1 c2 c3 at the counter
    "online": 4,
    "counter": 3,
    "online_rate": 0.5714,  # 4 / 7
    "with_card": 2,  # a2 (card login), s1 (card signature)
    "card_share": 0.5,  # 2 / 4 online
    "paid_online": 2,  # a2, a4 (a3 withdrew before paying)
    "paid_offline": 1,  # c1 paid 600 yen at the counter; c2 had no fee
    "cashless_share": 0.6667,  # 2 / 3
    "returned": 2,  # a2, c3
    "returned_rate": 0.2857,  # 2 / 7
    "decided": 5,
    "approved": 4,  # a2 c1 c2 s1
    "rejected": 1,  # a4
    "withdrawn": 2,  # a3 c3
    "lead_time_p50_hours": 48,  # [6, 24, 48, 48, 84]: the 3rd of 5
    # the 5th (4.5 rounded up): 84 hours, in the bucket from 72 to 96 hours
    "lead_time_p90_hours": 72,
}
FY2025_CERTIFICATE = {
    "applications": 5,
    "online": 3,
    "counter": 2,
    "online_rate": 0.6,
    "with_card": 1,
    "card_share": 0.3333,
    "paid_online": 2,
    "paid_offline": 1,
    "cashless_share": 0.6667,
    "returned": 1,
    "returned_rate": 0.2,
    "decided": 4,
    "approved": 3,
    "rejected": 1,
    "withdrawn": 1,
    "lead_time_p50_hours": 24,  # [6, 24, 48, 84]: the 2nd of 4
    "lead_time_p90_hours": 72,  # the 4th (3.6 rounded up): 84, in the 72-96 hour bucket
}
FY2025_SIGNED = {
    "applications": 2,
    "online": 1,
    "counter": 1,
    "online_rate": 0.5,
    "with_card": 1,
    "card_share": 1.0,
    "paid_online": 0,
    "paid_offline": 0,
    "cashless_share": None,  # no fee: no share to speak of
    "returned": 1,
    "returned_rate": 0.5,
    "decided": 1,
    "approved": 1,
    "rejected": 0,
    "withdrawn": 1,
    "lead_time_p50_hours": 48,
    "lead_time_p90_hours": 48,
}
FY2024_TOTAL = {
    "applications": 1,  # a1 at 23:59 on 31 March; paid and decided in FY2025
    "online": 1,
    "counter": 0,
    "online_rate": 1.0,
    "with_card": 0,
    "card_share": 0.0,
    "paid_online": 1,
    "paid_offline": 0,
    "cashless_share": 1.0,
    "returned": 0,
    "returned_rate": 0.0,
    "decided": 1,
    "approved": 1,
    "rejected": 0,
    "withdrawn": 0,
    "lead_time_p50_hours": 36,
    "lead_time_p90_hours": 36,
}


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in USAGE_FIGURE_COLUMNS}


async def get(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await api.get(USAGE, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_fiscal_year_totals_and_per_procedure(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    body = await get(kpi_api, analyst, fiscal_year=2025)
    assert body["period_from"] == "2025-04-01"
    assert body["period_to"] == "2026-03-31"
    assert body["fiscal_year_label"] == "令和7年度"
    assert body["group_by"] == ["procedure"]
    assert body["total"] == FY2025_TOTAL
    by_code = {item["procedure_code"]: item for item in body["items"]}
    assert list(by_code) == [CERTIFICATE, SIGNED]
    assert figures(by_code[CERTIFICATE]) == FY2025_CERTIFICATE
    assert figures(by_code[SIGNED]) == FY2025_SIGNED
    assert by_code[CERTIFICATE]["procedure_title"] == "テスト証明書の交付請求（第2版）"


async def test_the_fiscal_year_turns_at_midnight_in_japan(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    """a1 at 23:59 JST on 31 March is FY2024 (14:59 UTC, still 31 March anyway); a2 at
    00:00 JST on 1 April is FY2025 although it is still 31 March in UTC."""
    fy2024 = await get(kpi_api, analyst, fiscal_year=2024, group_by="")
    assert fy2024["total"] == FY2024_TOTAL
    assert fy2024["fiscal_year_label"] == "令和6年度"
    last_day = await get(kpi_api, analyst, **{"from": "2025-03-31", "to": "2025-03-31"})
    assert last_day["total"]["applications"] == 1
    first_day = await get(kpi_api, analyst, **{"from": "2025-04-01", "to": "2025-04-01"})
    assert first_day["total"]["applications"] == 1
    assert first_day["total"]["with_card"] == 1  # a2, the card login
    assert first_day["fiscal_year"] is None  # one day is not a whole fiscal year


async def test_by_channel_month_fiscal_year_and_department(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    by_channel = await get(kpi_api, analyst, fiscal_year=2025, group_by="channel")
    rows = {item["channel"]: item for item in by_channel["items"]}
    assert (rows["online"]["applications"], rows["counter"]["applications"]) == (4, 3)
    assert rows["online"]["online_rate"] == 1.0
    assert rows["counter"]["online_rate"] == 0.0
    assert rows["counter"]["with_card"] == 0  # the counter never counts as card use
    # online leads [48, 48, 84]; counter [6, 24] (84: the bucket from 72 to 96 hours)
    assert (rows["online"]["lead_time_p50_hours"], rows["online"]["lead_time_p90_hours"]) == (
        48,
        72,
    )
    assert (rows["counter"]["lead_time_p50_hours"], rows["counter"]["lead_time_p90_hours"]) == (
        6,
        24,
    )

    by_month = await get(
        kpi_api, analyst, **{"from": "2025-03-01", "to": "2025-05-31", "group_by": "month"}
    )
    months = {item["month"]: item for item in by_month["items"]}
    assert {m: (r["online"], r["counter"]) for m, r in months.items()} == {
        "2025-03": (1, 0),
        "2025-04": (2, 2),  # a2 a3 online, c1 c2 at the counter
        "2025-05": (2, 1),  # a4 s1 online, c3 at the counter
    }

    by_year = await get(
        kpi_api, analyst, **{"from": "2024-04-01", "to": "2026-03-31", "group_by": "fiscal_year"}
    )
    years = {item["fiscal_year"]: item for item in by_year["items"]}
    assert figures(years[2024]) == FY2024_TOTAL
    assert figures(years[2025]) == FY2025_TOTAL
    assert years[2025]["fiscal_year_label"] == "令和7年度"

    by_department = await get(kpi_api, analyst, fiscal_year=2025, group_by="department")
    departments = {item["department"]: figures(item) for item in by_department["items"]}
    assert departments == {"市民課": FY2025_CERTIFICATE, "税務課": FY2025_SIGNED}

    combined = await get(kpi_api, analyst, fiscal_year=2025, group_by="procedure,channel")
    keys = [(item["procedure_code"], item["channel"]) for item in combined["items"]]
    assert keys == [
        (CERTIFICATE, "counter"),
        (CERTIFICATE, "online"),
        (SIGNED, "counter"),
        (SIGNED, "online"),
    ]


async def test_usage_csv_is_the_json_as_documented(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    response = await kpi_api.get(
        f"{USAGE}.csv", params={"fiscal_year": 2025, "group_by": "procedure"}, headers=analyst
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="usage-202193-2025-04-01_2026-03-31.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    text = response.content.decode("utf-8-sig")
    assert text.split("\r\n") == [
        "procedure_code,procedure_title,applications,online,counter,online_rate,with_card,"
        "card_share,paid_online,paid_offline,cashless_share,returned,returned_rate,decided,"
        "approved,rejected,withdrawn,lead_time_p50_hours,lead_time_p90_hours",
        "kpi-certificate,テスト証明書の交付請求（第2版）,5,3,2,0.6,1,0.3333,2,1,0.6667,1,0.2,"
        "4,3,1,1,24,72",
        "kpi-signed,テスト署名付き届出,2,1,1,0.5,1,1.0,0,0,,1,0.5,1,1,0,1,48,48",
        "",
    ]

    total_only = await kpi_api.get(
        f"{USAGE}.csv", params={"fiscal_year": 2025, "group_by": ""}, headers=analyst
    )
    lines = total_only.content.decode("utf-8-sig").split("\r\n")
    assert lines[0].startswith("applications,online,counter,")
    assert lines[1] == "7,4,3,0.5714,2,0.5,2,1,0.6667,2,0.2857,5,4,1,2,48,72"


async def test_another_municipalitys_applications_never_count(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    """上田市's application of 2025-04-20 is in neither the total nor any row."""
    body = await get(kpi_api, analyst, **{"from": "2025-04-20", "to": "2025-04-20"})
    assert body["municipality_code"] == "202193"
    assert body["total"]["applications"] == 0
    assert body["items"] == []


async def test_an_empty_period(kpi_api: httpx.AsyncClient, analyst: dict[str, str]) -> None:
    body = await get(kpi_api, analyst, fiscal_year=2030)
    assert body["items"] == []
    assert body["total"]["applications"] == 0
    assert body["total"]["online_rate"] is None
    assert body["total"]["lead_time_p50_hours"] is None


async def test_parameters_are_checked(kpi_api: httpx.AsyncClient, analyst: dict[str, str]) -> None:
    both = await kpi_api.get(
        USAGE, params={"fiscal_year": 2025, "from": "2025-04-01"}, headers=analyst
    )
    assert both.status_code == 422
    assert both.json()["code"] == "KPI_PERIOD_INVALID"
    backwards = await kpi_api.get(
        USAGE, params={"from": "2025-05-01", "to": "2025-04-01"}, headers=analyst
    )
    assert backwards.json()["code"] == "KPI_PERIOD_INVALID"
    unknown = await kpi_api.get(USAGE, params={"group_by": "procedure,applicant"}, headers=analyst)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "KPI_GROUP_BY_INVALID"
    assert "applicant" in unknown.json()["detail"]
    too_early = await kpi_api.get(USAGE, params={"fiscal_year": 1999}, headers=analyst)
    assert too_early.status_code == 422


async def test_default_period_is_this_fiscal_year_to_today(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], seeded: Seeded
) -> None:
    body = await get(kpi_api, analyst)
    assert (body["period_from"], body["period_to"]) == ("2025-04-01", "2026-01-15")
    assert body["total"] == FY2025_TOTAL

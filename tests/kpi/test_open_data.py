"""The public open-data export: the index, both CSV files byte for byte as documented
in docs/kpi.md, small cells suppressed, complete months only, no login needed."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.submissions.lifecycle import Status
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.conftest import Today
from tests.kpi.helpers import Applications, ProcedureClock, jst

OPEN_DATA = f"/api/v1/municipalities/{TOMI}/open-data"
CERTIFICATE = "od-certificate"
RETIRED = "od-retired"

ONLINE_PROCEDURES_HEADER = (
    "全国地方公共団体コード,ID,地方公共団体名,手続名,手続名_英語,担当課,本人確認,手数料あり,"
    "完全オンライン,公開開始日,廃止日,状態"
)
APPLICATIONS_HEADER = (
    "全国地方公共団体コード,ID,地方公共団体名,年度,年度_和暦,年月,手続コード,手続名,担当課,"
    "申請件数,オンライン申請件数,窓口申請件数,オンライン利用率"
)


@pytest.fixture
async def history(
    procedure_clock: ProcedureClock,
    applications: Applications,
    today: Today,
) -> None:
    """Standing on 2025-10-15, so September is the last complete month.

    od-certificate (no fee) per month received:  online  counter  published as
      2025-03 (one, at 23:59 on the 31st)           1        0   X X X X (alone: see below)
      2025-04, 2025-05                              0        0   0 0 0 (empty rate)
      2025-06                                       3        0   3 3 0 100.0
      2025-07                                       4        3   7 4 3 57.1
      2025-08                                       3        1   4 X X X
      2025-09                                       2        0   X X X X
      2025-10 (not over yet)                        5        0   (not published)
    od-retired (online 2025-05-01 to 2025-09-01 17:00) has none: 0 0 0 every month it
    was online, except 2025-09, hidden as the complement of od-certificate's 2 (the
    month's total, known from 受付番号, would give the 2 away). In 2025-03 nothing else
    was online, so nothing can hide the 1: the month's total is that row.
    """
    today.day = today.day.replace(year=2025, month=10, day=15)
    await seed_municipalities(procedure_clock.factory)
    await procedure_clock.publish(jst(2025, 3, 1, 9), simple_definition(CERTIFICATE, fee_rules=[]))
    await procedure_clock.publish(jst(2025, 5, 1, 9), simple_definition(RETIRED))
    await procedure_clock.retire(jst(2025, 9, 1, 17), RETIRED)
    apps = applications
    await apps.online(CERTIFICATE, jst(2025, 3, 31, 23, 59))
    plan = {6: (3, 0), 7: (4, 3), 8: (3, 1), 9: (2, 0), 10: (5, 0)}
    for month, (online, counter) in plan.items():
        for day in range(1, online + 1):
            submission_id = await apps.online(CERTIFICATE, jst(2025, month, day, 10))
            if day == 1:
                await apps.move(submission_id, Status.IN_REVIEW, jst(2025, month, day, 11))
        for day in range(1, counter + 1):
            await apps.counter(CERTIFICATE, jst(2025, month, 10 + day, 10))


async def test_online_procedures_csv(kpi_api: httpx.AsyncClient, history: None) -> None:
    response = await kpi_api.get(f"{OPEN_DATA}/online-procedures.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=3600"
    assert not response.content.startswith(b"\xef\xbb\xbf")  # no BOM in open data
    assert response.content.decode("utf-8").split("\r\n") == [
        ONLINE_PROCEDURES_HEADER,
        "202193,od-certificate,東御市,テスト証明書の交付請求,Request for a test certificate,"
        "市民課,不要,0,1,2025-03-01,,公開中",
        "202193,od-retired,東御市,テスト証明書の交付請求,Request for a test certificate,"
        "市民課,不要,1,1,2025-05-01,2025-09-01,廃止",
        "",
    ]


async def test_applications_csv_suppresses_small_cells(
    kpi_api: httpx.AsyncClient, history: None
) -> None:
    response = await kpi_api.get(f"{OPEN_DATA}/applications.csv")
    assert response.status_code == 200
    assert response.content.decode("utf-8").split("\r\n") == [
        APPLICATIONS_HEADER,
        f"{TOMI},2025-03_od-certificate,東御市,2024,令和6年度,2025-03,od-certificate,"
        "テスト証明書の交付請求,市民課,X,X,X,X",
        f"{TOMI},2025-04_od-certificate,東御市,2025,令和7年度,2025-04,od-certificate,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-05_od-certificate,東御市,2025,令和7年度,2025-05,od-certificate,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-06_od-certificate,東御市,2025,令和7年度,2025-06,od-certificate,"
        "テスト証明書の交付請求,市民課,3,3,0,100.0",
        f"{TOMI},2025-07_od-certificate,東御市,2025,令和7年度,2025-07,od-certificate,"
        "テスト証明書の交付請求,市民課,7,4,3,57.1",
        f"{TOMI},2025-08_od-certificate,東御市,2025,令和7年度,2025-08,od-certificate,"
        "テスト証明書の交付請求,市民課,4,X,X,X",
        f"{TOMI},2025-09_od-certificate,東御市,2025,令和7年度,2025-09,od-certificate,"
        "テスト証明書の交付請求,市民課,X,X,X,X",
        f"{TOMI},2025-05_od-retired,東御市,2025,令和7年度,2025-05,od-retired,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-06_od-retired,東御市,2025,令和7年度,2025-06,od-retired,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-07_od-retired,東御市,2025,令和7年度,2025-07,od-retired,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-08_od-retired,東御市,2025,令和7年度,2025-08,od-retired,"
        "テスト証明書の交付請求,市民課,0,0,0,",
        f"{TOMI},2025-09_od-retired,東御市,2025,令和7年度,2025-09,od-retired,"
        "テスト証明書の交付請求,市民課,X,X,X,X",
        "",
    ]


async def test_applications_csv_per_fiscal_year(kpi_api: httpx.AsyncClient, history: None) -> None:
    fy2024 = await kpi_api.get(f"{OPEN_DATA}/applications.csv", params={"fiscal_year": 2024})
    lines = fy2024.content.decode("utf-8").split("\r\n")
    assert [line.split(",")[1] for line in lines[1:-1]] == ["2025-03_od-certificate"]
    assert fy2024.headers["content-disposition"] == (
        'inline; filename="202193_applications_2024.csv"'
    )
    fy2025 = await kpi_api.get(f"{OPEN_DATA}/applications.csv", params={"fiscal_year": 2025})
    ids = [line.split(",")[1] for line in fy2025.content.decode("utf-8").split("\r\n")[1:-1]]
    assert ids == [f"2025-{month:02d}_od-certificate" for month in range(4, 10)] + [
        f"2025-{month:02d}_od-retired" for month in range(5, 10)
    ]
    future = await kpi_api.get(f"{OPEN_DATA}/applications.csv", params={"fiscal_year": 2026})
    assert future.content.decode("utf-8") == APPLICATIONS_HEADER + "\r\n"


async def test_the_index_says_what_is_published(kpi_api: httpx.AsyncClient, history: None) -> None:
    response = await kpi_api.get(f"{OPEN_DATA}/index.json")
    assert response.status_code == 200
    body = response.json()
    assert body["municipality_code"] == TOMI
    assert body["municipality_name"] == "東御市"
    assert body["license"] == "CC BY 4.0"
    assert body["generated_on"] == "2025-10-15"
    datasets = {dataset["id"]: dataset for dataset in body["datasets"]}
    assert set(datasets) == {"online-procedures", "applications"}
    applications = datasets["applications"]
    assert applications["url"] == (
        f"http://127.0.0.1:8000/api/v1/municipalities/{TOMI}/open-data/applications.csv"
    )
    assert (applications["encoding"], applications["byte_order_mark"]) == ("UTF-8", False)
    assert (applications["line_terminator"], applications["header_rows"]) == ("CRLF", 1)
    assert ",".join(column["name"] for column in applications["columns"]) == APPLICATIONS_HEADER
    assert applications["suppression"]["threshold"] == 3
    assert applications["suppression"]["marker"] == "X"
    procedures = datasets["online-procedures"]
    assert ",".join(c["name"] for c in procedures["columns"]) == ONLINE_PROCEDURES_HEADER
    assert procedures["suppression"] is None


async def test_unknown_municipalities(kpi_api: httpx.AsyncClient, history: None) -> None:
    not_served = await kpi_api.get("/api/v1/municipalities/131016/open-data/applications.csv")
    assert not_served.status_code == 404
    assert not_served.json()["code"] == "MUNICIPALITY_NOT_FOUND"
    malformed = await kpi_api.get("/api/v1/municipalities/123456/open-data/index.json")
    assert malformed.status_code == 422
    assert malformed.json()["code"] == "MUNICIPALITY_CODE_INVALID"


async def test_a_municipality_without_applications(
    kpi_api: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await seed_municipalities(session_factory)
    response = await kpi_api.get(f"{OPEN_DATA}/applications.csv")
    assert response.status_code == 200
    assert response.content.decode("utf-8") == APPLICATIONS_HEADER + "\r\n"

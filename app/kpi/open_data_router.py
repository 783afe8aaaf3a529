"""Public open data per municipality (no login): aggregates only.

`/municipalities/{code}/open-data/index.json` says what is published; the CSV files
follow the 自治体標準オープンデータセット conventions (app.kpi.open_data, docs/kpi.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.csv_writer import MEDIA_TYPE
from app.dependencies import AppSettings, DbSession
from app.errors import problem_responses
from app.kpi import open_data
from app.kpi.dependencies import Today
from app.kpi.periods import EARLIEST_FISCAL_YEAR, LATEST_FISCAL_YEAR
from app.kpi.schemas import OpenDataIndex
from app.municipalities.service import (
    MunicipalityCodeInvalid,
    MunicipalityNotFound,
    get_municipality,
)

router = APIRouter(tags=["open data"])

_ERRORS = problem_responses(MunicipalityCodeInvalid, MunicipalityNotFound)
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 without a byte order mark, CRLF, one header row",
    }
}


@router.get(
    "/municipalities/{code}/open-data/index.json",
    response_model=OpenDataIndex,
    responses=_ERRORS,
)
async def open_data_index(
    code: str, session: DbSession, settings: AppSettings, today: Today, response: Response
) -> OpenDataIndex:
    """The datasets this municipality publishes, with their columns and rules."""
    municipality = await get_municipality(session, code)
    response.headers["Cache-Control"] = _cache_control(settings.open_data_max_age_seconds)
    return open_data.index(municipality, base_url=settings.public_base_url, today=today)


@router.get(
    "/municipalities/{code}/open-data/online-procedures.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def online_procedures_csv(
    code: str, session: DbSession, settings: AppSettings, today: Today
) -> Response:
    """オンライン手続一覧: every procedure ever offered online, as it stands today."""
    municipality = await get_municipality(session, code)
    table = await open_data.online_procedures(session, municipality, today=today)
    return _csv(table.csv(), f"{code}_online_procedures", settings.open_data_max_age_seconds)


@router.get(
    "/municipalities/{code}/open-data/applications.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def applications_csv(
    code: str,
    session: DbSession,
    settings: AppSettings,
    today: Today,
    fiscal_year: Annotated[
        int | None,
        Query(ge=EARLIEST_FISCAL_YEAR, le=LATEST_FISCAL_YEAR, description="年度, e.g. 2025"),
    ] = None,
) -> Response:
    """手続別・月別申請件数: complete months only, counts of 1-2 suppressed (X)."""
    municipality = await get_municipality(session, code)
    table = await open_data.applications(
        session, municipality, fiscal_year=fiscal_year, today=today
    )
    name = f"{code}_applications" + (f"_{fiscal_year}" if fiscal_year is not None else "")
    return _csv(table.csv(), name, settings.open_data_max_age_seconds)


def _cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}"


def _csv(body: bytes, name: str, max_age: int) -> Response:
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'inline; filename="{name}.csv"',
            "Cache-Control": _cache_control(max_age),
        },
    )

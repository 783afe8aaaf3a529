"""Public open data per municipality (no login): aggregates only.

`/municipalities/{code}/open-data/index.json` says what is published; the CSV files
follow the 自治体標準オープンデータセット conventions (app.kpi.open_data, docs/kpi.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.dependencies import AppSettings, DbSession
from app.errors import problem_responses
from app.kpi import csv_export, open_data, reports
from app.kpi.dependencies import Today
from app.kpi.periods import EARLIEST_FISCAL_YEAR, LATEST_FISCAL_YEAR
from app.kpi.reports import ReportBasis, ReportRoute
from app.kpi.schemas import OpenDataIndex
from app.municipalities.models import Municipality
from app.municipalities.service import (
    MunicipalityCodeInvalid,
    MunicipalityNotFound,
    get_municipality,
)

router = APIRouter(tags=["open data"], route_class=ReportRoute)

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


@dataclass(frozen=True)
class OpenDataQuery:
    """The municipality asked about, today (JST) and the reports of this request."""

    municipality: Municipality
    today: date
    reports: ReportBasis


async def open_data_query(
    code: str, request: Request, session: DbSession, today: Today
) -> OpenDataQuery:
    municipality, basis = await reports.basis(request, session, code, today)
    return OpenDataQuery(municipality, today, basis)


OpenDataParams = Annotated[OpenDataQuery, Depends(open_data_query)]


@router.get(
    "/municipalities/{code}/open-data/online-procedures.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def online_procedures_csv(
    query: OpenDataParams, session: DbSession, settings: AppSettings
) -> Response:
    """オンライン手続一覧: every procedure ever offered online, as it stands today."""

    async def build() -> bytes:
        table = await open_data.online_procedures(session, query.municipality, today=query.today)
        return table.csv()

    body = await query.reports.report(("online-procedures.csv",), build)
    name = f"{query.municipality.code}_online_procedures"
    return _csv(body, name, settings.open_data_max_age_seconds)


@router.get(
    "/municipalities/{code}/open-data/applications.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def applications_csv(
    query: OpenDataParams,
    session: DbSession,
    settings: AppSettings,
    fiscal_year: Annotated[
        int | None,
        Query(ge=EARLIEST_FISCAL_YEAR, le=LATEST_FISCAL_YEAR, description="年度, e.g. 2025"),
    ] = None,
) -> Response:
    """手続別・月別申請件数: complete months only, counts of 1-2 suppressed (X)."""

    async def build() -> bytes:
        return await open_data.applications_csv(
            session,
            query.municipality,
            fiscal_year=fiscal_year,
            today=query.today,
            kept=_kept_parts(query.reports.request),
        )

    body = await query.reports.report(("applications.csv", fiscal_year), build)
    name = f"{query.municipality.code}_applications"
    name += f"_{fiscal_year}" if fiscal_year is not None else ""
    return _csv(body, name, settings.open_data_max_age_seconds)


def _kept_parts(request: Request) -> open_data.KeptParts:
    """The app's parts of applications.csv kept between builds (one per app, like its
    reports: tests that build an app each start empty)."""
    kept: open_data.KeptParts | None = getattr(request.app.state, "open_data_parts", None)
    if kept is None:
        kept = request.app.state.open_data_parts = open_data.KeptParts()
    return kept


def _cache_control(max_age: int) -> str:
    return f"public, max-age={max_age}"


def _csv(body: bytes, name: str, max_age: int) -> Response:
    return csv_export.response(
        body, name, disposition="inline", cache_control=_cache_control(max_age)
    )

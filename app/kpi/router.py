"""Analysts' KPI routes (/kpi/...): JSON, and the same report as CSV at `.csv`.

For staff holding the analyst or admin role, always about their own municipality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from app.auth.staff_access import ACCESS_ERRORS, require
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffPrincipal
from app.csv_writer import MEDIA_TYPE
from app.dependencies import DbSession
from app.errors import problem_responses
from app.kpi import csv_export, service
from app.kpi.dependencies import Today
from app.kpi.periods import (
    EARLIEST_FISCAL_YEAR,
    LATEST_FISCAL_YEAR,
    KpiPeriodInvalid,
    Period,
    fiscal_year_bounds,
    resolve_period,
)
from app.kpi.schemas import OnlineProceduresReport, ProcedureListReport, UsageReport
from app.municipalities.service import get_municipality

router = APIRouter(prefix="/kpi", tags=["kpi"])

AnalystStaff = Annotated[StaffPrincipal, Depends(require(StaffRole.ANALYST, StaffRole.ADMIN))]
"""統計担当 (and admins): aggregates of their own municipality, never personal data."""


DateFrom = Annotated[
    date | None,
    Query(alias="from", description="First day (JST, inclusive), e.g. 2025-04-01"),
]
DateTo = Annotated[
    date | None, Query(alias="to", description="Last day (JST, inclusive), e.g. 2026-03-31")
]
FiscalYear = Annotated[
    int | None,
    Query(
        ge=EARLIEST_FISCAL_YEAR,
        le=LATEST_FISCAL_YEAR,
        description="年度 by the year it starts: 2025 = 令和7年度 (2025-04-01..2026-03-31). "
        "Not together with from/to.",
    ),
]
UsageGroupBy = Annotated[
    str | None,
    Query(
        description="Comma-separated: procedure, department, channel, month, fiscal_year. "
        "Default: procedure. Empty: the total only.",
        examples=["procedure,month"],
    ),
]
TrendGroupBy = Annotated[
    str | None,
    Query(description="Empty (per fiscal year, the default) or `department`"),
]


@dataclass(frozen=True)
class PeriodQuery:
    """The period parameters as sent (`from`/`to` or `fiscal_year`), with today (JST)."""

    today: date
    date_from: date | None
    date_to: date | None
    fiscal_year: int | None


def period_query(
    today: Today,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fiscal_year: FiscalYear = None,
) -> PeriodQuery:
    return PeriodQuery(today, date_from, date_to, fiscal_year)


PeriodParams = Annotated[PeriodQuery, Depends(period_query)]


def _period_or_this_fiscal_year(query: PeriodQuery, start_month: int) -> Period:
    return resolve_period(
        date_from=query.date_from,
        date_to=query.date_to,
        fiscal_year=query.fiscal_year,
        default=service.current_fiscal_year_period(query.today, start_month),
        start_month=start_month,
    )


_ERRORS = problem_responses(*ACCESS_ERRORS, KpiPeriodInvalid, service.KpiGroupByInvalid)
_CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 with a byte order mark (for Excel), CRLF, one header row",
    }
}


# --- オンライン手続数 ---------------------------------------------------------------------------


async def _online_procedures(
    session: DbSession,
    staff: StaffPrincipal,
    query: PeriodQuery,
    group_by: str | None,
) -> OnlineProceduresReport:
    municipality = await get_municipality(session, staff.municipality_code)
    period: Period | None = None
    if query.date_from is not None or query.date_to is not None or query.fiscal_year is not None:
        earliest, _ = fiscal_year_bounds(EARLIEST_FISCAL_YEAR)
        date_from = query.date_from
        if date_from is None and query.fiscal_year is None:
            date_from = earliest  # `to` alone: every year up to it
        period = resolve_period(
            date_from=date_from,
            date_to=query.date_to,
            fiscal_year=query.fiscal_year,
            default=Period(earliest, query.today),
            start_month=municipality.fiscal_year_start_month,
        )
    groups = service.parse_group_by(group_by, service.TREND_DIMENSIONS, ())
    return await service.online_procedure_trend(
        session, municipality, period=period, group_by=groups, today=query.today
    )


@router.get(
    "/online-procedures",
    response_model=OnlineProceduresReport,
    responses=_ERRORS,
)
async def online_procedures(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
    group_by: TrendGroupBy = None,
) -> OnlineProceduresReport:
    """行政手続のオンライン手続数 per fiscal year (at 31 March, or today for this year),
    fully online ones, first published and retired in the year, against the baseline."""
    return await _online_procedures(session, staff, query, group_by)


@router.get(
    "/online-procedures.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def online_procedures_csv(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
    group_by: TrendGroupBy = None,
) -> Response:
    """The online procedure count as CSV (columns: docs/kpi.md)."""
    report = await _online_procedures(session, staff, query, group_by)
    return _csv(
        csv_export.online_procedures_csv(report), f"online-procedures-{staff.municipality_code}"
    )


# --- The list behind the number ----------------------------------------------------------


async def _procedures(
    session: DbSession,
    staff: StaffPrincipal,
    query: PeriodQuery,
) -> ProcedureListReport:
    municipality = await get_municipality(session, staff.municipality_code)
    period = _period_or_this_fiscal_year(query, municipality.fiscal_year_start_month)
    return await service.procedure_list(session, municipality, period=period, today=query.today)


@router.get("/procedures", response_model=ProcedureListReport, responses=_ERRORS)
async def procedures(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
) -> ProcedureListReport:
    """Every procedure published online by the end of the period (default: today), with
    first publication, retirement and whether it is fully online."""
    return await _procedures(session, staff, query)


@router.get(
    "/procedures.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def procedures_csv(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
) -> Response:
    """The procedure list as CSV (columns: docs/kpi.md)."""
    report = await _procedures(session, staff, query)
    return _csv(csv_export.procedure_list_csv(report), f"procedures-{staff.municipality_code}")


# --- Usage --------------------------------------------------------------------------------


async def _usage(
    session: DbSession,
    staff: StaffPrincipal,
    query: PeriodQuery,
    group_by: str | None,
) -> UsageReport:
    municipality = await get_municipality(session, staff.municipality_code)
    period = _period_or_this_fiscal_year(query, municipality.fiscal_year_start_month)
    groups = service.parse_group_by(
        group_by, service.USAGE_DIMENSIONS, service.DEFAULT_USAGE_GROUPS
    )
    return await service.usage(session, municipality, period=period, group_by=groups)


@router.get("/usage", response_model=UsageReport, responses=_ERRORS)
async def usage(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
    group_by: UsageGroupBy = None,
) -> UsageReport:
    """Applications received in the period (default: this fiscal year) by channel,
    オンライン利用率, My Number card share, cashless share, returned rate and lead time."""
    return await _usage(session, staff, query, group_by)


@router.get(
    "/usage.csv",
    response_class=Response,
    responses={**_CSV_RESPONSE, **_ERRORS},
)
async def usage_csv(
    staff: AnalystStaff,
    session: DbSession,
    query: PeriodParams,
    group_by: UsageGroupBy = None,
) -> Response:
    """The usage report as CSV: one row per group (columns: docs/kpi.md)."""
    report = await _usage(session, staff, query, group_by)
    name = f"usage-{staff.municipality_code}-{report.period_from}_{report.period_to}"
    return _csv(csv_export.usage_csv(report), name)


def _csv(body: bytes, name: str) -> Response:
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "private, no-store",
        },
    )

"""Analysts' KPI routes (/kpi/...): JSON, and the same report as CSV at `.csv`.

For staff holding the analyst or admin role, always about their own municipality."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from app.auth.staff_access import ACCESS_ERRORS, require
from app.auth.staff_models import StaffRole
from app.auth.staff_service import StaffPrincipal
from app.dependencies import DbSession
from app.errors import problem_responses
from app.kpi import csv_export, reports, service
from app.kpi.dependencies import Today
from app.kpi.periods import (
    EARLIEST_FISCAL_YEAR,
    LATEST_FISCAL_YEAR,
    KpiPeriodInvalid,
    Period,
    fiscal_year_bounds,
    resolve_period,
)
from app.kpi.reports import ReportBasis, ReportRoute
from app.kpi.schemas import OnlineProceduresReport, ProcedureListReport, UsageReport
from app.municipalities.models import Municipality

router = APIRouter(prefix="/kpi", tags=["kpi"], route_class=ReportRoute)

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
class KpiQuery:
    """The analyst's municipality and the period parameters as sent (`from`/`to` or
    `fiscal_year`), with today (JST)."""

    municipality: Municipality
    today: date
    date_from: date | None
    date_to: date | None
    fiscal_year: int | None
    reports: ReportBasis

    def period_or_this_fiscal_year(self) -> Period:
        start_month = self.municipality.fiscal_year_start_month
        return resolve_period(
            date_from=self.date_from,
            date_to=self.date_to,
            fiscal_year=self.fiscal_year,
            default=service.current_fiscal_year_period(self.today, start_month),
            start_month=start_month,
        )


async def kpi_query(
    request: Request,
    staff: AnalystStaff,
    session: DbSession,
    today: Today,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    fiscal_year: FiscalYear = None,
) -> KpiQuery:
    municipality, basis = await reports.basis(request, session, staff.municipality_code, today)
    return KpiQuery(municipality, today, date_from, date_to, fiscal_year, basis)


KpiParams = Annotated[KpiQuery, Depends(kpi_query)]


_ERRORS = problem_responses(*ACCESS_ERRORS, KpiPeriodInvalid, service.KpiGroupByInvalid)
_CSV_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "UTF-8 with a byte order mark (for Excel), CRLF, one header row",
    },
    **_ERRORS,
}


# --- オンライン手続数 ---------------------------------------------------------------------------


async def online_procedures_report(
    query: KpiParams, session: DbSession, group_by: TrendGroupBy = None
) -> OnlineProceduresReport:
    municipality = query.municipality
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
    return await query.reports.report(
        ("online-procedures", period, tuple(groups)),
        lambda: service.online_procedure_trend(
            session, municipality, period=period, group_by=groups, today=query.today
        ),
    )


OnlineProcedures = Annotated[OnlineProceduresReport, Depends(online_procedures_report)]


@router.get("/online-procedures", response_model=OnlineProceduresReport, responses=_ERRORS)
async def online_procedures(report: OnlineProcedures) -> OnlineProceduresReport:
    """行政手続のオンライン手続数 per fiscal year (at 31 March, or today for this year),
    fully online ones, first published and retired in the year, against the baseline."""
    return report


@router.get("/online-procedures.csv", response_class=Response, responses=_CSV_ERRORS)
async def online_procedures_csv(report: OnlineProcedures) -> Response:
    """The online procedure count as CSV (columns: docs/kpi.md)."""
    name = f"online-procedures-{report.municipality_code}"
    return _csv(csv_export.online_procedures_csv(report), name)


# --- The list behind the number ----------------------------------------------------------


async def procedure_list_report(query: KpiParams, session: DbSession) -> ProcedureListReport:
    period = query.period_or_this_fiscal_year()
    return await query.reports.report(
        ("procedures", period),
        lambda: service.procedure_list(
            session, query.municipality, period=period, today=query.today
        ),
    )


ProcedureList = Annotated[ProcedureListReport, Depends(procedure_list_report)]


@router.get("/procedures", response_model=ProcedureListReport, responses=_ERRORS)
async def procedures(report: ProcedureList) -> ProcedureListReport:
    """Every procedure published online by the end of the period (default: today), with
    first publication, retirement and whether it is fully online."""
    return report


@router.get("/procedures.csv", response_class=Response, responses=_CSV_ERRORS)
async def procedures_csv(report: ProcedureList) -> Response:
    """The procedure list as CSV (columns: docs/kpi.md)."""
    return _csv(csv_export.procedure_list_csv(report), f"procedures-{report.municipality_code}")


# --- Usage --------------------------------------------------------------------------------


async def usage_report(
    query: KpiParams, session: DbSession, group_by: UsageGroupBy = None
) -> UsageReport:
    period = query.period_or_this_fiscal_year()
    groups = service.parse_group_by(
        group_by, service.USAGE_DIMENSIONS, service.DEFAULT_USAGE_GROUPS
    )
    return await query.reports.report(
        ("usage", period, tuple(groups)),
        lambda: service.usage(session, query.municipality, period=period, group_by=groups),
    )


Usage = Annotated[UsageReport, Depends(usage_report)]


@router.get("/usage", response_model=UsageReport, responses=_ERRORS)
async def usage(report: Usage) -> UsageReport:
    """Applications received in the period (default: this fiscal year) by channel,
    オンライン利用率, My Number card share, cashless share, returned rate and lead time."""
    return report


@router.get("/usage.csv", response_class=Response, responses=_CSV_ERRORS)
async def usage_csv(report: Usage) -> Response:
    """The usage report as CSV: one row per group (columns: docs/kpi.md)."""
    name = f"usage-{report.municipality_code}-{report.period_from}_{report.period_to}"
    return _csv(csv_export.usage_csv(report), name)


def _csv(body: bytes, name: str) -> Response:
    return csv_export.response(
        body, name, disposition="attachment", cache_control="private, no-store"
    )

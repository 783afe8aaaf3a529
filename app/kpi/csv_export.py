"""CSV encodings of the KPI reports, written by app.csv_writer (RFC 4180, CRLF line
ends, no cell a spreadsheet would run as a formula).

Analysts' CSV carries a UTF-8 byte order mark so that Excel, which the municipality's
staff open it with, reads the Japanese correctly; its header row is the JSON field
names, so a script can switch between `.csv` and JSON without a mapping. The open-data
CSV has no byte order mark (app.kpi.open_data), as machine readers expect.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from fastapi import Response

from app.csv_writer import MEDIA_TYPE, Cell, encode
from app.kpi.schemas import (
    OnlineProceduresReport,
    ProcedureListReport,
    UsageFigures,
    UsageReport,
)

ONLINE_PROCEDURES_COLUMNS = (
    "fiscal_year",
    "fiscal_year_label",
    "as_of",
    "department",
    "online_procedures",
    "fully_online_procedures",
    "first_published",
    "retired",
    "change_from_baseline",
)
PROCEDURE_LIST_COLUMNS = (
    "procedure_code",
    "title_ja",
    "title_en",
    "department",
    "status",
    "version",
    "first_published_on",
    "retired_on",
    "identity_requirement",
    "fee_due",
    "fully_online",
    "visit_reasons",
    "first_published_in_period",
    "retired_in_period",
)
USAGE_FIGURE_COLUMNS: tuple[str, ...] = tuple(UsageFigures.model_fields)
USAGE_DIMENSION_COLUMNS = {
    "procedure": ("procedure_code", "procedure_title"),
    "department": ("department",),
    "channel": ("channel",),
    "month": ("month",),
    "fiscal_year": ("fiscal_year", "fiscal_year_label"),
}


def response(body: bytes, name: str, *, disposition: str, cache_control: str) -> Response:
    """A CSV file as the response: `attachment` for staff's downloads, `inline` for the
    open data."""
    return Response(
        body,
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'{disposition}; filename="{name}.csv"',
            "Cache-Control": cache_control,
        },
    )


def cell(value: Any) -> Cell:
    """Empty for a missing value, 1/0 for yes/no, numbers as numbers, ISO 8601 dates,
    ';' between list items."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    return str(value)


def online_procedures_csv(report: OnlineProceduresReport) -> bytes:
    rows = (
        [cell(getattr(item, name)) for name in ONLINE_PROCEDURES_COLUMNS] for item in report.items
    )
    return encode(ONLINE_PROCEDURES_COLUMNS, rows, bom=True)


def procedure_list_csv(report: ProcedureListReport) -> bytes:
    rows = ([cell(getattr(item, name)) for name in PROCEDURE_LIST_COLUMNS] for item in report.items)
    return encode(PROCEDURE_LIST_COLUMNS, rows, bom=True)


def usage_columns(group_by: Sequence[str]) -> tuple[str, ...]:
    dimensions = tuple(column for name in group_by for column in USAGE_DIMENSION_COLUMNS[name])
    return dimensions + USAGE_FIGURE_COLUMNS


def usage_csv(report: UsageReport) -> bytes:
    """One row per group; no total row (ask with group_by= empty for the total)."""
    columns = usage_columns(report.group_by)
    rows = ([cell(getattr(item, name)) for name in columns] for item in report.items)
    return encode(columns, rows, bom=True)

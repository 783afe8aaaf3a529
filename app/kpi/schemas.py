"""KPI responses. Every JSON report has a CSV twin whose columns are these field names
(see docs/kpi.md for the exact header rows)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

IdentityRequirement = Literal["none", "jpki_auth", "jpki_sign"]
UsageDimension = Literal["procedure", "department", "channel", "month", "fiscal_year"]
TrendDimension = Literal["department"]


class Baseline(BaseModel):
    """The municipality's own starting point, e.g. 13 procedures online in FY2021."""

    fiscal_year: int
    fiscal_year_label: str = Field(examples=["令和3年度"])
    online_procedures: int


class OnlineProceduresRow(BaseModel):
    fiscal_year: int = Field(description="年度, named after the year it starts (April)")
    fiscal_year_label: str = Field(examples=["令和7年度"])
    as_of: date = Field(description="Counted at the end of this day (JST): 31 March, or today")
    department: str | None = Field(default=None, description="担当課, with group_by=department")
    online_procedures: int = Field(description="オンライン手続数: published online at as_of")
    fully_online_procedures: int = Field(description="Of those, needing no visit (完全オンライン)")
    first_published: int = Field(description="Procedures first published online in the year")
    retired: int = Field(description="Procedures retired during the year and not online at as_of")
    change_from_baseline: int | None = Field(
        default=None, description="online_procedures minus the baseline (whole municipality)"
    )


class OnlineProceduresReport(BaseModel):
    """行政手続のオンライン手続数 per fiscal year, against the municipality's baseline."""

    municipality_code: str
    baseline: Baseline | None
    group_by: list[TrendDimension]
    items: list[OnlineProceduresRow]


class ProcedureListRow(BaseModel):
    procedure_code: str
    title_ja: str
    title_en: str | None
    department: str
    status: Literal["online", "retired"] = Field(description="At as_of")
    version: int = Field(description="The version current at as_of")
    first_published_on: date
    retired_on: date | None = Field(description="When retired, if retired at as_of")
    identity_requirement: IdentityRequirement
    fee_due: bool = Field(description="The version has fee rules (手数料)")
    fully_online: bool
    visit_reasons: list[str] = Field(description="Why a visit is still needed, if it is")
    first_published_in_period: bool
    retired_in_period: bool


class ProcedureListReport(BaseModel):
    """The list behind the number: every procedure published online by as_of."""

    municipality_code: str
    period_from: date
    as_of: date
    online_procedures: int
    fully_online_procedures: int
    items: list[ProcedureListRow]


class UsageFigures(BaseModel):
    applications: int = Field(description="申請件数: applications received")
    online: int
    counter: int
    online_rate: float | None = Field(description="オンライン利用率 = online / applications")
    with_card: int = Field(description="Online, signed or logged in with the My Number card")
    card_share: float | None = Field(description="with_card / online")
    paid_online: int = Field(description="Fee paid cashless through the online payment")
    paid_offline: int = Field(description="Fee paid at the counter")
    cashless_share: float | None = Field(description="paid_online / (paid_online + paid_offline)")
    returned: int = Field(description="Returned for correction (差戻し) at least once")
    returned_rate: float | None = Field(description="returned / applications")
    decided: int = Field(description="approved + rejected")
    approved: int
    rejected: int
    withdrawn: int
    lead_time_p50_hours: int | None = Field(description="Median whole hours, receipt to decision")
    lead_time_p90_hours: int | None = Field(description="90th percentile (nearest rank)")


class UsageRow(UsageFigures):
    procedure_code: str | None = None
    procedure_title: str | None = None
    department: str | None = None
    channel: Literal["online", "counter"] | None = None
    month: str | None = Field(default=None, examples=["2025-04"])
    fiscal_year: int | None = None
    fiscal_year_label: str | None = None


class UsageReport(BaseModel):
    """Applications received in the period (受付日, JST) and what became of them."""

    municipality_code: str
    period_from: date
    period_to: date
    fiscal_year: int | None
    fiscal_year_label: str | None
    group_by: list[UsageDimension]
    items: list[UsageRow]
    total: UsageFigures


class OpenDataColumn(BaseModel):
    name: str
    description: str


class OpenDataSuppression(BaseModel):
    threshold: int
    marker: str
    rule: str


class OpenDataset(BaseModel):
    id: str
    title: str
    title_en: str
    url: str
    media_type: str
    encoding: str
    byte_order_mark: bool
    line_terminator: Literal["CRLF"]
    header_rows: int
    columns: list[OpenDataColumn]
    coverage: str
    suppression: OpenDataSuppression | None


class OpenDataIndex(BaseModel):
    """What the municipality publishes as open data (自治体標準オープンデータセット style)."""

    municipality_code: str
    municipality_name: str
    license: str
    generated_on: date
    datasets: list[OpenDataset]

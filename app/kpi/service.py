"""The KPI figures (no FastAPI here; never commits).

- 行政手続のオンライン手続数: procedures published online at a date, per fiscal year and
  department, from the append-only publish/retire history (app.forms.repository), with how
  many of them are fully online, against the municipality's baseline.
- Usage: applications received per procedure / month / 年度 / channel and what became of
  them, read from the rollups (app.kpi.rollups), never from the applications.

Every date is a date in Japan (app.kpi.periods). See docs/kpi.md for each definition.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast, get_args

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Select,
    Subquery,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import ValidationFailed
from app.forms import repository as forms_repository
from app.forms import service as forms_service
from app.forms.definition import ProcedureDefinition
from app.forms.repository import PublicationEvent, PublishedVersionRef
from app.kpi.models import (
    LEAD_TIME_BUCKETS,
    LEAD_TIME_COLUMNS,
    USAGE_COUNTERS,
    rollup_generations,
    usage_daily,
    usage_deltas,
    usage_monthly,
)
from app.kpi.periods import (
    Period,
    end_of_day,
    fiscal_year_bounds,
    fiscal_year_label,
    fiscal_year_of,
    fiscal_years_between,
    local_date,
    month_key,
    month_label,
)
from app.kpi.schemas import (
    Baseline,
    IdentityRequirement,
    OnlineProceduresReport,
    OnlineProceduresRow,
    ProcedureListReport,
    ProcedureListRow,
    TrendDimension,
    UsageDimension,
    UsageFigures,
    UsageReport,
    UsageRow,
)
from app.municipalities.models import Municipality

USAGE_DIMENSIONS: tuple[str, ...] = get_args(UsageDimension)
TREND_DIMENSIONS: tuple[str, ...] = get_args(TrendDimension)
DEFAULT_USAGE_GROUPS: list[UsageDimension] = ["procedure"]
IDENTITY_CHECK = "identity_check"
"""Visit reason: the procedure collects the 個人番号 (番号法第16条 requires 本人確認)
but asks for no My Number card, so the applicant must show identity in person."""


class KpiGroupByInvalid(ValidationFailed, code="KPI_GROUP_BY_INVALID"): ...


def parse_group_by(raw: str | None, allowed: Sequence[str], default: Sequence[str]) -> list[str]:
    """`group_by=procedure,month` -> ["procedure", "month"]; order kept, repeats dropped."""
    if raw is None:
        return list(default)
    names = [name.strip() for name in raw.split(",") if name.strip()]
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise KpiGroupByInvalid(
            f"Unknown group_by value(s): {', '.join(unknown[:5])}; use {', '.join(allowed)}.",
            f"group_by に使えない値があります: {', '.join(unknown[:5])}"
            f"（使える値: {', '.join(allowed)}）",
        )
    return list(dict.fromkeys(names))


# --- The procedure catalog's history -------------------------------------------------------


@dataclass(frozen=True)
class VersionFacts:
    """What the KPI needs of one published version."""

    version: int
    title_ja: str
    title_en: str | None
    department: str
    identity_requirement: IdentityRequirement
    fee_due: bool
    visit_reasons: tuple[str, ...]

    @classmethod
    def of(cls, number: int, definition: ProcedureDefinition) -> VersionFacts:
        reasons = []
        if definition.my_number_use and definition.identity_requirement == "none":
            reasons.append(IDENTITY_CHECK)
        # Every fee is paid online (app.payments: Stripe or the demo provider), so a fee
        # never needs a visit: a procedure with fee rules is cashless-capable.
        return cls(
            version=number,
            title_ja=definition.title.ja,
            title_en=definition.title.en,
            department=definition.department.ja,
            identity_requirement=definition.identity_requirement,
            fee_due=any(rule.kind != "exemption" for rule in definition.fee_rules),
            visit_reasons=tuple(reasons),
        )

    @property
    def fully_online(self) -> bool:
        return not self.visit_reasons


@dataclass(frozen=True)
class ProcedureState:
    """A procedure as it stood at a moment."""

    online: bool
    facts: VersionFacts
    retired_at: datetime | None


@dataclass
class ProcedureHistory:
    """One procedure's published versions and its publish/retire events."""

    procedure_id: uuid.UUID
    code: str
    versions: dict[int, VersionFacts] = field(default_factory=dict)
    events: list[PublicationEvent] = field(default_factory=list)
    """publish/retire, in the order they happened."""

    @property
    def first_published_at(self) -> datetime | None:
        return next((e.occurred_at for e in self.events if e.action == "published"), None)

    @property
    def latest(self) -> VersionFacts | None:
        return self.versions[max(self.versions)] if self.versions else None

    def state_at(self, moment: datetime) -> ProcedureState | None:
        """None if not yet published by `moment` (exclusive)."""
        online = False
        version: int | None = None
        retired_at: datetime | None = None
        for event in self.events:
            if event.occurred_at >= moment:
                break
            if event.action == "published":
                online, retired_at = True, None
                version = event.version if event.version is not None else version
            elif event.action == "retired":
                online, retired_at = False, event.occurred_at
        if version is None or version not in self.versions:
            return None
        return ProcedureState(online, self.versions[version], retired_at)


async def procedure_histories(
    session: AsyncSession, municipality_code: str
) -> list[ProcedureHistory]:
    """Every procedure ever published by the municipality, with its published versions
    and publish/retire history, by procedure code."""
    history = await forms_repository.publication_history(session, municipality_code)
    histories = {pid: ProcedureHistory(pid, code) for pid, code in history.procedure_codes.items()}
    for version in history.published_versions:
        histories[version.procedure_id].versions[version.version] = await _version_facts(
            session, version
        )
    for event in history.events:
        if event.procedure_id in histories:
            histories[event.procedure_id].events.append(event)
    published = [h for h in histories.values() if h.first_published_at is not None]
    return sorted(published, key=lambda history: history.code)


_VERSION_FACTS: dict[tuple[uuid.UUID, str], VersionFacts] = {}
"""Facts of published versions by (id, digest): a published definition never changes, so
each is loaded and read once per process, not at every KPI request."""
_VERSION_FACTS_LIMIT = 4096


async def _version_facts(session: AsyncSession, version: PublishedVersionRef) -> VersionFacts:
    key = (version.id, version.definition_digest)
    facts = _VERSION_FACTS.get(key)
    if facts is None:
        stored = await forms_service.get_version(session, version.id)
        facts = VersionFacts.of(version.version, forms_service.compiled_version(stored).definition)
        if len(_VERSION_FACTS) >= _VERSION_FACTS_LIMIT:
            _VERSION_FACTS.clear()
        _VERSION_FACTS[key] = facts
    return facts


# --- 行政手続のオンライン手続数 ------------------------------------------------------------------


def baseline_of(municipality: Municipality) -> Baseline | None:
    """settings["kpi_baseline"] = {"fiscal_year": 2021, "online_procedures": 13}."""
    raw = (municipality.settings or {}).get("kpi_baseline")
    if not isinstance(raw, dict):
        return None
    year, count = raw.get("fiscal_year"), raw.get("online_procedures")
    if not isinstance(year, int) or not isinstance(count, int):
        return None
    return Baseline(
        fiscal_year=year, fiscal_year_label=fiscal_year_label(year), online_procedures=count
    )


async def online_procedure_trend(
    session: AsyncSession,
    municipality: Municipality,
    *,
    period: Period | None,
    group_by: Sequence[str],
    today: date,
) -> OnlineProceduresReport:
    """Per fiscal year: procedures online at its end (or at `today`/`period.end` if
    earlier), how many are fully online, first published and retired in the year.
    From the year of the first publication (or the period's, if later) to this year."""
    start_month = municipality.fiscal_year_start_month
    histories = await procedure_histories(session, municipality.code)
    baseline = baseline_of(municipality)
    first_day = min(
        (local_date(h.first_published_at) for h in histories if h.first_published_at),
        default=None,
    )
    start, last_day = (period.start, min(period.end, today)) if period else (first_day, today)
    # Nothing was online in this system before its first publication: no rows of zeros.
    years = (
        fiscal_years_between(max(start, first_day), last_day, start_month)
        if first_day is not None and start is not None
        else []
    )
    by_department = "department" in group_by
    items: list[OnlineProceduresRow] = []
    for year in years:
        year_start, year_end = fiscal_year_bounds(year, start_month)
        as_of = min(year_end, last_day)
        if as_of < year_start:
            continue
        rows = _year_rows(histories, year, year_start, as_of, by_department)
        if not by_department and baseline is not None:
            rows[0].change_from_baseline = rows[0].online_procedures - baseline.online_procedures
        items.extend(rows)
    return OnlineProceduresReport(
        municipality_code=municipality.code,
        baseline=baseline,
        group_by=cast(list[TrendDimension], list(group_by)),
        items=items,
    )


def _year_rows(
    histories: Sequence[ProcedureHistory],
    year: int,
    year_start: date,
    as_of: date,
    by_department: bool,
) -> list[OnlineProceduresRow]:
    moment = end_of_day(as_of)
    counts: dict[str | None, dict[str, int]] = {}
    if not by_department:
        counts[None] = _zero_counts()
    for history in histories:
        state = history.state_at(moment)
        if state is None:
            continue
        key = state.facts.department if by_department else None
        tally = counts.setdefault(key, _zero_counts())
        if state.online:
            tally["online"] += 1
            tally["fully_online"] += int(state.facts.fully_online)
        first_published = history.first_published_at
        if first_published is not None and year_start <= local_date(first_published):
            tally["first_published"] += 1
        if state.retired_at is not None and year_start <= local_date(state.retired_at):
            tally["retired"] += 1
    return [
        OnlineProceduresRow(
            fiscal_year=year,
            fiscal_year_label=fiscal_year_label(year),
            as_of=as_of,
            department=department,
            online_procedures=tally["online"],
            fully_online_procedures=tally["fully_online"],
            first_published=tally["first_published"],
            retired=tally["retired"],
        )
        for department, tally in sorted(counts.items(), key=lambda item: item[0] or "")
    ]


def _zero_counts() -> dict[str, int]:
    return {"online": 0, "fully_online": 0, "first_published": 0, "retired": 0}


async def procedure_list(
    session: AsyncSession, municipality: Municipality, *, period: Period, today: date
) -> ProcedureListReport:
    """Every procedure published online by the end of the period (capped at today),
    as it stood then; the online ones add up to the headline number."""
    as_of = min(period.end, today)
    moment = end_of_day(as_of)
    items = []
    for history in await procedure_histories(session, municipality.code):
        state = history.state_at(moment)
        first_published = history.first_published_at
        if state is None or first_published is None:
            continue
        first_on = local_date(first_published)
        retired_on = local_date(state.retired_at) if state.retired_at is not None else None
        facts = state.facts
        items.append(
            ProcedureListRow(
                procedure_code=history.code,
                title_ja=facts.title_ja,
                title_en=facts.title_en,
                department=facts.department,
                status="online" if state.online else "retired",
                version=facts.version,
                first_published_on=first_on,
                retired_on=retired_on,
                identity_requirement=facts.identity_requirement,
                fee_due=facts.fee_due,
                fully_online=facts.fully_online,
                visit_reasons=list(facts.visit_reasons),
                first_published_in_period=period.start <= first_on,
                retired_in_period=retired_on is not None and period.start <= retired_on,
            )
        )
    online = [item for item in items if item.status == "online"]
    return ProcedureListReport(
        municipality_code=municipality.code,
        period_from=period.start,
        as_of=as_of,
        online_procedures=len(online),
        fully_online_procedures=sum(item.fully_online for item in online),
        items=items,
    )


# --- Usage ----------------------------------------------------------------------------------

_SUMS = ("received", "online", "counter", "with_card", "paid_online", "paid_offline")
_SUMS_AFTER = ("returned", "approved", "rejected", "withdrawn")


async def usage(
    session: AsyncSession,
    municipality: Municipality,
    *,
    period: Period,
    group_by: Sequence[str],
    lead_times: bool = True,
) -> UsageReport:
    """Applications received in the period and what became of them, grouped as asked,
    from the rollups: a bounded number of rows whatever the number of applications.
    `lead_times=False` leaves the percentiles out (None) for callers that show none."""
    histories = await procedure_histories(session, municipality.code)
    labels = {h.procedure_id: h.latest for h in histories if h.latest is not None}
    codes = {h.procedure_id: h.code for h in histories}
    query = UsageQuery(
        municipality.code,
        period,
        group_by,
        labels,
        municipality.fiscal_year_start_month,
        lead_times,
    )
    grouped, total = await _figures(session, query)
    items = []
    for key, figures in sorted(grouped.items(), key=lambda item: _sort_key(item[0], codes)):
        row = UsageRow(**figures.model_dump())
        for name, value in zip(group_by, key, strict=True):
            _label(row, name, value, codes, labels)
        items.append(row)
    return UsageReport(
        municipality_code=municipality.code,
        period_from=period.start,
        period_to=period.end,
        fiscal_year=period.fiscal_year,
        fiscal_year_label=(
            fiscal_year_label(period.fiscal_year) if period.fiscal_year is not None else None
        ),
        group_by=cast(list[UsageDimension], list(group_by)),
        items=items,
        total=total,
    )


def _dimension(
    source: Subquery,
    name: str,
    departments: dict[uuid.UUID, str],
    start_month: int,
) -> ColumnElement[Any]:
    if name == "procedure":
        return source.c.procedure_id
    if name == "department":
        # A procedure counts under the department of its current version.
        if not departments:
            return literal("")
        return case(departments, value=source.c.procedure_id, else_=literal(""))
    if name == "channel":
        return source.c.channel
    if name == "month":
        return source.c.month
    # 年度 from yyyymm: January-March belong to the year before.
    return source.c.month // 100 - case((source.c.month % 100 < start_month, 1), else_=0)


@dataclass(frozen=True)
class UsageQuery:
    """What one usage report reads: a municipality's rollups over a period, grouped."""

    municipality_code: str
    period: Period
    group_by: Sequence[str]
    labels: dict[uuid.UUID, VersionFacts]
    """The current version of each procedure (its department, for `department`)."""
    start_month: int
    lead_times: bool

    def statement(self) -> tuple[Select[Any], dict[str, Any]]:
        """The statement and its parameters. The statement depends only on the shape of
        the query (groups, which rollups the period reads), so it is built once per
        shape and reused: building it costs more than running it."""
        parts, parameters = _usage_parts(self.period)
        departments = (
            tuple(sorted((pid, facts.department) for pid, facts in self.labels.items()))
            if "department" in self.group_by
            else ()
        )
        statement = _usage_statement(
            tuple(self.group_by), self.lead_times, parts, self.start_month, departments
        )
        return statement, {"municipality_code": self.municipality_code, **parameters}


@functools.lru_cache(maxsize=256)
def _usage_statement(
    group_by: tuple[str, ...],
    lead_times: bool,
    parts: tuple[str, ...],
    start_month: int,
    departments: tuple[tuple[uuid.UUID, str], ...],
) -> Select[Any]:
    source = _usage_source(parts)
    dimensions = [_dimension(source, name, dict(departments), start_month) for name in group_by]
    online = source.c.channel == "online"
    histogram = [func.sum(source.c[name]) for name in LEAD_TIME_COLUMNS] if lead_times else []
    return select(
        *dimensions,
        func.sum(source.c.received),
        func.sum(case((online, source.c.received), else_=0)),
        func.sum(case((online, 0), else_=source.c.received)),
        *(func.sum(source.c[name]) for name in _SUMS[3:] + _SUMS_AFTER),
        *histogram,
    ).group_by(*dimensions)


async def _figures(
    session: AsyncSession, query: UsageQuery
) -> tuple[dict[tuple[Any, ...], UsageFigures], UsageFigures]:
    """The figures per group and in total, from one query over the daily rows and the
    deltas not folded yet: counts add up, and the total's percentiles come from the
    merged lead-time histograms."""
    width = len(query.group_by)
    sums_by_group: dict[tuple[Any, ...], dict[str, int]] = {}
    histograms: dict[tuple[Any, ...], dict[int, int]] = {}
    total_sums = dict.fromkeys(_SUMS + _SUMS_AFTER, 0)
    merged: dict[int, int] = {}
    rows = await session.execute(*query.statement())
    count_end = width + len(total_sums)
    for row in rows:
        sums = dict(
            zip(total_sums, (int(value or 0) for value in row[width:count_end]), strict=True)
        )
        if sums["received"] == 0:  # the ungrouped aggregate of no rows at all
            continue
        key = tuple(row[:width])
        sums_by_group[key] = sums
        for name, value in sums.items():
            total_sums[name] += value
        if query.lead_times:
            decided = dict(
                zip(LEAD_TIME_BUCKETS, (int(v or 0) for v in row[count_end:]), strict=True)
            )
            histograms[key] = decided
            for edge, value in decided.items():
                merged[edge] = merged.get(edge, 0) + value
    grouped = {
        key: _figures_of(sums, _percentiles(histograms.get(key, {})))
        for key, sums in sums_by_group.items()
    }
    return grouped, _figures_of(total_sums, _percentiles(merged))


MonthCounts = dict[tuple[uuid.UUID, int], tuple[int, int]]
"""(online, counter) received per (procedure, yyyymm)."""


@dataclass(frozen=True)
class ReceivedCounts:
    """Applications received per procedure and month, as read in one statement (one
    snapshot of the database), split by where they were read from."""

    generation: int
    """The municipality's rollup generation (kpi_rollup_generations, 0 before the first
    fold): the month rows change only together with it, so `folded` read at the same
    generation is the same."""
    publications: tuple[int, int]
    """The number and last id of the municipality's publish/retire events
    (forms_repository.publication_marks): the catalog history changes only with them."""
    folded: MonthCounts | None
    """From the month rows (kpi_usage_monthly); None when the generation is the one the
    caller holds them for (they were not read)."""
    unfolded: MonthCounts
    """From the deltas not folded yet."""


_FOLDED, _UNFOLDED, _MARKS = 0, 1, 2


async def received_by_procedure_month(
    session: AsyncSession,
    municipality_code: str,
    *,
    first: date | None,
    last: date,
    held_generation: int | None = None,
) -> ReceivedCounts:
    """Applications received online and at the counter per procedure and yyyymm, in
    the whole months from `first` (from the earliest row when None) to `last`, from the
    same rollups as `usage`: the deltas not folded yet, and the month rows unless the
    generation is still `held_generation` (the caller holds them). A procedure and
    month with a row of zeros has an entry of zeros. Plain numbers: the open data
    builds thousands of cells from them."""
    rows = await session.execute(
        _RECEIVED_BY_PROCEDURE_MONTH,
        {
            "municipality_code": municipality_code,
            "first_month": month_key(first) if first is not None else 0,
            "last_month": month_key(last),
            "first_day": first or date.min,
            "last_day": last,
            "held_generation": -1 if held_generation is None else held_generation,
        },
    )
    counts: dict[int, MonthCounts] = {_FOLDED: {}, _UNFOLDED: {}}
    generation, publications = 0, (0, 0)
    for source, procedure_id, month, online, counter in rows:
        if source == _MARKS:
            generation, publications = int(month), (int(online), int(counter))
        else:
            counts[source][(procedure_id, int(month))] = (int(online), int(counter))
    folded = counts[_FOLDED] if generation != held_generation else None
    return ReceivedCounts(generation, publications, folded, counts[_UNFOLDED])


def _received_by_procedure_month() -> CompoundSelect[Any]:
    """The sums per source, procedure and month, then one row of the marks (the
    generation, the publication count and last id) read with them; the month rows only
    when the generation is not the one held."""
    code: BindParameter[str] = bindparam("municipality_code")
    generation = func.coalesce(
        select(rollup_generations.c.generation)
        .where(rollup_generations.c.municipality_code == code)
        .scalar_subquery(),
        0,
    )

    def rows_of(table: Any, source: int, *conditions: ColumnElement[bool]) -> Select[Any]:
        return select(
            literal_column(str(source)).label("source"),
            table.c.procedure_id,
            table.c.channel,
            table.c.month,
            table.c.received,
        ).where(table.c.municipality_code == code, *conditions)

    days = usage_deltas.c.received_on.between(bindparam("first_day"), bindparam("last_day"))
    months = usage_monthly.c.month.between(bindparam("first_month"), bindparam("last_month"))
    moved = generation != bindparam("held_generation")
    source = union_all(
        rows_of(usage_deltas, _UNFOLDED, days), rows_of(usage_monthly, _FOLDED, months, moved)
    ).subquery()
    online = source.c.channel == "online"
    sums = select(
        source.c.source,
        source.c.procedure_id,
        source.c.month,
        func.sum(case((online, source.c.received), else_=0)),
        func.sum(case((online, 0), else_=source.c.received)),
    ).group_by(source.c.source, source.c.procedure_id, source.c.month)
    published, last_published = forms_repository.publication_marks(code)
    marks = select(
        literal_column(str(_MARKS)),
        null(),
        generation,
        func.coalesce(published, 0),
        func.coalesce(last_published, 0),
    )
    return union_all(sums, marks)


_RECEIVED_BY_PROCEDURE_MONTH = _received_by_procedure_month()
"""Built once (every rebuild of the open data runs it)."""


def _percentiles(histogram: dict[int, int]) -> tuple[int | None, int | None]:
    """Median and 90th percentile by nearest rank over the fixed buckets: the lower edge
    (whole hours) of the first bucket whose cumulative count reaches q x N."""
    total = sum(histogram.values())
    median: int | None = None
    cumulative = 0
    for edge in sorted(histogram):
        cumulative += histogram[edge]
        if total and median is None and cumulative * 2 >= total:
            median = edge
        if total and cumulative * 10 >= total * 9:
            return median, edge
    return None, None


def _usage_parts(period: Period) -> tuple[tuple[str, ...], dict[str, Any]]:
    """Which rows add up to the period's figures, and their bounds: the month rows of
    the whole months in it, the daily rows of the days around them (or of every day,
    when no month is whole), and always the deltas not folded yet."""
    parameters: dict[str, Any] = {"start": period.start, "end": period.end}
    first_whole = period.start if period.start.day == 1 else _next_month(period.start)
    after_whole = _next_month(period.end)
    if period.end + timedelta(days=1) != after_whole:  # the last month is not whole
        after_whole = period.end.replace(day=1)
    if first_whole >= after_whole:
        return ("days",), parameters
    parts = ["months"]
    parameters["first_month"] = month_key(first_whole)
    parameters["last_month"] = month_key(after_whole - timedelta(days=1))
    if period.start < first_whole:
        parts.append("days_before")
        parameters["before_end"] = first_whole - timedelta(days=1)
    if after_whole <= period.end:
        parts.append("days_after")
        parameters["after_start"] = after_whole
    return tuple(parts), parameters


def _usage_source(parts: Sequence[str]) -> Subquery:
    """The union of the rows `_usage_parts` names, with bound parameters for the
    municipality and the bounds."""
    columns = ("procedure_id", "channel", "month", *_FIGURE_COLUMNS)

    def rows_of(table: Any, *conditions: ColumnElement[bool]) -> Select[Any]:
        return select(*(table.c[name] for name in columns)).where(
            table.c.municipality_code == bindparam("municipality_code"), *conditions
        )

    def days(first: str, last: str) -> Select[Any]:
        received_on = usage_daily.c.received_on
        return rows_of(usage_daily, received_on.between(bindparam(first), bindparam(last)))

    deltas_on = usage_deltas.c.received_on
    selects = [rows_of(usage_deltas, deltas_on.between(bindparam("start"), bindparam("end")))]
    if "months" in parts:
        month = usage_monthly.c.month
        bounds = month.between(bindparam("first_month"), bindparam("last_month"))
        selects.append(rows_of(usage_monthly, bounds))
    if "days_before" in parts:
        selects.append(days("start", "before_end"))
    if "days_after" in parts:
        selects.append(days("after_start", "end"))
    if "days" in parts:
        selects.append(days("start", "end"))
    return union_all(*selects).subquery("usage")


def _next_month(day: date) -> date:
    """The first day of the month after `day`'s."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


_FIGURE_COLUMNS = (*USAGE_COUNTERS, *LEAD_TIME_COLUMNS)


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def _figures_of(sums: dict[str, int], percentiles: tuple[int | None, int | None]) -> UsageFigures:
    get = sums.get
    received, online = get("received", 0), get("online", 0)
    paid_online, paid_offline = get("paid_online", 0), get("paid_offline", 0)
    p50, p90 = percentiles
    return UsageFigures(
        applications=received,
        online=online,
        counter=get("counter", 0),
        online_rate=_ratio(online, received),
        with_card=get("with_card", 0),
        card_share=_ratio(get("with_card", 0), online),
        paid_online=paid_online,
        paid_offline=paid_offline,
        cashless_share=_ratio(paid_online, paid_online + paid_offline),
        returned=get("returned", 0),
        returned_rate=_ratio(get("returned", 0), received),
        decided=get("approved", 0) + get("rejected", 0),
        approved=get("approved", 0),
        rejected=get("rejected", 0),
        withdrawn=get("withdrawn", 0),
        lead_time_p50_hours=p50,
        lead_time_p90_hours=p90,
    )


def _sort_key(key: tuple[Any, ...], codes: dict[uuid.UUID, str]) -> tuple[str, ...]:
    return tuple(
        codes.get(value, str(value)) if isinstance(value, uuid.UUID) else f"{value}"
        for value in key
    )


def _label(
    row: UsageRow,
    name: str,
    value: Any,
    codes: dict[uuid.UUID, str],
    labels: dict[uuid.UUID, VersionFacts],
) -> None:
    if name == "procedure":
        procedure_id = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        row.procedure_code = codes.get(procedure_id, str(procedure_id))
        facts = labels.get(procedure_id)
        row.procedure_title = facts.title_ja if facts is not None else None
    elif name == "department":
        row.department = str(value)
    elif name == "channel":
        row.channel = value
    elif name == "month":
        row.month = month_label(int(value))
    else:
        row.fiscal_year = int(value)
        row.fiscal_year_label = fiscal_year_label(int(value))


def current_fiscal_year_period(today: date, start_month: int = 4) -> Period:
    """The default period: this 年度 up to today."""
    year = fiscal_year_of(today, start_month)
    first, _ = fiscal_year_bounds(year, start_month)
    return Period(first, today)

"""KPI endpoints at scale on PostgreSQL, next to a plain GROUP BY over the raw tables.

    .venv/bin/python -m bench.kpi_bench [--applications 1000000] [--requests 20]
                                        [--baseline-repeats 5] [--database NAME]
                                        [--compare-with DIR]

Creates its own database (or, with `--database`, a kept one: the data set is built on
the first run only; drop it yourself afterwards), migrates it with Alembic, publishes
the sample catalog for 東御市 and 上田市 (publication dates spread over FY2020-FY2022),
and generates
`--applications` applications over five fiscal years (FY2020-FY2024) and both
municipalities: their submissions rows and full event histories (creation, receipt,
payment, review, returns, decisions, withdrawals), loaded with COPY. The rollups are
filled from the same histories by app.kpi.rollups.contribution, the function the live
lifecycle uses. An analyst of 東御市 then calls each KPI endpoint (and the open data)
over HTTP against the app under uvicorn, sequentially, twice: "rebuilt" (a delta of
zeros appended before each call, so the app builds the report again) and "kept" (the
same call repeated, answered from the report the app kept, app.kpi.reports); each is
timed next to a plain SQL GROUP BY computing the same figures from submission_events
(asyncpg, same run).
The usage figures of both are compared and must be identical. Drops the database.

`--compare-with DIR` serves a second checkout's app (e.g. main, from
`git worktree add --detach DIR main`) on the same database: the two are called one
after the other for every timed call (taking turns at going first), so both see the
same load, and their CSV bodies are compared byte for byte.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select

from app.audit.service import AuditActor
from app.auth import staff_service, staff_tokens
from app.auth.staff_models import StaffUser
from app.config import Settings
from app.db import make_engine, make_session_factory, utcnow
from app.forms import service as forms_service
from app.forms.models import Procedure, ProcedureVersion
from app.kpi.models import (
    LEAD_TIME_BUCKETS,
    LEAD_TIME_COLUMNS,
    USAGE_COUNTERS,
    lead_time_bucket,
)
from app.kpi.periods import JAPAN, fiscal_year_of, local_date, month_key
from app.kpi.rollups import contribution
from app.municipalities.service import upsert_municipality
from app.seed import SAMPLE_MUNICIPALITIES
from app.submissions.repository import RecordedTransition
from bench.harness import (
    PROJECT_ROOT,
    Database,
    LoadResult,
    closed_loop,
    kept_database,
    scratch_database,
    uvicorn_server,
)

TOMI = "202193"
FIRST_DAY = datetime(2020, 4, 1, tzinfo=JAPAN)
LAST_DAY = datetime(2025, 3, 31, 23, 59, tzinfo=JAPAN)
CHUNK = 50_000
ANALYST_EMAIL = "bench-analyst@tomi.example"
SUBMISSION_COLUMNS = (
    "id",
    "municipality_code",
    "procedure_id",
    "procedure_version_id",
    "procedure_code",
    "version",
    "channel",
    "status",
    "answers",
    "fee_total",
    "reference_number",
    "fiscal_year",
    "access_token_hash",
    "citizen_subject",
    "row_version",
    "created_at",
    "updated_at",
    "submitted_at",
    "decided_at",
)
EVENT_COLUMNS = (
    "submission_id",
    "municipality_code",
    "procedure_id",
    "procedure_code",
    "channel",
    "from_status",
    "to_status",
    "actor_kind",
    "occurred_at",
    "fee_total",
    "identity_method",
)


@dataclass(frozen=True)
class CatalogEntry:
    municipality_code: str
    reference_prefix: str
    procedure_id: uuid.UUID
    version_id: uuid.UUID
    code: str
    fee: int
    published_at: datetime


# --- Setup ------------------------------------------------------------------------------


async def _seed(database_url: str) -> tuple[list[CatalogEntry], dict[str, str]]:
    """Both municipalities, the sample catalog published at spread dates, an analyst."""
    engine = make_engine(database_url)
    settings = Settings(database_url=database_url)
    factory = make_session_factory(engine)
    definitions = forms_service.read_catalog_directory()
    try:
        async with factory() as session, session.begin():
            for seed in SAMPLE_MUNICIPALITIES:
                await upsert_municipality(session, seed)
                for index, definition in enumerate(definitions):
                    published = FIRST_DAY + timedelta(days=45 * index)
                    await forms_service.load_catalog(
                        session, seed.code, [definition], now=published
                    )
            analyst = await staff_service.create_staff(
                session,
                AuditActor("system", "bench"),
                municipality_code=TOMI,
                email=ANALYST_EMAIL,
                display_name="統計担当",
                department="企画課",
                roles=["analyst"],
                password="bench-analyst-password",
            )
            rows = await session.execute(
                select(Procedure, ProcedureVersion).join(
                    ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id
                )
            )
            prefixes = {seed.code: seed.reference_prefix for seed in SAMPLE_MUNICIPALITIES}
            catalog = []
            for procedure, version in rows:
                form = forms_service.compiled_version(version)
                fee = form.calculate_fee({"copies": 1}).total if form.definition.fee_rules else 0
                assert procedure.first_published_at is not None
                catalog.append(
                    CatalogEntry(
                        municipality_code=procedure.municipality_code,
                        reference_prefix=prefixes[procedure.municipality_code],
                        procedure_id=procedure.id,
                        version_id=version.id,
                        code=procedure.code,
                        fee=fee if form.definition.payment_timing == "on_submit" else 0,
                        published_at=procedure.first_published_at,
                    )
                )
    finally:
        await engine.dispose()
    token = staff_tokens.issue(
        settings, staff_id=analyst.id, municipality_code=TOMI, roles=("analyst",), now=utcnow()
    )
    return catalog, {"Authorization": f"Bearer {token.access_token}"}


# --- The generator ----------------------------------------------------------------------


@dataclass
class Rollups:
    usage: dict[tuple[Any, ...], list[int]]
    lead_times: dict[tuple[Any, ...], int]


def _history(
    rng: random.Random, entry: CatalogEntry, received_at: datetime
) -> tuple[list[tuple[Any, ...]], str, datetime | None, str | None, str | None]:
    """One application's events as (from, to, actor, at, fee, identity), its final
    status, decision time and owner (citizen subject or access token hash)."""
    online = rng.random() < 0.6
    events: list[tuple[Any, ...]] = []
    created = received_at - timedelta(minutes=rng.randint(5, 90))
    identity, subject, token = "none", None, None
    if online:
        roll = rng.random()
        if roll < 0.4:
            identity, subject = "jpki_sign", f"sub-{rng.getrandbits(64):x}"
        elif roll < 0.6:
            identity, subject = "jpki_auth", f"sub-{rng.getrandbits(64):x}"
        else:
            identity, token = "access_token", f"{rng.getrandbits(128):032x}"
    applicant = "citizen" if online else "staff"
    events.append((None, "draft", applicant, created, entry.fee, None))
    paying = online and entry.fee > 0
    received_as = "awaiting_payment" if paying else "submitted"
    events.append(("draft", received_as, applicant, received_at, entry.fee, identity))
    now, status = received_at, received_as
    if paying:
        now += timedelta(minutes=rng.randint(2, 240))
        if rng.random() < 0.06:
            events.append((status, "withdrawn", "citizen", now, entry.fee, None))
            return events, "withdrawn", None, subject, token
        events.append((status, "paid", "system", now, entry.fee, None))
        status = "paid"
    now += timedelta(hours=rng.randint(1, 72))
    events.append((status, "in_review", "staff", now, entry.fee, None))
    if rng.random() < 0.1:
        now += timedelta(hours=rng.randint(1, 48))
        events.append(("in_review", "returned", "staff", now, entry.fee, None))
        now += timedelta(hours=rng.randint(1, 120))
        events.append(("returned", "resubmitted", "citizen", now, entry.fee, None))
        now += timedelta(hours=rng.randint(1, 24))
        events.append(("resubmitted", "in_review", "staff", now, entry.fee, None))
    roll = rng.random()
    if roll < 0.02:
        return events, "in_review", None, subject, token
    now += timedelta(hours=rng.randint(1, 24 * 20), minutes=rng.randint(0, 59))
    if roll < 0.06:
        events.append(("in_review", "withdrawn", "citizen", now, entry.fee, None))
        return events, "withdrawn", None, subject, token
    decision = "rejected" if roll < 0.14 else "approved"
    events.append(("in_review", decision, "staff", now, entry.fee, None))
    return events, decision, now, subject, token


def generate(
    total: int, catalog: list[CatalogEntry], seed: int = 7
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], Rollups]]:
    """Chunks of (submission rows, event rows, rollups of the chunk)."""
    rng = random.Random(seed)
    sequences: dict[tuple[str, int], int] = {}
    span = (LAST_DAY - FIRST_DAY).total_seconds()
    made = 0
    while made < total:
        size = min(CHUNK, total - made)
        submissions: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        rollups = Rollups({}, {})
        for _ in range(size):
            entry = rng.choice(catalog)
            start = max(entry.published_at, FIRST_DAY).timestamp()
            end = FIRST_DAY.timestamp() + span
            received_at = datetime.fromtimestamp(rng.uniform(start, end), tz=UTC)
            history, status, decided_at, subject, token = _history(rng, entry, received_at)
            submission_id = uuid.uuid4()
            channel = "online" if history[0][2] == "citizen" else "counter"
            year = fiscal_year_of(local_date(received_at))
            key = (entry.municipality_code, year)
            sequences[key] = sequences.get(key, 0) + 1
            submissions.append(
                (
                    submission_id,
                    entry.municipality_code,
                    entry.procedure_id,
                    entry.version_id,
                    entry.code,
                    1,
                    channel,
                    status,
                    "{}",
                    entry.fee,
                    f"{entry.reference_prefix}-R{year - 2018}-{sequences[key]:06d}",
                    year,
                    token,
                    subject,
                    len(history),
                    history[0][3],
                    history[-1][3],
                    received_at,
                    decided_at,
                )
            )
            transitions = []
            for from_status, to_status, actor, at, fee, identity in history:
                events.append(
                    (
                        submission_id,
                        entry.municipality_code,
                        entry.procedure_id,
                        entry.code,
                        channel,
                        from_status,
                        to_status,
                        actor,
                        at,
                        fee,
                        identity,
                    )
                )
                transitions.append(
                    RecordedTransition(
                        submission_id,
                        entry.municipality_code,
                        entry.procedure_id,
                        channel,
                        from_status,
                        to_status,
                        actor,
                        identity,
                        fee,
                        None,
                        at,
                    )
                )
            share = contribution(transitions)
            assert share is not None
            cell = share.cell
            cell_key = (cell.municipality_code, cell.received_on, cell.procedure_id, cell.channel)
            counts = rollups.usage.setdefault(cell_key, [0] * len(USAGE_COUNTERS))
            for index, name in enumerate(USAGE_COUNTERS):
                counts[index] += share.counts[name]
            if share.lead_time_hours is not None:
                lead_key = (*cell_key, lead_time_bucket(share.lead_time_hours))
                rollups.lead_times[lead_key] = rollups.lead_times.get(lead_key, 0) + 1
        made += size
        yield submissions, events, rollups


async def load(dsn: str, total: int, catalog: list[CatalogEntry]) -> tuple[float, float]:
    """Generates and COPYs everything; returns (seconds generating+loading, indexing)."""
    connection = await asyncpg.connect(dsn)
    usage: dict[tuple[Any, ...], list[int]] = {}
    lead_times: dict[tuple[Any, ...], int] = {}
    started = time.perf_counter()
    try:
        for submissions, events, rollups in generate(total, catalog):
            await connection.copy_records_to_table(
                "submissions", records=submissions, columns=SUBMISSION_COLUMNS
            )
            await connection.copy_records_to_table(
                "submission_events", records=events, columns=EVENT_COLUMNS
            )
            for key, counts in rollups.usage.items():
                merged = usage.setdefault(key, [0] * len(USAGE_COUNTERS))
                for index, value in enumerate(counts):
                    merged[index] += value
            for key, decided in rollups.lead_times.items():
                lead_times[key] = lead_times.get(key, 0) + decided
        # One daily row per cell: the counters, then its lead-time histogram; and the
        # month rows, their sums per month (as the fold keeps them).
        daily = [
            (
                *key,
                month_key(key[1]),
                *counts,
                *(lead_times.get((*key, edge), 0) for edge in LEAD_TIME_BUCKETS),
            )
            for key, counts in usage.items()
        ]
        months: dict[tuple[Any, ...], list[int]] = {}
        for code, _day, procedure_id, channel, month, *figures in daily:
            sums = months.setdefault((code, month, procedure_id, channel), [0] * len(figures))
            for index, value in enumerate(figures):
                sums[index] += value
        await connection.copy_records_to_table(
            "kpi_usage_monthly",
            records=[(*key, *sums) for key, sums in months.items()],
            columns=(
                "municipality_code",
                "month",
                "procedure_id",
                "channel",
                *USAGE_COUNTERS,
                *LEAD_TIME_COLUMNS,
            ),
        )
        await connection.copy_records_to_table(
            "kpi_usage_daily",
            records=daily,
            columns=(
                "municipality_code",
                "received_on",
                "procedure_id",
                "channel",
                "month",
                *USAGE_COUNTERS,
                *LEAD_TIME_COLUMNS,
            ),
        )
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        await connection.execute("ANALYZE")
        analyzed = time.perf_counter() - started
    finally:
        await connection.close()
    return loaded, analyzed


# --- The plain GROUP BY -------------------------------------------------------------------

RECEIVED_LOCAL = "(r.received_at AT TIME ZONE 'Asia/Tokyo')"
GROUPS = {
    "procedure": "r.procedure_code",
    "month": f"to_char({RECEIVED_LOCAL}, 'YYYY-MM')",
    "fiscal_year": f"extract(year FROM {RECEIVED_LOCAL} - interval '3 months')::int::text",
    "procedure,channel": "r.procedure_code || ',' || r.channel",
}
USAGE_SQL = """
WITH r AS (
    SELECT submission_id, procedure_code, channel, identity_method, fee_total,
           occurred_at AS received_at
    FROM submission_events
    WHERE municipality_code = $1 AND from_status = 'draft'
      AND to_status IN ('submitted', 'awaiting_payment')
      AND occurred_at >= $2 AND occurred_at < $3
), later AS (
    SELECT e.submission_id,
           bool_or(e.to_status = 'returned') AS returned,
           bool_or(e.to_status = 'withdrawn') AS withdrawn,
           min(e.occurred_at) FILTER (WHERE e.to_status IN ('approved', 'rejected'))
               AS decided_at,
           min(e.to_status) FILTER (WHERE e.to_status IN ('approved', 'rejected')) AS decision,
           (array_agg(e.actor_kind ORDER BY e.id) FILTER (WHERE e.to_status = 'paid'))[1]
               AS paid_by
    FROM submission_events e JOIN r USING (submission_id)
    GROUP BY e.submission_id
)
SELECT {group} AS key,
       count(*) AS applications,
       count(*) FILTER (WHERE r.channel = 'online') AS online,
       count(*) FILTER (WHERE r.channel = 'counter') AS counter,
       count(*) FILTER (WHERE r.channel = 'online'
                        AND r.identity_method IN ('jpki_auth', 'jpki_sign')) AS with_card,
       count(*) FILTER (WHERE l.paid_by = 'system') AS paid_online,
       count(*) FILTER (WHERE l.paid_by <> 'system'
                        OR (l.paid_by IS NULL AND r.channel = 'counter' AND r.fee_total > 0))
           AS paid_offline,
       count(*) FILTER (WHERE l.returned) AS returned,
       count(*) FILTER (WHERE l.decision = 'approved') AS approved,
       count(*) FILTER (WHERE l.decision = 'rejected') AS rejected,
       count(*) FILTER (WHERE l.withdrawn) AS withdrawn,
       percentile_disc(0.5) WITHIN GROUP (ORDER BY LEAD_TIME_BUCKET)
           FILTER (WHERE l.decided_at IS NOT NULL) AS p50,
       percentile_disc(0.9) WITHIN GROUP (ORDER BY LEAD_TIME_BUCKET)
           FILTER (WHERE l.decided_at IS NOT NULL) AS p90
FROM r JOIN later l USING (submission_id)
GROUP BY 1 ORDER BY 1
"""
# The endpoint reads lead times from fixed buckets (app.kpi.models.LEAD_TIME_BUCKETS):
# the GROUP BY takes the nearest-rank percentile of each decision's bucket likewise.
_LEAD_HOURS = "greatest(0, floor(extract(epoch FROM l.decided_at - r.received_at) / 3600))"
USAGE_SQL = USAGE_SQL.replace(
    "LEAD_TIME_BUCKET",
    "CASE "
    + " ".join(f"WHEN {_LEAD_HOURS} >= {edge} THEN {edge}" for edge in reversed(LEAD_TIME_BUCKETS))
    + " END",
)
ONLINE_AT_SQL = """
SELECT count(*) FROM (
    SELECT DISTINCT ON (procedure_id) action FROM procedure_events
    WHERE municipality_code = $1 AND occurred_at < $2
    ORDER BY procedure_id, occurred_at DESC, id DESC
) latest WHERE action = 'published'
"""


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime(first.year, first.month, first.day, tzinfo=JAPAN)
    end = datetime(last.year, last.month, last.day, tzinfo=JAPAN) + timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class Case:
    label: str
    path: str
    params: dict[str, str]
    sql: str
    sql_args: tuple[Any, ...]
    same_figures: bool = True
    """False where the SQL is only a single count at today (the catalog endpoints build
    a whole trend or list): printed without a ratio."""


def cases(today: date) -> list[Case]:
    fy2023 = _bounds(date(2023, 4, 1), date(2024, 3, 31))
    all_years = _bounds(date(2020, 4, 1), date(2025, 3, 31))
    open_data = _bounds(date(2020, 4, 1), today.replace(day=1) - timedelta(days=1))
    open_data_sql = USAGE_SQL.format(group="r.procedure_code || ',' || " + GROUPS["month"])
    online_at = datetime(today.year, today.month, today.day, tzinfo=JAPAN) + timedelta(days=1)
    return [
        Case(
            "usage FY2023 by procedure",
            "/api/v1/kpi/usage",
            {"fiscal_year": "2023", "group_by": "procedure"},
            USAGE_SQL.format(group=GROUPS["procedure"]),
            (TOMI, *fy2023),
        ),
        Case(
            "usage FY2023 by month",
            "/api/v1/kpi/usage",
            {"fiscal_year": "2023", "group_by": "month"},
            USAGE_SQL.format(group=GROUPS["month"]),
            (TOMI, *fy2023),
        ),
        Case(
            "usage FY2020-2024 by fiscal year",
            "/api/v1/kpi/usage",
            {"from": "2020-04-01", "to": "2025-03-31", "group_by": "fiscal_year"},
            USAGE_SQL.format(group=GROUPS["fiscal_year"]),
            (TOMI, *all_years),
        ),
        Case(
            "usage.csv FY2023 by procedure,channel",
            "/api/v1/kpi/usage.csv",
            {"fiscal_year": "2023", "group_by": "procedure,channel"},
            USAGE_SQL.format(group=GROUPS["procedure,channel"]),
            (TOMI, *fy2023),
        ),
        Case(
            "online-procedures (trend)",
            "/api/v1/kpi/online-procedures",
            {},
            ONLINE_AT_SQL,
            (TOMI, online_at),
            same_figures=False,
        ),
        Case(
            "procedures (the list, today)",
            "/api/v1/kpi/procedures",
            {},
            ONLINE_AT_SQL,
            (TOMI, online_at),
            same_figures=False,
        ),
        Case(
            "open data applications.csv (all months)",
            f"/api/v1/municipalities/{TOMI}/open-data/applications.csv",
            {},
            open_data_sql,
            (TOMI, *open_data),
        ),
        Case(
            "open data online-procedures.csv",
            f"/api/v1/municipalities/{TOMI}/open-data/online-procedures.csv",
            {},
            ONLINE_AT_SQL,
            (TOMI, online_at),
            same_figures=False,
        ),
    ]


async def _time_sql(dsn: str, case: Case, repeat: int) -> tuple[list[float], list[Any]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(case.sql, *case.sql_args)  # warm-up
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            rows = await connection.fetch(case.sql, *case.sql_args)
            samples.append((time.perf_counter() - started) * 1000)
    finally:
        await connection.close()
    return samples, [tuple(row) for row in rows]


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def _same_figures(body: dict[str, Any], rows: list[Any]) -> bool:
    """The endpoint's groups against the GROUP BY's, figure by figure."""
    names = (
        "applications", "online", "counter", "with_card", "paid_online", "paid_offline",
        "returned", "approved", "rejected", "withdrawn",
        "lead_time_p50_hours", "lead_time_p90_hours",
    )  # fmt: skip
    ours = sorted(
        (
            ",".join(
                str(item[key])
                for key in ("procedure_code", "month", "fiscal_year")
                if item.get(key) is not None
            ),
            *(item[name] for name in names),
        )
        for item in body["items"]
    )
    theirs = sorted(
        (str(row[0]), *(int(v) if v is not None else None for v in row[1:])) for row in rows
    )
    for mine, plain in zip(ours, theirs, strict=False):
        if mine != plain:
            print(f"    first difference: endpoint {mine} / GROUP BY {plain}")
            break
    return ours == theirs


@dataclass(frozen=True)
class Options:
    total: int
    repeat: int
    baseline_repeat: int
    database: str | None
    compare_with: Path | None


async def run(options: Options) -> None:
    if options.database is None:
        async with scratch_database("madoguchi_bench_kpi") as database:
            await measure(database, options)
    else:
        await measure(await kept_database(options.database), options)


async def _prepared(database: Database, total: int) -> dict[str, str]:
    """The data set (generated and loaded unless the database holds it already) and the
    analyst's Authorization header."""
    connection = await asyncpg.connect(database.dsn)
    try:
        present = await connection.fetchval("SELECT count(*) FROM submissions")
    finally:
        await connection.close()
    if present:
        print(f"reusing the data set of {database.name} ({present:,} applications)")
        return await _analyst(database.url)
    catalog, headers = await _seed(database.url)
    loaded, analyzed = await load(database.dsn, total, catalog)
    print(f"generated and loaded in {loaded:.0f} s (ANALYZE {analyzed:.0f} s)")
    return headers


async def _analyst(database_url: str) -> dict[str, str]:
    """The Authorization header of the analyst a previous run created."""
    engine = make_engine(database_url)
    try:
        async with make_session_factory(engine)() as session:
            analyst = await session.scalar(
                select(StaffUser).where(StaffUser.email == ANALYST_EMAIL)
            )
    finally:
        await engine.dispose()
    assert analyst is not None, "the kept database has no benchmark analyst"
    token = staff_tokens.issue(
        Settings(database_url=database_url),
        staff_id=analyst.id,
        municipality_code=TOMI,
        roles=("analyst",),
        now=utcnow(),
    )
    return {"Authorization": f"Bearer {token.access_token}"}


async def measure(database: Database, options: Options) -> None:
    database_url, dsn = database.url, database.dsn
    connection = await asyncpg.connect(dsn)
    server_version = await connection.fetchval("SHOW server_version")
    await connection.close()
    print(
        f"PostgreSQL {server_version}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; {options.total:,} applications, 2 municipalities, "
        "FY2020-FY2024"
    )
    headers = await _prepared(database, options.total)
    connection = await asyncpg.connect(dsn)
    sizes = {
        table: await connection.fetchval(f"SELECT count(*) FROM {table}")
        for table in ("submissions", "submission_events", "kpi_usage_daily",
                      "kpi_usage_monthly")
    }  # fmt: skip
    await connection.close()
    print(", ".join(f"{table} {count:,}" for table, count in sizes.items()))
    today = local_date(datetime.now(UTC))
    app_env = {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
    roots = {"this checkout": PROJECT_ROOT}
    if options.compare_with is not None:
        roots = {"compared": options.compare_with, **roots}
    print(f"load average at the start: {_load_average()}")
    # "rebuilt": every call builds its report (a zero delta before each, untimed);
    # "kept": the same call again, answered from the report the app kept. With a
    # compared checkout, both apps are called alternately, one call each in turn.
    print(
        f"{'endpoint (HTTP, sequential)':<42} {'rebuilt p50/p95 ms':>19} "
        f"{'kept p50/p95 ms':>16}   {'plain GROUP BY p50/p95 ms':>26}   x p50"
    )
    with contextlib.ExitStack() as servers:
        urls = {
            name: servers.enter_context(
                uvicorn_server("app.main:create_app", env=app_env, factory=True, root=root)
            )
            for name, root in roots.items()
        }
        for case in cases(today):
            rebuilt = await _time_rebuilt(urls, dsn, case, headers, options.repeat)
            kept = await _time_endpoint(urls, case, headers, options.repeat)
            samples: list[float] = []
            rows: list[Any] = []
            if options.baseline_repeat > 0:
                samples, rows = await _time_sql(dsn, case, options.baseline_repeat)
            theirs = statistics.median(samples) if samples else None
            plain = f"{theirs:13.1f} {_percentile(samples, 0.95):12.1f}" if theirs else ""
            print(f"{case.label:<42} {'':19} {'':16}   {plain}")
            for name in urls:
                ours = rebuilt[name].percentile(0.5)
                ratio = f"x{theirs / ours:.1f}" if case.same_figures and theirs else "—"
                failed = rebuilt[name].errors + kept[name].errors
                errors = f"  errors {failed}" if failed else ""
                print(
                    f"  {name:<40} {ours:9.1f} {rebuilt[name].percentile(0.95):9.1f} "
                    f"{kept[name].percentile(0.5):8.1f} {kept[name].percentile(0.95):7.1f}"
                    f"   {'':26}   {ratio}{errors}"
                )
            if case.path == "/api/v1/kpi/usage" and samples:
                for name, url in urls.items():
                    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
                        body = (
                            await client.get(case.path, params=case.params, headers=headers)
                        ).json()
                    same = _same_figures(body, rows)
                    print(f"{'':<4}{name}: figures identical to the GROUP BY: {same}")
            if len(urls) > 1 and case.path.endswith(".csv"):
                bodies = set()
                for url in urls.values():
                    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
                        response = await client.get(case.path, params=case.params, headers=headers)
                    bodies.add(response.content)
                print(f"{'':<4}the same bytes from both: {len(bodies) == 1}")
    print(f"load average at the end: {_load_average()}")


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def _time_endpoint(
    urls: dict[str, str], case: Case, headers: dict[str, str], repeat: int
) -> dict[str, LoadResult]:
    """`repeat` calls to each app, in turn, each answered from its kept report."""

    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(case.path, params=case.params, headers=headers)

    for url in urls.values():
        await closed_loop("warm-up", send, base_url=url, total=2, concurrency=1)
    return await _alternately(urls, case, headers, repeat, before=None)


ZERO_DELTA = """
INSERT INTO kpi_usage_deltas (municipality_code, received_on, procedure_id, channel, month)
SELECT municipality_code, received_on, procedure_id, channel, month
FROM kpi_usage_daily WHERE municipality_code = $1 LIMIT 1
"""
"""A delta of all zeros: no figure changes, but no report kept by the app can be reused
(app.kpi.reports), so the next call builds its report from the rollups again."""


async def _time_rebuilt(
    urls: dict[str, str], dsn: str, case: Case, headers: dict[str, str], repeat: int
) -> dict[str, LoadResult]:
    """Like `_time_endpoint`, with a zero delta appended (untimed) before each call."""
    connection = await asyncpg.connect(dsn)
    try:

        async def zero_delta() -> None:
            await connection.execute(ZERO_DELTA, TOMI)

        return await _alternately(urls, case, headers, repeat, before=zero_delta)
    finally:
        await connection.close()


async def _alternately(
    urls: dict[str, str],
    case: Case,
    headers: dict[str, str],
    repeat: int,
    *,
    before: Callable[[], Awaitable[None]] | None,
) -> dict[str, LoadResult]:
    """`repeat` timed calls per app, the apps taking turns (first one, then the other
    first), `before` (untimed) ahead of each call."""
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    errors = dict.fromkeys(urls, 0)
    clients = {name: httpx.AsyncClient(base_url=url, timeout=60) for name, url in urls.items()}
    started = time.perf_counter()
    try:
        for turn in range(repeat):
            order = list(urls) if turn % 2 == 0 else list(reversed(urls))
            for name in order:
                if before is not None:
                    await before()
                sent = time.perf_counter()
                response = await clients[name].get(case.path, params=case.params, headers=headers)
                latencies[name].append((time.perf_counter() - sent) * 1000)
                errors[name] += response.status_code >= 400
    finally:
        for client in clients.values():
            await client.aclose()
    seconds = time.perf_counter() - started
    return {
        name: LoadResult(case.label, repeat, errors[name], seconds, latencies[name])
        for name in urls
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20, help="timed calls per endpoint")
    parser.add_argument(
        "--baseline-repeats",
        type=int,
        default=5,
        help="timed runs of each GROUP BY (seconds each at full size; p95 of 5 is the max;"
        " 0: no GROUP BY, and no check of the usage figures against it)",
    )
    parser.add_argument(
        "--database",
        help="keep the data set in this PostgreSQL database (built when empty, never dropped),"
        " so the next run reuses it",
    )
    parser.add_argument(
        "--compare-with",
        type=Path,
        help="another checkout of the project (e.g. `git worktree add --detach DIR main`):"
        " its app is served too, on the same database, and both are called alternately",
    )
    arguments = parser.parse_args()
    asyncio.run(
        run(
            Options(
                arguments.applications,
                arguments.requests,
                arguments.baseline_repeats,
                arguments.database,
                arguments.compare_with,
            )
        )
    )


if __name__ == "__main__":
    main()

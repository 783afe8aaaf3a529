"""The open-data applications.csv is rebuilt at every change of a figure from parts an
app keeps between builds (the month rows' sums per rollup generation, the catalog per
publication marks). Whatever changes (a counter receipt dated in a month already
published, a late decision, a fold, a rebuild, a new version's title, a retirement, a
new month), the file must stay byte for byte what a recount of the event history gives,
and what a new app (which has kept nothing) builds."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import date, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.csv_writer import encode
from app.kpi import folding, rollups, service
from app.kpi.open_data import APPLICATIONS_COLUMNS, suppressed_month
from app.kpi.periods import end_of_day, fiscal_year_bounds, fiscal_year_label, fiscal_year_of
from app.municipalities.service import get_municipality
from app.submissions.lifecycle import Status
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.conftest import Today
from tests.kpi.helpers import Applications, ProcedureClock, jst

APPLICATIONS = f"/api/v1/municipalities/{TOMI}/open-data/applications.csv"
# A title a spreadsheet would run, a department that needs quoting, a plain one.
FORMULA = "rc-formula"
QUOTED = "rc-quoted"
PLAIN = "rc-plain"


async def recounted(
    factory: async_sessionmaker[AsyncSession], today: date, fiscal_year: int | None = None
) -> bytes:
    """applications.csv as docs/kpi.md describes it, from a recount of every event (no
    rollup row, nothing kept) and the catalog history, row by row."""
    async with factory() as session:
        municipality = await get_municipality(session, TOMI)
        snapshot = await rollups.recount(session, TOMI)
        histories = await service.procedure_histories(session, TOMI)
    received: dict[tuple[str, uuid.UUID], list[int]] = {}
    for (_, yyyymm, procedure_id, channel), figures in snapshot.months.items():
        parts = received.setdefault(
            (f"{yyyymm // 100:04d}-{yyyymm % 100:02d}", procedure_id), [0, 0]
        )
        parts[channel != "online"] += figures["received"]
    last = today.replace(day=1) - timedelta(days=1)
    if fiscal_year is None:
        first = date.fromisoformat(min(month for month, _ in received) + "-01")
    else:
        first, year_end = fiscal_year_bounds(fiscal_year)
        last = min(last, year_end)
    months = []
    day = first
    while day <= last:
        months.append(f"{day:%Y-%m}")
        day = (day + timedelta(days=31)).replace(day=1)
    by_id = {history.procedure_id: history for history in histories}
    table = []
    for month in months:
        month_start = date.fromisoformat(f"{month}-01")
        start = end_of_day(month_start - timedelta(days=1))
        end = end_of_day((month_start + timedelta(days=31)).replace(day=1) - timedelta(days=1))
        rows: dict[str, tuple[str, str, int, int]] = {}
        for history in histories:
            state = history.state_at(start)
            published = any(
                event.action == "published" and start <= event.occurred_at < end
                for event in history.events
            )
            if history.latest and ((state is not None and state.online) or published):
                rows[history.code] = (history.latest.title_ja, history.latest.department, 0, 0)
        for (counted_month, procedure_id), (online, counter) in received.items():
            if counted_month == month:
                history = by_id[procedure_id]
                assert history.latest is not None
                facts = history.latest
                rows[history.code] = (facts.title_ja, facts.department, online, counter)
        codes = sorted(rows)
        shown = suppressed_month([(rows[c][2] + rows[c][3], rows[c][2], rows[c][3]) for c in codes])
        year = fiscal_year_of(month_start)
        for code, cells in zip(codes, shown, strict=True):
            title, department, _, _ = rows[code]
            table.append(
                [TOMI, f"{month}_{code}", municipality.name_ja, str(year),
                 fiscal_year_label(year), month, code, title, department, *cells]
            )  # fmt: skip
    table.sort(key=lambda row: (row[6], row[5]))
    return encode([name for name, _ in APPLICATIONS_COLUMNS], table, bom=False)


async def test_every_rebuild_equals_a_recount(
    kpi_api: httpx.AsyncClient,
    new_kpi_client: Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]],
    session_factory: async_sessionmaker[AsyncSession],
    procedure_clock: ProcedureClock,
    applications: Applications,
    today: Today,
) -> None:
    today.day = date(2025, 10, 15)
    await seed_municipalities(session_factory)
    await procedure_clock.publish(
        jst(2025, 3, 20, 9),
        simple_definition(FORMULA, title={"ja": "=1+2 申請", "en": "Formula"}, fee_rules=[]),
    )
    await procedure_clock.publish(
        jst(2025, 4, 10, 9),
        simple_definition(
            QUOTED, department={"ja": '市民課, "窓口"', "en": "Citizens"}, fee_rules=[]
        ),
    )
    await procedure_clock.publish(jst(2025, 6, 1, 9), simple_definition(PLAIN, fee_rules=[]))
    rng = random.Random(14)
    received = []
    for month in range(4, 11):
        for code in (FORMULA, QUOTED, PLAIN):
            for _ in range(rng.choice((0, 1, 2, 3, 5))):
                at = jst(2025, month, rng.randint(1, 28), rng.randint(9, 17))
                if (code == PLAIN and month < 6) or (code == QUOTED and (month, at.day) > (8, 14)):
                    continue
                if rng.random() < 0.6:
                    received.append(await applications.online(code, at))
                else:
                    received.append(await applications.counter(code, at))
    await procedure_clock.retire(jst(2025, 8, 15, 17), QUOTED)

    async def same_as_a_recount() -> bytes:
        """The kept app's file, a new app's file and the recount, all the same."""
        kept = await kpi_api.get(APPLICATIONS)
        assert kept.status_code == 200
        async with new_kpi_client() as fresh_client:
            fresh = await fresh_client.get(APPLICATIONS)
        assert kept.content == fresh.content == await recounted(session_factory, today.day)
        year = await kpi_api.get(APPLICATIONS, params={"fiscal_year": 2025})
        assert year.content == await recounted(session_factory, today.day, 2025)
        return kept.content

    first = await same_as_a_recount()
    assert "'=1+2 申請" in first.decode() and '"市民課, ""窓口"""' in first.decode()

    # Counter receipts dated in June (a month already published): deltas, not folded.
    for hour in range(13, 17):
        await applications.counter(PLAIN, jst(2025, 6, 30, hour))
    changed = await same_as_a_recount()
    assert changed != first
    # The deltas folded into the month rows: a new rollup generation.
    assert await folding.fold_pending(session_factory) > 0
    assert await same_as_a_recount() == changed
    # A late decision on an April application: a delta that changes no count.
    await applications.move(received[0], Status.IN_REVIEW, jst(2025, 10, 1, 10))
    await applications.move(received[0], Status.APPROVED, jst(2025, 10, 2, 10))
    assert await same_as_a_recount() == changed
    # A new version renames a procedure in every month; then a retirement.
    await procedure_clock.publish(
        jst(2025, 10, 3, 9),
        simple_definition(PLAIN, title={"ja": "改称後の申請", "en": "Renamed"}, fee_rules=[]),
    )
    renamed = await same_as_a_recount()
    assert "改称後の申請" in renamed.decode()
    await procedure_clock.retire(jst(2025, 10, 4, 9), FORMULA)
    await same_as_a_recount()
    # The rollups replaced by a recount; a counter receipt dated in May, before the
    # procedure was published; then October complete (the 16th of November).
    async with session_factory() as session, session.begin():
        await rollups.rebuild(session, TOMI)
    await same_as_a_recount()
    await applications.counter(PLAIN, jst(2025, 5, 2, 11))
    await same_as_a_recount()
    today.day = date(2025, 11, 16)
    november = await same_as_a_recount()
    assert b"2025-10_" in november

"""Complementary suppression in the open data (issue 15): 受付番号 are public and
gap-free, so anyone knows how many applications a month had. No suppressed count (X)
may then be worked out from the published rows: not by subtracting the visible rows
from the month's total, nor the visible part of a row from its total."""

from __future__ import annotations

import csv
import io
import itertools
from collections import defaultdict

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kpi.open_data import SUPPRESSED, suppressed_month
from tests.factories import TOMI, seed_municipalities, simple_definition
from tests.kpi.conftest import Today
from tests.kpi.helpers import Applications, ProcedureClock, jst

OPEN_DATA = f"/api/v1/municipalities/{TOMI}/open-data"
# (online, counter) received per procedure and month, all published 2025-04-01.
PLAN: dict[str, dict[str, tuple[int, int]]] = {
    "2025-04": {"sup-a": (1, 0), "sup-b": (4, 3), "sup-c": (5, 0)},
    "2025-05": {"sup-a": (2, 0), "sup-b": (1, 0), "sup-c": (4, 1)},
    "2025-06": {"sup-b": (5, 1), "sup-c": (2, 0)},
    "2025-07": {"sup-a": (3, 0)},
}
Row = tuple[str, str, str, str]
"""申請件数, オンライン, 窓口, 利用率 as published."""


def recoverable(month_total: int, rows: list[Row]) -> list[str]:
    """The suppressed cells of one month an attacker can pin down, knowing the month's
    total (受付番号), that 申請件数 = オンライン + 窓口 in every row, that counts are whole
    numbers from 0, and the published rule (a row with a visible 申請件数 and hidden parts
    has a part of 1 or 2). Exact: every consistent table is enumerated."""
    hidden = [index for index, row in enumerate(rows) if row[0] == SUPPRESSED]
    rest = month_total - sum(int(row[0]) for row in rows if row[0] != SUPPRESSED)
    totals: dict[int, set[int]] = defaultdict(set)
    onlines: dict[int, set[int]] = defaultdict(set)
    for combination in itertools.product(range(rest + 1), repeat=len(hidden)):
        if sum(combination) != rest:
            continue
        for index, total in zip(hidden, combination, strict=True):
            totals[index].add(total)
            onlines[index].update(range(total + 1))
    for index, row in enumerate(rows):
        if row[0] != SUPPRESSED and row[1] == SUPPRESSED:
            total = int(row[0])
            onlines[index] = {o for o in range(total + 1) if {o, total - o} & {1, 2}}
    found = [f"row {index} 申請件数" for index in hidden if len(totals[index]) < 2]
    found += [f"row {index} parts" for index, values in onlines.items() if len(values) < 2]
    return found


async def test_no_suppressed_count_can_be_recovered_by_subtraction(
    kpi_api: httpx.AsyncClient,
    procedure_clock: ProcedureClock,
    applications: Applications,
    today: Today,
) -> None:
    today.day = today.day.replace(year=2025, month=10, day=15)
    await seed_municipalities(procedure_clock.factory)
    for code in ("sup-a", "sup-b", "sup-c"):
        await procedure_clock.publish(jst(2025, 4, 1, 9), simple_definition(code, fee_rules=[]))
    for month, planned in PLAN.items():
        year, number = (int(part) for part in month.split("-"))
        for code, (online, counter) in planned.items():
            for day in range(1, online + 1):
                await applications.online(code, jst(year, number, day, 10))
            for day in range(1, counter + 1):
                await applications.counter(code, jst(year, number, 10 + day, 10))

    response = await kpi_api.get(f"{OPEN_DATA}/applications.csv")
    published: dict[str, dict[str, Row]] = defaultdict(dict)
    for line in csv.DictReader(io.StringIO(response.content.decode("utf-8"))):
        published[line["年月"]][line["手続コード"]] = (
            line["申請件数"],
            line["オンライン申請件数"],
            line["窓口申請件数"],
            line["オンライン利用率"],
        )
    # Every procedure online in a month has a row, 0 included: a row's presence says
    # nothing, and a 0 can hide a small count.
    assert {month: set(rows) for month, rows in published.items()} == {
        f"2025-{month:02d}": {"sup-a", "sup-b", "sup-c"} for month in range(4, 10)
    }
    for month, rows in published.items():
        month_total = sum(sum(parts) for parts in PLAN.get(month, {}).values())  # 受付番号
        assert recoverable(month_total, list(rows.values())) == [], (month, rows)

    april, june = published["2025-04"], published["2025-06"]
    assert april["sup-a"] == april["sup-c"] == (SUPPRESSED,) * 4  # 1, and 5 hides it
    assert april["sup-b"] == ("7", "4", "3", "57.1")
    assert june["sup-a"] == june["sup-c"] == (SUPPRESSED,) * 4  # 2, and a 0 hides it
    assert june["sup-b"] == ("6", SUPPRESSED, SUPPRESSED, SUPPRESSED)
    assert published["2025-07"]["sup-a"] == ("3", "3", "0", "100.0")
    assert published["2025-09"]["sup-b"] == ("0", "0", "0", "")

    one_year = await kpi_api.get(f"{OPEN_DATA}/applications.csv", params={"fiscal_year": 2025})
    assert one_year.content == response.content  # the same cells hidden in either file


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 6)).map(lambda p: (p[0] + p[1], *p)),
        min_size=2,
        max_size=5,
    )
)
def test_any_month_of_two_or_more_rows_is_protected(rows: list[tuple[int, int, int]]) -> None:
    shown = suppressed_month(rows)
    assert recoverable(sum(row[0] for row in rows), shown) == []

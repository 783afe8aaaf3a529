"""The public open-data export (オープンデータ), aggregates only, in the style of the
自治体標準オープンデータセット: the leading columns 全国地方公共団体コード, ID and
地方公共団体名, one header row, UTF-8 without a byte order mark, CRLF line ends, dates as
YYYY-MM-DD.

Application counts cover complete months only (a month still running would let someone
watch their own application appear) and every count of 1 or 2 is suppressed (秘匿,
shown as "X"), together with whatever would let it be worked out by subtraction from a
row's total or from a month's total (known from the public, gap-free 受付番号), so
nobody can be singled out. Never commits.
"""

from __future__ import annotations

import bisect
import functools
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.csv_writer import MEDIA_TYPE, encode, written_cell
from app.kpi import service
from app.kpi.periods import (
    Period,
    end_of_day,
    fiscal_year_bounds,
    fiscal_year_label,
    fiscal_year_of,
    local_date,
)
from app.kpi.schemas import OpenDataColumn, OpenDataIndex, OpenDataset, OpenDataSuppression
from app.kpi.service import MonthCounts
from app.municipalities.models import Municipality

SUPPRESSION_THRESHOLD = 3
"""Counts under this (but above zero) are suppressed."""
SUPPRESSED = "X"
"""秘匿: the marker Japanese official statistics use for a suppressed cell."""
_HIDDEN_ROW = (SUPPRESSED,) * 4
DEFAULT_LICENSE = "CC BY 4.0"
"""Compatible with the 公共データ利用規約（第1.0版）; a municipality may name its own in
settings["open_data_license"]."""

ONLINE_PROCEDURES_COLUMNS: tuple[tuple[str, str], ...] = (
    ("全国地方公共団体コード", "6桁の全国地方公共団体コード（検査数字を含む）"),
    ("ID", "手続のコード（この団体の中で一意）"),
    ("地方公共団体名", "地方公共団体名"),
    ("手続名", "手続の名称"),
    ("手続名_英語", "手続の英語名称（無い場合は空欄）"),
    ("担当課", "担当課の名称"),
    ("本人確認", "不要 / マイナンバーカードでログイン / マイナンバーカードで電子署名"),
    ("手数料あり", "手数料がかかる場合は1、かからない場合は0"),
    ("完全オンライン", "来庁不要（本人確認・手数料納付ともオンライン）の場合は1、それ以外は0"),
    ("公開開始日", "初めてオンラインで公開した日（YYYY-MM-DD）"),
    ("廃止日", "オンライン受付を廃止した日（公開中は空欄）"),
    ("状態", "公開中 / 廃止"),
)
APPLICATIONS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("全国地方公共団体コード", "6桁の全国地方公共団体コード（検査数字を含む）"),
    ("ID", "年月と手続のコードを組み合わせた行の識別子（例: 2025-04_juminhyo-copy）"),
    ("地方公共団体名", "地方公共団体名"),
    ("年度", "受付日の属する年度（西暦、4月始まり）"),
    ("年度_和暦", "受付日の属する年度（和暦、例: 令和7年度）"),
    ("年月", "受付月（YYYY-MM、日本時間）"),
    ("手続コード", "手続のコード"),
    ("手続名", "手続の名称"),
    ("担当課", "担当課の名称"),
    ("申請件数", "受付した申請の件数（オンライン＋窓口）。1〜2件と、その補完秘匿の行はX"),
    ("オンライン申請件数", "オンラインで受付した件数。秘匿の規則によりXの場合あり"),
    ("窓口申請件数", "窓口で受付した件数。秘匿の規則によりXの場合あり"),
    ("オンライン利用率", "オンライン申請件数÷申請件数×100（％、小数第1位）。秘匿時はX"),
)
IDENTITY_LABELS = {
    "none": "不要",
    "jpki_auth": "マイナンバーカードでログイン",
    "jpki_sign": "マイナンバーカードで電子署名",
}
SUPPRESSION_RULE = (
    "申請件数が1〜2件の行は、申請件数・オンライン申請件数・窓口申請件数・オンライン利用率を"
    "Xとする。申請件数が3件以上でも、オンライン申請件数または窓口申請件数が1〜2件の場合は、"
    "差し引きで求められないよう両方とオンライン利用率をXとする。月の合計件数は受付番号から"
    "分かるため、ある月にXの行が1行だけになる場合は、その月の件数が最も少ない別の行（0件を"
    "含む）もXとする（補完秘匿）。その月に公開していた手続は0件でも行がある。"
)


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: list[list[str]]

    def csv(self) -> bytes:
        return encode(self.header, self.rows, bom=False)


async def online_procedures(
    session: AsyncSession, municipality: Municipality, *, today: date
) -> Table:
    """Every procedure ever published online, as it stands today."""
    moment = end_of_day(today)
    rows = []
    for history in await service.procedure_histories(session, municipality.code):
        state = history.state_at(moment)
        first_published = history.first_published_at
        if state is None or first_published is None:
            continue
        facts = state.facts
        retired_on = local_date(state.retired_at).isoformat() if state.retired_at else ""
        rows.append(
            [
                municipality.code,
                history.code,
                municipality.name_ja,
                facts.title_ja,
                facts.title_en or "",
                facts.department,
                IDENTITY_LABELS[facts.identity_requirement],
                "1" if facts.fee_due else "0",
                "1" if facts.fully_online else "0",
                local_date(first_published).isoformat(),
                retired_on,
                "公開中" if state.online else "廃止",
            ]
        )
    return Table(tuple(name for name, _ in ONLINE_PROCEDURES_COLUMNS), rows)


async def applications_csv(
    session: AsyncSession,
    municipality: Municipality,
    *,
    fiscal_year: int | None,
    today: date,
    kept: KeptParts | None = None,
) -> bytes:
    """Applications received per procedure and month, complete months only: a row for
    every procedure that was online during the month, 0 included, so that a row's
    presence says nothing and a zero can hide a small count (complementary suppression).
    Rows by procedure code, then month.

    Rebuilt at every change of any figure (a new delta), so built from plain numbers:
    with `kept` (one per app process) only the deltas are read while the month rows'
    generation and the catalog are unchanged; the cells shared by every row of a
    procedure or month are written once (app.csv_writer.written_cell) and each line is
    joined by hand. The bytes are those of app.csv_writer.encode over the same cells."""
    header = _APPLICATIONS_HEADER
    first, last = _complete_months(municipality, fiscal_year=fiscal_year, today=today)
    if first is not None and first > last:
        return header
    counts = await _received(session, kept or KeptParts(), municipality.code, first, last)
    if first is None:
        # From the first month with an application (a row, folded or not), if any.
        if not counts.sums:
            return header
        first_month = min(month for _, month in counts.sums)
        first = date(first_month // 100, first_month % 100, 1)
    months = _months(Period(first, last))
    catalog_key = (municipality.code, counts.publications, first, last)
    catalog = kept.catalog(catalog_key) if kept is not None else None
    if catalog is None:
        histories = await service.procedure_histories(session, municipality.code)
        catalog = _Catalog(histories, [_month_moments(month) for month in months])
        if kept is not None:
            kept.keep_catalog(catalog_key, catalog)
    month_rows = [dict.fromkeys(online, _NONE) for online in catalog.online_codes]
    month_index = {_month_number(month): index for index, month in enumerate(months)}
    for (procedure_id, month_number), (online, counter) in counts.sums.items():
        procedure = catalog.procedure(procedure_id)
        month_rows[month_index[month_number]][procedure.code] = (online + counter, online, counter)
    shown: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for index, by_code in enumerate(month_rows):
        codes = sorted(by_code)
        rows = [by_code[code] for code in codes]
        for code, row, published in zip(codes, rows, suppressed_month(rows), strict=True):
            # A count below zero (a broken rollup) is written escaped, like any text
            # starting with '-'; the others never need escaping or quoting.
            written = published if min(row) >= 0 else map(written_cell, published)
            shown[code].append((index, ",".join(written)))
    month_cells = [_month_cells(month, municipality.fiscal_year_start_month) for month in months]
    code_cell, name_cell = written_cell(municipality.code), written_cell(municipality.name_ja)
    lines = [header.decode("utf-8")]
    for procedure_code in sorted(shown):
        procedure = catalog.by_code[procedure_code]
        for index, cells in shown[procedure_code]:
            lines.append(
                f"{code_cell},{procedure.row_id(months[index])},{name_cell},"
                f"{month_cells[index]},{procedure.cells},{cells}\r\n"
            )
    return "".join(lines).encode("utf-8")


_NONE = (0, 0, 0)
_APPLICATIONS_HEADER = encode(tuple(name for name, _ in APPLICATIONS_COLUMNS), [], bom=False)


@functools.lru_cache(maxsize=4096)
def _month_cells(month: str, start_month: int) -> str:
    """年度, 年度_和暦, 年月 of the month YYYY-MM, as written."""
    year = fiscal_year_of(date.fromisoformat(f"{month}-01"), start_month)
    return ",".join(map(written_cell, (str(year), fiscal_year_label(year), month)))


@dataclass(frozen=True)
class _Counts:
    sums: MonthCounts
    """(online, counter) per (procedure, yyyymm): month rows plus deltas."""
    publications: tuple[int, int]
    """The catalog's marks, read with them."""


async def _received(
    session: AsyncSession, kept: KeptParts, code: str, first: date | None, last: date
) -> _Counts:
    """The month rows' sums, kept for their generation, plus the deltas: one statement
    reads the deltas with the generation, and the month rows too when it moved (a fold
    between two statements could count its deltas twice or not at all)."""
    bounds = (code, first, last)
    held = kept.folded(bounds)
    read = await service.received_by_procedure_month(
        session, code, first=first, last=last, held_generation=held[0] if held else None
    )
    if read.folded is not None:
        kept.keep_folded(bounds, read.generation, read.folded)
        folded = read.folded
    else:
        assert held is not None
        folded = held[1]
    sums = dict(folded)
    for key, (online, counter) in read.unfolded.items():
        before = sums.get(key)
        sums[key] = (before[0] + online, before[1] + counter) if before else (online, counter)
    return _Counts(sums, read.publications)


class _Procedure:
    """The cells a procedure's rows share (its code, name and department), written once."""

    def __init__(self, code: str, title: str, department: str) -> None:
        self.code = code
        written_code = written_cell(code)
        self.cells = ",".join((written_code, written_cell(title), written_cell(department)))
        """手続コード, 手続名, 担当課 as written."""
        # The ID (YYYY-MM_code) starts with a digit, so it is never escaped; a code that
        # needs neither escaping nor quoting gives an ID that needs neither.
        self._plain_code = written_code == code

    def row_id(self, month: str) -> str:
        """The ID cell of its row of `month`, as written."""
        row_id = f"{month}_{self.code}"
        return row_id if self._plain_code else written_cell(row_id)


class _Catalog:
    """What applications.csv takes from the catalog's history for a run of months:
    which procedures were online in each month, and each procedure's shared cells
    (named as its latest published version names it)."""

    def __init__(
        self,
        histories: Sequence[service.ProcedureHistory],
        bounds: Sequence[tuple[datetime, datetime]],
    ) -> None:
        self._histories = {history.procedure_id: history for history in histories}
        self.by_code: dict[str, _Procedure] = {}
        self._by_id: dict[uuid.UUID, _Procedure] = {}
        self.online_codes: list[list[str]] = [[] for _ in bounds]
        """The codes of the procedures online during each month."""
        for history in histories:
            if history.latest is None:
                continue
            self.procedure(history.procedure_id)
            for codes, online in zip(
                self.online_codes, _online_months(history, bounds), strict=True
            ):
                if online:
                    codes.append(history.code)

    def procedure(self, procedure_id: uuid.UUID) -> _Procedure:
        """A procedure with applications, by id (one unknown to the history is named by
        its id, with no name or department)."""
        procedure = self._by_id.get(procedure_id)
        if procedure is None:
            history = self._histories.get(procedure_id)
            facts = history.latest if history is not None else None
            procedure = _Procedure(
                history.code if history is not None else str(procedure_id),
                facts.title_ja if facts else "",
                facts.department if facts else "",
            )
            self._by_id[procedure_id] = self.by_code[procedure.code] = procedure
        return procedure


KEPT_PARTS = 64
"""Month-row sums and catalogs kept per app process (a few per municipality: all
months and the 年度 asked for)."""


class KeptParts:
    """What applications.csv keeps between builds in one app process: the month rows'
    sums of each municipality and run of months, for the rollup generation they were
    read at (the month rows change only with it: app.kpi.rollups.next_generation), and
    the catalog's part, for the publication marks it was read at (the publish/retire
    history is append-only). Like the kept reports (app.kpi.reports), one per app."""

    def __init__(self, capacity: int = KEPT_PARTS) -> None:
        self._folded: OrderedDict[Hashable, tuple[int, MonthCounts]] = OrderedDict()
        self._catalogs: OrderedDict[Hashable, _Catalog] = OrderedDict()
        self._capacity = capacity

    def folded(self, bounds: Hashable) -> tuple[int, MonthCounts] | None:
        """(generation, sums) of the month rows last read for `bounds`."""
        return _get(self._folded, bounds)

    def keep_folded(self, bounds: Hashable, generation: int, sums: MonthCounts) -> None:
        _put(self._folded, bounds, (generation, sums), self._capacity)

    def catalog(self, key: Hashable) -> _Catalog | None:
        return _get(self._catalogs, key)

    def keep_catalog(self, key: Hashable, catalog: _Catalog) -> None:
        _put(self._catalogs, key, catalog, self._capacity)


V = TypeVar("V")


def _get(kept: OrderedDict[Hashable, V], key: Hashable) -> V | None:
    value = kept.get(key)
    if value is not None:
        kept.move_to_end(key)
    return value


def _put(kept: OrderedDict[Hashable, V], key: Hashable, value: V, capacity: int) -> None:
    kept[key] = value
    kept.move_to_end(key)
    if len(kept) > capacity:
        kept.popitem(last=False)


def _month_number(month: str) -> int:
    """yyyymm of YYYY-MM."""
    return int(month[:4]) * 100 + int(month[5:])


def suppressed(total: int, online: int, counter: int) -> tuple[str, str, str, str]:
    """(申請件数, オンライン, 窓口, 利用率) as published, small cells replaced by X."""
    if 0 < total < SUPPRESSION_THRESHOLD:
        return _HIDDEN_ROW
    if 0 < online < SUPPRESSION_THRESHOLD or 0 < counter < SUPPRESSION_THRESHOLD:
        # Showing either part would give away the other by subtraction from the total.
        return str(total), SUPPRESSED, SUPPRESSED, SUPPRESSED
    rate = f"{online * 100 / total:.1f}" if total else ""
    return str(total), str(online), str(counter), rate


def suppressed_month(rows: Sequence[tuple[int, int, int]]) -> list[tuple[str, str, str, str]]:
    """One month's rows (申請件数, オンライン, 窓口) as published.

    The month's total is known to anyone: 受付番号 are public and gap-free, so the
    numbers handed out at the start and at the end of a month tell how many applications
    it had. A single hidden 申請件数 in a month would be that total minus the visible
    ones, so a second row is hidden with it (complementary suppression): the smallest
    other row, a 0 preferred, which gives away the least. Within a row, 申請件数 =
    オンライン + 窓口, so a hidden 申請件数 hides both parts, and a hidden part hides the
    other. A month with a single row cannot be protected this way: its count is the
    month's total."""
    shown = [suppressed(*row) for row in rows]
    hidden = [index for index, cells in enumerate(shown) if cells[0] == SUPPRESSED]
    if len(hidden) == 1:
        candidates = [index for index in range(len(rows)) if index not in hidden]
        if candidates:
            complement = min(candidates, key=lambda index: (rows[index][0], index))
            shown[complement] = _HIDDEN_ROW
    return shown


def _months(period: Period) -> list[str]:
    """YYYY-MM of every month in the period, in order."""
    months = []
    year, month = period.start.year, period.start.month
    while (year, month) <= (period.end.year, period.end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _month_moments(month: str) -> tuple[datetime, datetime]:
    """The first and the last moment of the month YYYY-MM (Japan time)."""
    first = date.fromisoformat(f"{month}-01")
    start = end_of_day(first - timedelta(days=1))
    end = end_of_day((first + timedelta(days=31)).replace(day=1) - timedelta(days=1))
    return start, end


def _online_months(
    history: service.ProcedureHistory, bounds: Sequence[tuple[datetime, datetime]]
) -> list[bool]:
    """For each month (its first and last moment, in order): whether the procedure was
    online at any moment of it, i.e. online as it stood at the month's start
    (`ProcedureHistory.state_at`) or published during the month. One pass over the
    history for all the months, applying its events as `state_at` does."""
    events = history.events
    published = sorted(event.occurred_at for event in events if event.action == "published")
    online, version, applied = False, None, 0
    during = []
    for start, end in bounds:
        while applied < len(events) and events[applied].occurred_at < start:
            event = events[applied]
            applied += 1
            if event.action == "published":
                online = True
                version = event.version if event.version is not None else version
            elif event.action == "retired":
                online = False
        if online and version is not None and version in history.versions:
            during.append(True)
            continue
        next_publication = bisect.bisect_left(published, start)
        during.append(next_publication < len(published) and published[next_publication] < end)
    return during


def _complete_months(
    municipality: Municipality, *, fiscal_year: int | None, today: date
) -> tuple[date | None, date]:
    """The first day of the first month and the last day of the last month the open
    data covers: the fiscal year's (cut at the end of last month), or up to the end of
    last month from the first month with an application (None: found from the rows)."""
    last = today.replace(day=1) - timedelta(days=1)
    if fiscal_year is None:
        return None, last
    first, year_end = fiscal_year_bounds(fiscal_year, municipality.fiscal_year_start_month)
    return first, min(last, year_end)


def index(municipality: Municipality, *, base_url: str, today: date) -> OpenDataIndex:
    """What is published, where, and how to read it."""
    prefix = f"{base_url.rstrip('/')}/api/v1/municipalities/{municipality.code}/open-data"
    license_name = (municipality.settings or {}).get("open_data_license", DEFAULT_LICENSE)
    return OpenDataIndex(
        municipality_code=municipality.code,
        municipality_name=municipality.name_ja,
        license=str(license_name),
        generated_on=today,
        datasets=[
            _dataset(
                "online-procedures",
                "オンライン手続一覧",
                "Procedures offered online",
                f"{prefix}/online-procedures.csv",
                ONLINE_PROCEDURES_COLUMNS,
                "オンラインで公開したことのある全ての手続（廃止したものを含む）の、作成日時点の状況",
                None,
            ),
            _dataset(
                "applications",
                "手続別・月別申請件数",
                "Applications per procedure and month",
                f"{prefix}/applications.csv",
                APPLICATIONS_COLUMNS,
                "受付日（日本時間）の属する月ごと。前月末までの確定した月のみ。"
                "?fiscal_year=2025 で年度を指定可能",
                OpenDataSuppression(
                    threshold=SUPPRESSION_THRESHOLD, marker=SUPPRESSED, rule=SUPPRESSION_RULE
                ),
            ),
        ],
    )


def _dataset(
    dataset_id: str,
    title: str,
    title_en: str,
    url: str,
    columns: tuple[tuple[str, str], ...],
    coverage: str,
    suppression: OpenDataSuppression | None,
) -> OpenDataset:
    return OpenDataset(
        id=dataset_id,
        title=title,
        title_en=title_en,
        url=url,
        media_type=MEDIA_TYPE,
        encoding="UTF-8",
        byte_order_mark=False,
        line_terminator="CRLF",
        header_rows=1,
        columns=[OpenDataColumn(name=name, description=text) for name, text in columns],
        coverage=coverage,
        suppression=suppression,
    )

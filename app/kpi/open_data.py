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

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.csv_writer import MEDIA_TYPE, encode
from app.kpi import service
from app.kpi.models import usage_deltas, usage_monthly
from app.kpi.periods import (
    Period,
    end_of_day,
    fiscal_year_bounds,
    fiscal_year_label,
    fiscal_year_of,
    local_date,
    month_key,
    month_label,
)
from app.kpi.schemas import OpenDataColumn, OpenDataIndex, OpenDataset, OpenDataSuppression
from app.municipalities.models import Municipality

SUPPRESSION_THRESHOLD = 3
"""Counts under this (but above zero) are suppressed."""
SUPPRESSED = "X"
"""秘匿: the marker Japanese official statistics use for a suppressed cell."""
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


async def applications(
    session: AsyncSession,
    municipality: Municipality,
    *,
    fiscal_year: int | None,
    today: date,
) -> Table:
    """Applications received per procedure and month, complete months only: a row for
    every procedure that was online during the month, 0 included, so that a row's
    presence says nothing and a zero can hide a small count (complementary suppression)."""
    header = tuple(name for name, _ in APPLICATIONS_COLUMNS)
    period = await complete_months(session, municipality, fiscal_year=fiscal_year, today=today)
    if period is None:
        return Table(header, [])
    counts = await service.received_by_procedure_month(session, municipality.code, period)
    months: dict[str, dict[str, MonthRow]] = {month: {} for month in _months(period)}
    bounds = {month: _month_moments(month) for month in months}
    histories = await service.procedure_histories(session, municipality.code)
    for history in histories:
        facts = history.latest
        if facts is None:
            continue
        for month, month_rows in months.items():
            if _online_during(history, *bounds[month]):
                month_rows[history.code] = MonthRow(history.code, facts.title_ja, facts.department)
    by_id = {history.procedure_id: history for history in histories}
    for (procedure_id, month_number), figures in counts.items():
        known = by_id.get(procedure_id)
        facts = known.latest if known is not None else None
        code = known.code if known is not None else str(procedure_id)
        counted = months[month_label(month_number)].setdefault(
            code,
            MonthRow(code, facts.title_ja if facts else "", facts.department if facts else ""),
        )
        counted.total, counted.online, counted.counter = figures
    start_month = municipality.fiscal_year_start_month
    published: list[tuple[str, MonthRow, tuple[str, str, str, str]]] = []
    for month, by_code in months.items():
        in_month = [by_code[code] for code in sorted(by_code)]
        shown = suppressed_month([(r.total, r.online, r.counter) for r in in_month])
        published.extend((month, r, cells) for r, cells in zip(in_month, shown, strict=True))
    published.sort(key=lambda entry: (entry[1].procedure_code, entry[0]))
    years = {
        month: fiscal_year_of(date.fromisoformat(f"{month}-01"), start_month) for month in months
    }
    labels = {year: fiscal_year_label(year) for year in set(years.values())}
    table = []
    for month, row, (total, online, counter, rate) in published:
        year = years[month]
        table.append(
            [
                municipality.code,
                f"{month}_{row.procedure_code}",
                municipality.name_ja,
                str(year),
                labels[year],
                month,
                row.procedure_code,
                row.title,
                row.department,
                total,
                online,
                counter,
                rate,
            ]
        )
    return Table(header, table)


@dataclass
class MonthRow:
    """One procedure's applications in one month."""

    procedure_code: str
    title: str
    department: str
    total: int = 0
    online: int = 0
    counter: int = 0


def suppressed(total: int, online: int, counter: int) -> tuple[str, str, str, str]:
    """(申請件数, オンライン, 窓口, 利用率) as published, small cells replaced by X."""
    if 0 < total < SUPPRESSION_THRESHOLD:
        return (SUPPRESSED,) * 4
    if any(0 < part < SUPPRESSION_THRESHOLD for part in (online, counter)):
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
            shown[complement] = (SUPPRESSED,) * 4
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


def _online_during(history: service.ProcedureHistory, start: datetime, end: datetime) -> bool:
    """Whether the procedure was online at any moment from `start` to `end`."""
    state = history.state_at(start)
    if state is not None and state.online:
        return True
    return any(
        event.action == "published" and start <= event.occurred_at < end for event in history.events
    )


async def complete_months(
    session: AsyncSession,
    municipality: Municipality,
    *,
    fiscal_year: int | None,
    today: date,
) -> Period | None:
    """From the first month with an application (or the fiscal year's start) to the end
    of last month (or of the fiscal year, if earlier); None when that is empty."""
    last = today.replace(day=1) - timedelta(days=1)
    if fiscal_year is not None:
        first, year_end = fiscal_year_bounds(fiscal_year, municipality.fiscal_year_start_month)
        last = min(last, year_end)
    else:
        # The month rows (folded with the daily rows) and the deltas not folded yet: the
        # earliest month of either, each read from the front of its index.
        code = municipality.code
        folded, unfolded = (
            await session.execute(
                select(
                    select(func.min(usage_monthly.c.month))
                    .where(usage_monthly.c.municipality_code == code)
                    .scalar_subquery(),
                    select(func.min(usage_deltas.c.received_on))
                    .where(usage_deltas.c.municipality_code == code)
                    .scalar_subquery(),
                )
            )
        ).one()
        months = [month for month in (folded, unfolded and month_key(unfolded)) if month]
        if not months:
            return None
        first = date(min(months) // 100, min(months) % 100, 1)
    if first > last:
        return None
    return Period(first, last)


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

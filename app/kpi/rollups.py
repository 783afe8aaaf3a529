"""The KPI rollups and the one rule that fills them.

`contribution(transitions)` says what one application adds to the rollups, given its
event history. The same function serves twice: `on_transition` (the lifecycle listener
app.listeners registers as "kpi", run in the transaction that writes each event) appends
the difference the new event makes as one delta row, and `recount` sums it over the
whole event history. The rollups (folded rows plus the deltas not folded yet) therefore
equal a full recount by construction, which the property tests check.

The listener only ever INSERTs (no row another submit could be waiting on); `fold`
moves the deltas into the daily rows later, in the background.

The event history comes from app.submissions.repository; nothing here reads answers or
any personal column. Never commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement
from app.kpi.models import (
    LEAD_TIME_BUCKETS,
    LEAD_TIME_COLUMNS,
    USAGE_COUNTERS,
    lead_time_bucket,
    rollup_generations,
    usage_daily,
    usage_deltas,
    usage_monthly,
)
from app.kpi.periods import local_date, month_key
from app.municipalities.models import Municipality
from app.submissions import repository as submissions_repository
from app.submissions.lifecycle import TransitionFacts
from app.submissions.repository import RecordedTransition

RECEPTION_TARGETS = frozenset({"submitted", "awaiting_payment"})
"""Leaving `draft` for one of these is receipt (受付): once per application."""
DECISIONS = frozenset({"approved", "rejected"})
CARD_METHODS = frozenset({"jpki_auth", "jpki_sign"})
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Cell:
    """One row of `kpi_usage_daily` (and the cell a delta adds to)."""

    municipality_code: str
    received_on: date
    procedure_id: uuid.UUID
    channel: str

    @property
    def month(self) -> int:
        return month_key(self.received_on)


@dataclass(frozen=True)
class Contribution:
    """What one received application adds: a 1 in each counter that applies to it, and
    its lead time once decided."""

    cell: Cell
    counts: Mapping[str, int]
    lead_time_hours: int | None


def _is_reception(transition: RecordedTransition) -> bool:
    """Leaving `draft` for submitted or awaiting_payment: receipt (受付)."""
    return transition.from_status == "draft" and transition.to_status in RECEPTION_TARGETS


def contribution(transitions: Sequence[RecordedTransition]) -> Contribution | None:
    """One application's share of the rollups, from its events in the order recorded.
    None until it has been received (a draft, or one withdrawn as a draft, counts nowhere)."""
    start = next((i for i, t in enumerate(transitions) if _is_reception(t)), None)
    if start is None:
        return None
    reception = transitions[start]
    later = transitions[start + 1 :]
    online = reception.channel == "online"
    counts = dict.fromkeys(USAGE_COUNTERS, 0)
    counts["received"] = 1
    counts["with_card"] = int(online and reception.identity_method in CARD_METHODS)
    # The first payment says how the fee was paid: by the payment provider (the system
    # actor) is cashless; recorded by staff means it was paid at the counter. A counter
    # application with a fee and no recorded payment was paid at the counter on receipt.
    payment = next((t for t in later if t.to_status == "paid"), None)
    if payment is not None:
        counts["paid_online" if payment.actor_kind == "system" else "paid_offline"] = 1
    elif not online and (reception.fee_total or 0) > 0:
        counts["paid_offline"] = 1
    counts["returned"] = int(any(t.to_status == "returned" for t in later))
    counts["withdrawn"] = int(any(t.to_status == "withdrawn" for t in later))
    decision = next((t for t in later if t.to_status in DECISIONS), None)
    lead_time_hours = None
    if decision is not None:
        counts[decision.to_status] = 1
        # Whole hours, floored; never negative (a counter receipt may be dated a few
        # minutes ahead of the clock that records the decision).
        lead_time_hours = max(0, (decision.occurred_at - reception.occurred_at) // HOUR)
    cell = Cell(
        municipality_code=reception.municipality_code,
        received_on=local_date(reception.occurred_at),
        procedure_id=reception.procedure_id,
        channel=reception.channel,
    )
    return Contribution(cell, counts, lead_time_hours)


# --- Kept up to date with every transition -----------------------------------------------

FIGURES = USAGE_COUNTERS + LEAD_TIME_COLUMNS
"""The summed columns of the daily rows and of the deltas."""


async def on_transition(session: AsyncSession, facts: TransitionFacts) -> None:
    """The lifecycle listener: appends the difference one transition makes to the
    rollups as one delta row, in the transaction that records it."""
    new = _announced(facts)
    # A draft has no receipt yet, so before its receipt nothing earlier can count.
    earlier: Sequence[RecordedTransition] = ()
    if facts.earlier is not None:  # read by the statement that recorded the transition
        earlier = facts.earlier
    elif new.from_status != "draft":
        earlier = await submissions_repository.event_history(
            session, facts.submission_id, before_event_id=facts.event_id
        )
    delta = difference(contribution(earlier), contribution([*earlier, new]))
    if delta is not None:
        cell, figures = delta
        # Nobody reads the deltas in this transaction: sent with its next statement.
        await _INSERT_DELTA.write_later(session, {**_cell_values(cell), **figures})


_INSERT_DELTA = HotStatement(insert(usage_deltas))
"""Built once (every transition runs it); the row is passed as parameters."""


def _announced(facts: TransitionFacts) -> RecordedTransition:
    """The transition the lifecycle announces, as the event history will hold it."""
    return RecordedTransition(
        submission_id=facts.submission_id,
        municipality_code=facts.municipality_code,
        procedure_id=facts.procedure_id,
        channel=facts.channel,
        from_status=str(facts.from_status),
        to_status=str(facts.to_status),
        actor_kind=facts.actor.kind,
        identity_method=facts.identity_method,
        fee_total=facts.fee_total,
        paid_amount=facts.paid_amount,
        occurred_at=facts.occurred_at,
    )


def difference(
    before: Contribution | None, after: Contribution | None
) -> tuple[Cell, dict[str, int]] | None:
    """What a transition changes in its cell's figures; None when nothing changes."""
    if after is None:
        return None
    figures = _figures(after)
    if before is not None:
        for name, value in _figures(before).items():
            figures[name] -= value
    if not any(figures.values()):
        return None
    return after.cell, figures


def _figures(share: Contribution) -> dict[str, int]:
    figures = {name: share.counts.get(name, 0) for name in USAGE_COUNTERS}
    figures.update(dict.fromkeys(LEAD_TIME_COLUMNS, 0))
    if share.lead_time_hours is not None:
        figures[_lead_time_column(share.lead_time_hours)] = 1
    return figures


def _lead_time_column(hours: int) -> str:
    return LEAD_TIME_COLUMNS[LEAD_TIME_BUCKETS.index(lead_time_bucket(hours))]


# --- Folding the deltas into the daily rows -------------------------------------------------


async def fold(session: AsyncSession, *, limit: int = 5000) -> int:
    """Move up to `limit` of the oldest deltas into the daily rows; how many were moved.

    The deltas are deleted and their sums added in one transaction, so a reader (who
    sums daily rows and deltas in one statement) sees each delta exactly once. The
    DELETE ... RETURNING hands each delta to one folder only: two folders running at
    once never add the same delta twice. Never commits."""
    oldest = select(usage_deltas.c.id).order_by(usage_deltas.c.id).limit(limit)
    taken = await session.execute(
        delete(usage_deltas)
        .where(usage_deltas.c.id.in_(oldest.scalar_subquery()))
        .returning(*(usage_deltas.c[name] for name in _CELL_COLUMNS + FIGURES))
    )
    sums: dict[tuple[Any, ...], list[int]] = {}
    moved = 0
    for row in taken:
        moved += 1
        key = tuple(row[: len(_CELL_COLUMNS)])
        figures = row[len(_CELL_COLUMNS) :]
        total = sums.get(key)
        if total is None:
            sums[key] = list(figures)
        else:
            for index, value in enumerate(figures):
                total[index] += value
    if not sums:
        return 0
    months: dict[tuple[Any, ...], list[int]] = {}
    for (code, _day, procedure_id, channel, month), day_sums in sums.items():
        month_sums = months.setdefault((code, month, procedure_id, channel), [0] * len(FIGURES))
        for index, value in enumerate(day_sums):
            month_sums[index] += value
    await _add(session, usage_daily, _CELL_COLUMNS, sums)
    await _add(session, usage_monthly, _MONTH_COLUMNS, months)
    await next_generation(session, {key[0] for key in sums})
    return moved


_CELL_COLUMNS = ("municipality_code", "received_on", "procedure_id", "channel", "month")
_MONTH_COLUMNS = ("municipality_code", "month", "procedure_id", "channel")


async def next_generation(session: AsyncSession, municipality_codes: Iterable[str]) -> None:
    """Count one more change of these municipalities' folded rows (kpi_rollup_generations),
    in the transaction that changes them; in code order, like the rows."""
    rows = [{"municipality_code": code, "generation": 1} for code in sorted(municipality_codes)]
    if not rows:
        return
    statement = _dialect(session).insert(rollup_generations)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[rollup_generations.c.municipality_code],
            set_={"generation": rollup_generations.c.generation + 1},
        ),
        rows,
    )


def _dialect(session: AsyncSession) -> Any:
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


async def _add(
    session: AsyncSession,
    table: Any,
    key_columns: Sequence[str],
    sums: Mapping[tuple[Any, ...], Sequence[int]],
) -> None:
    """Add `sums` to the rows of `table` (created at 0 when missing): in the database,
    never read-modify-write, and in key order so two folders lock rows in one order."""
    rows = [
        {**dict(zip(key_columns, key, strict=True)), **dict(zip(FIGURES, figures, strict=True))}
        for key, figures in sorted(sums.items(), key=lambda item: tuple(map(str, item[0])))
    ]
    statement = _dialect(session).insert(table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[column.name for column in table.primary_key.columns],
            set_={name: table.c[name] + statement.excluded[name] for name in FIGURES},
        ),
        rows,
    )


# --- Full recount from the event history --------------------------------------------------


@dataclass
class RollupSnapshot:
    """The rollups as plain data: usage counters per cell, decisions per (cell, lower
    edge of the lead-time bucket)."""

    usage: dict[Cell, dict[str, int]] = field(default_factory=dict)
    lead_times: dict[tuple[Cell, int], int] = field(default_factory=dict)
    months: dict[tuple[Any, ...], dict[str, int]] = field(default_factory=dict)
    """Every figure per (municipality, yyyymm, procedure, channel): kpi_usage_monthly."""

    def add(self, share: Contribution) -> None:
        counts = self.usage.setdefault(share.cell, dict.fromkeys(USAGE_COUNTERS, 0))
        for name, value in share.counts.items():
            counts[name] += value
        if share.lead_time_hours is not None:
            key = (share.cell, lead_time_bucket(share.lead_time_hours))
            self.lead_times[key] = self.lead_times.get(key, 0) + 1
        self.add_month(_month_of(share.cell), _figures(share))

    def add_month(self, key: tuple[Any, ...], figures: Mapping[str, int]) -> None:
        """Add one stored month row (or a delta, by its month)."""
        month = self.months.setdefault(key, dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            month[name] += figures[name]

    def add_row(self, cell: Cell, figures: Mapping[str, int]) -> None:
        """Add one stored row (a daily row or a delta)."""
        counts = self.usage.setdefault(cell, dict.fromkeys(USAGE_COUNTERS, 0))
        for name in USAGE_COUNTERS:
            counts[name] += figures[name]
        for edge, name in zip(LEAD_TIME_BUCKETS, LEAD_TIME_COLUMNS, strict=True):
            if figures[name]:
                key = (cell, edge)
                self.lead_times[key] = self.lead_times.get(key, 0) + figures[name]

    def figures_of(self, cell: Cell) -> dict[str, int]:
        """The columns of `cell`'s daily row."""
        figures = dict(self.usage[cell])
        for edge, name in zip(LEAD_TIME_BUCKETS, LEAD_TIME_COLUMNS, strict=True):
            figures[name] = self.lead_times.get((cell, edge), 0)
        return figures


def recount_transitions(histories: Iterable[Sequence[RecordedTransition]]) -> RollupSnapshot:
    snapshot = RollupSnapshot()
    for history in histories:
        share = contribution(history)
        if share is not None:
            snapshot.add(share)
    return snapshot


async def recount(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """The rollups computed afresh from every SubmissionEvent (slow: for checks and
    `python -m app.kpi rebuild`, never for a request)."""
    histories: dict[uuid.UUID, list[RecordedTransition]] = defaultdict(list)
    async for event in submissions_repository.stream_event_history(session, municipality_code):
        histories[event.submission_id].append(event)
    return recount_transitions(histories.values())


async def stored(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """The rollups as stored: the daily rows plus the deltas not folded yet."""
    snapshot = RollupSnapshot()
    for table in (usage_daily, usage_deltas, usage_monthly):
        query = select(table)
        if municipality_code is not None:
            query = query.where(table.c.municipality_code == municipality_code)
        for row in (await session.execute(query)).mappings():
            figures = {name: int(row[name]) for name in FIGURES}
            if table is usage_monthly:
                snapshot.add_month(tuple(row[name] for name in _MONTH_COLUMNS), figures)
                continue
            cell = Cell(
                row["municipality_code"], row["received_on"], row["procedure_id"], row["channel"]
            )
            snapshot.add_row(cell, figures)
            if table is usage_deltas:  # not in any month row yet
                snapshot.add_month(_month_of(cell), figures)
    return snapshot


async def rebuild(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """Replace the stored rollups (daily rows and deltas) by a full recount, e.g. after
    restoring events from a backup. Run it where no application is being processed
    (one transaction)."""
    snapshot = await recount(session, municipality_code)
    for table in (usage_daily, usage_deltas, usage_monthly):
        removal = delete(table)
        if municipality_code is not None:
            removal = removal.where(table.c.municipality_code == municipality_code)
        await session.execute(removal)
    rows = [{**_cell_values(cell), **snapshot.figures_of(cell)} for cell in snapshot.usage]
    if rows:
        await session.execute(insert(usage_daily), rows)
    month_rows = [
        {**dict(zip(_MONTH_COLUMNS, key, strict=True)), **figures}
        for key, figures in snapshot.months.items()
    ]
    if month_rows:
        await session.execute(insert(usage_monthly), month_rows)
    if municipality_code is None:
        await next_generation(session, await session.scalars(select(Municipality.code)))
    else:
        await next_generation(session, [municipality_code])
    return snapshot


def _month_of(cell: Cell) -> tuple[Any, ...]:
    """The key of the kpi_usage_monthly row a cell adds to (as _MONTH_COLUMNS)."""
    return (cell.municipality_code, cell.month, cell.procedure_id, cell.channel)


def _cell_values(cell: Cell) -> dict[str, Any]:
    return {
        "municipality_code": cell.municipality_code,
        "received_on": cell.received_on,
        "procedure_id": cell.procedure_id,
        "channel": cell.channel,
        "month": cell.month,
    }

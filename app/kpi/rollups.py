"""The KPI rollups and the one rule that fills them.

`contribution(transitions)` says what one application adds to the rollups, given its
event history. The same function serves twice: `on_transition` (the lifecycle listener
app.listeners registers as "kpi", run in the transaction that writes each event) adds
the difference the new event makes, and `recount` sums it over the whole event history.
The rollups therefore equal a full recount by construction, which the property tests
check.

The event history comes from app.submissions.repository; nothing here reads answers or
any personal column. Never commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.kpi.models import USAGE_COUNTERS, LeadTimeRollup, UsageRollup
from app.kpi.periods import local_date, month_key
from app.submissions import repository as submissions_repository
from app.submissions.lifecycle import TransitionFacts
from app.submissions.repository import RecordedTransition

RECEPTION_TARGETS = frozenset({"submitted", "awaiting_payment"})
"""Leaving `draft` for one of these is receipt (受付): once per application."""
DECISIONS = frozenset({"approved", "rejected"})
CARD_METHODS = frozenset({"jpki_auth", "jpki_sign"})
HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Transition:
    """The facts of one transition that the KPI reads (no actor id, no comment)."""

    municipality_code: str
    procedure_id: uuid.UUID
    channel: str
    from_status: str | None
    to_status: str
    actor_kind: str
    identity_method: str | None
    fee_total: int | None
    occurred_at: datetime

    @classmethod
    def of(cls, event: RecordedTransition) -> Transition:
        """From the event history as stored."""
        return cls(
            municipality_code=event.municipality_code,
            procedure_id=event.procedure_id,
            channel=event.channel,
            from_status=None if event.from_status is None else str(event.from_status),
            to_status=str(event.to_status),
            actor_kind=event.actor_kind,
            identity_method=event.identity_method,
            fee_total=event.fee_total,
            occurred_at=event.occurred_at,
        )

    @classmethod
    def announced(cls, facts: TransitionFacts) -> Transition:
        """From a transition the lifecycle announces."""
        return cls(
            municipality_code=facts.municipality_code,
            procedure_id=facts.procedure_id,
            channel=facts.channel,
            from_status=str(facts.from_status),
            to_status=str(facts.to_status),
            actor_kind=facts.actor.kind,
            identity_method=facts.identity_method,
            fee_total=facts.fee_total,
            occurred_at=facts.occurred_at,
        )

    @property
    def is_reception(self) -> bool:
        return self.from_status == "draft" and self.to_status in RECEPTION_TARGETS


@dataclass(frozen=True)
class Cell:
    """One row of `kpi_usage_daily`."""

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


def contribution(transitions: Sequence[Transition]) -> Contribution | None:
    """One application's share of the rollups, from its events in the order recorded.
    None until it has been received (a draft, or one withdrawn as a draft, counts nowhere)."""
    start = next((i for i, t in enumerate(transitions) if t.is_reception), None)
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


async def on_transition(session: AsyncSession, facts: TransitionFacts) -> None:
    """The lifecycle listener: adds the difference one transition makes to the rollups,
    in the transaction that records it."""
    new = Transition.announced(facts)
    # A draft has no receipt yet, so before its receipt nothing earlier can count.
    earlier = []
    if new.from_status != "draft":
        history = await submissions_repository.event_history(
            session, facts.submission_id, before_event_id=facts.event_id
        )
        earlier = [Transition.of(event) for event in history]
    await _apply(session, contribution(earlier), contribution([*earlier, new]))


async def _apply(
    session: AsyncSession, before: Contribution | None, after: Contribution | None
) -> None:
    if after is None:
        return
    previous = before.counts if before is not None else {}
    delta = {name: after.counts[name] - previous.get(name, 0) for name in USAGE_COUNTERS}
    if any(delta.values()):
        await _add_usage(session, after.cell, delta)
    newly_decided = before is None or before.lead_time_hours is None
    if after.lead_time_hours is not None and newly_decided:
        await _add_decision(session, after.cell, after.lead_time_hours)


def _upsert(session: AsyncSession, model: Any) -> Any:
    """INSERT ... ON CONFLICT for the session's database (both spell it the same way)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


async def _add_usage(session: AsyncSession, cell: Cell, delta: Mapping[str, int]) -> None:
    statement = _upsert(session, UsageRollup).values(**_cell_values(cell), **delta)
    # Increment in the database, never read-modify-write: concurrent transactions
    # queue on the row lock and each adds its own delta.
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["municipality_code", "received_on", "procedure_id", "channel"],
            set_={
                name: getattr(UsageRollup, name) + getattr(statement.excluded, name)
                for name in USAGE_COUNTERS
            },
        )
    )


async def _add_decision(session: AsyncSession, cell: Cell, hours: int) -> None:
    statement = _upsert(session, LeadTimeRollup).values(
        **_cell_values(cell), lead_time_hours=hours, decided=1
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[
                "municipality_code",
                "received_on",
                "procedure_id",
                "channel",
                "lead_time_hours",
            ],
            set_={"decided": LeadTimeRollup.decided + statement.excluded.decided},
        )
    )


# --- Full recount from the event history --------------------------------------------------


@dataclass
class RollupSnapshot:
    """The rollups as plain data: usage counters per cell, decisions per (cell, hours)."""

    usage: dict[Cell, dict[str, int]] = field(default_factory=dict)
    lead_times: dict[tuple[Cell, int], int] = field(default_factory=dict)

    def add(self, share: Contribution) -> None:
        counts = self.usage.setdefault(share.cell, dict.fromkeys(USAGE_COUNTERS, 0))
        for name, value in share.counts.items():
            counts[name] += value
        if share.lead_time_hours is not None:
            key = (share.cell, share.lead_time_hours)
            self.lead_times[key] = self.lead_times.get(key, 0) + 1


def recount_transitions(histories: Iterable[Sequence[Transition]]) -> RollupSnapshot:
    snapshot = RollupSnapshot()
    for history in histories:
        share = contribution(history)
        if share is not None:
            snapshot.add(share)
    return snapshot


async def recount(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """The rollups computed afresh from every SubmissionEvent (slow: for checks and
    `python -m app.kpi rebuild`, never for a request)."""
    histories: dict[uuid.UUID, list[Transition]] = defaultdict(list)
    async for event in submissions_repository.stream_event_history(session, municipality_code):
        histories[event.submission_id].append(Transition.of(event))
    return recount_transitions(histories.values())


async def stored(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """The rollups as stored."""
    snapshot = RollupSnapshot()
    usage = select(UsageRollup)
    lead = select(LeadTimeRollup)
    if municipality_code is not None:
        usage = usage.where(UsageRollup.municipality_code == municipality_code)
        lead = lead.where(LeadTimeRollup.municipality_code == municipality_code)
    for row in await session.scalars(usage):
        cell = Cell(row.municipality_code, row.received_on, row.procedure_id, row.channel)
        snapshot.usage[cell] = {name: getattr(row, name) for name in USAGE_COUNTERS}
    for lead_row in await session.scalars(lead):
        cell = Cell(
            lead_row.municipality_code,
            lead_row.received_on,
            lead_row.procedure_id,
            lead_row.channel,
        )
        snapshot.lead_times[(cell, lead_row.lead_time_hours)] = lead_row.decided
    return snapshot


async def rebuild(session: AsyncSession, municipality_code: str | None = None) -> RollupSnapshot:
    """Replace the stored rollups by a full recount, e.g. after restoring events from a
    backup. Run it where no application is being processed (one transaction)."""
    snapshot = await recount(session, municipality_code)
    usage_delete = delete(UsageRollup)
    lead_delete = delete(LeadTimeRollup)
    if municipality_code is not None:
        usage_delete = usage_delete.where(UsageRollup.municipality_code == municipality_code)
        lead_delete = lead_delete.where(LeadTimeRollup.municipality_code == municipality_code)
    await session.execute(usage_delete)
    await session.execute(lead_delete)
    usage_rows = [{**_cell_values(cell), **counts} for cell, counts in snapshot.usage.items()]
    lead_rows = [
        {**_cell_values(cell), "lead_time_hours": hours, "decided": decided}
        for (cell, hours), decided in snapshot.lead_times.items()
    ]
    if usage_rows:
        await session.execute(insert(UsageRollup), usage_rows)
    if lead_rows:
        await session.execute(insert(LeadTimeRollup), lead_rows)
    return snapshot


def _cell_values(cell: Cell) -> dict[str, Any]:
    return {
        "municipality_code": cell.municipality_code,
        "received_on": cell.received_on,
        "procedure_id": cell.procedure_id,
        "channel": cell.channel,
        "month": cell.month,
    }

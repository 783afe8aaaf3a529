"""The submission lifecycle (申請の状態遷移): one explicit table of the statuses citizens,
staff, payments and the system move an application through.

Every transition writes a SubmissionEvent carrying the facts downstream needs (channel,
identity method, fee, net amount paid) in the transaction that changes the status, and
then tells the listeners other modules registered at start (app.listeners): the KPI,
payments, notifications. See docs/decisions/0002-lifecycle-listeners.md. Never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import bindparam, insert, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from app.db import HotStatement, for_this_transaction, table_of
from app.errors import Conflict
from app.submissions.models import Submission, SubmissionEvent


class Status(StrEnum):
    DRAFT = "draft"  # 下書き
    SUBMITTED = "submitted"  # 申請済み (受付)
    AWAITING_PAYMENT = "awaiting_payment"  # 支払待ち
    PAID = "paid"  # 支払済み
    IN_REVIEW = "in_review"  # 審査中
    RETURNED = "returned"  # 差戻し
    RESUBMITTED = "resubmitted"  # 再申請
    APPROVED = "approved"  # 承認 (交付決定)
    REJECTED = "rejected"  # 却下
    WITHDRAWN = "withdrawn"  # 取下げ


TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SUBMITTED, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.SUBMITTED: frozenset({Status.IN_REVIEW, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.AWAITING_PAYMENT: frozenset({Status.PAID, Status.WITHDRAWN}),
    Status.PAID: frozenset({Status.IN_REVIEW, Status.WITHDRAWN}),
    Status.IN_REVIEW: frozenset(
        {
            Status.APPROVED,
            Status.REJECTED,
            Status.RETURNED,
            Status.AWAITING_PAYMENT,
            Status.WITHDRAWN,
        }
    ),
    Status.RETURNED: frozenset({Status.RESUBMITTED, Status.WITHDRAWN}),
    Status.RESUBMITTED: frozenset({Status.IN_REVIEW, Status.AWAITING_PAYMENT, Status.WITHDRAWN}),
    Status.APPROVED: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}
"""from -> the statuses it may move to. approved, rejected and withdrawn are final."""

EDITABLE = frozenset({Status.DRAFT, Status.RETURNED})
"""The citizen may change the answers only before submitting or when asked to correct."""

DECISIONS = frozenset({Status.APPROVED, Status.REJECTED})

ActorKind = Literal["citizen", "staff", "system"]


@dataclass(frozen=True)
class Actor:
    """Who causes a transition. `id` names a staff user (never shown to citizens)."""

    kind: ActorKind
    id: str | None = None


SYSTEM = Actor("system")


class IllegalTransition(Conflict, code="ILLEGAL_TRANSITION"): ...


class SubmissionChanged(Conflict, code="SUBMISSION_CHANGED"): ...


def is_allowed(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def ensure_allowed(current: str, target: Status) -> None:
    if not is_allowed(Status(current), target):
        raise IllegalTransition(
            f"An application in status '{current}' cannot move to '{target}'.",
            f"状態「{current}」の申請を「{target}」にすることはできません。",
            extra={"from": current, "to": str(target)},
        )


@dataclass(frozen=True)
class RecordedTransition:
    """The non-personal facts of one stored SubmissionEvent (no actor id, no comment)."""

    submission_id: uuid.UUID
    municipality_code: str
    procedure_id: uuid.UUID
    channel: str
    from_status: str | None
    to_status: str
    actor_kind: str
    identity_method: str | None
    fee_total: int | None
    paid_amount: int | None
    occurred_at: datetime


@dataclass(frozen=True)
class TransitionFacts:
    """One transition as listeners see it: what the event row records, plus the
    application's reference number. Nothing personal (no answers, no names)."""

    event_id: int
    """SubmissionEvent.id (the row is flushed before listeners run)."""
    submission_id: uuid.UUID
    municipality_code: str
    procedure_id: uuid.UUID
    procedure_code: str
    reference_number: str | None
    """受付番号 once numbered. None on the receipt itself (leaving draft): the number is
    that transaction's last write, after the listeners (app.submissions.reference_numbers),
    so the counter row is locked only for the commit. Read it after commit if needed."""
    channel: str
    """online | counter"""
    identity_method: str
    """jpki_sign | jpki_auth | access_token | none (本人確認の方法 at the latest submit)."""
    from_status: Status
    to_status: Status
    actor: Actor
    comment: str | None
    fee_total: int
    """手数料 as it stands, yen (0 when none)."""
    paid_amount: int
    """Net amount paid so far, yen: received less refunds and a lost dispute."""
    occurred_at: datetime
    earlier: tuple[RecordedTransition, ...] | None = None
    """The application's events before this one, in the order recorded, when the
    statement that recorded it read them too (a move on PostgreSQL); None: not read."""


TransitionListener = Callable[[AsyncSession, TransitionFacts], Awaitable[None]]
"""Runs in the transition's transaction, after the event row is flushed. Raising aborts
the transition (the caller's transaction rolls back). Writes rows only: never calls an
outside service (Stripe, SMTP) inline."""

PaidAmountSource = Callable[[AsyncSession, uuid.UUID], Awaitable[int]]
"""Net amount paid for one application, read from the database (payments provides it)."""


class Listeners:
    """The listeners of every transition, by name, in the order registered; and the
    source of the paid amount. Filled once at start by app.listeners.install_listeners()
    (create_app and every command that moves applications call it)."""

    def __init__(self) -> None:
        self._listeners: dict[str, TransitionListener] = {}
        self._paid_amount: PaidAmountSource | None = None

    def register(self, name: str, listener: TransitionListener) -> None:
        """Idempotent by name: registering a name again replaces its listener in place."""
        self._listeners[name] = listener

    def unregister(self, name: str) -> None:
        self._listeners.pop(name, None)

    def names(self) -> tuple[str, ...]:
        return tuple(self._listeners)

    def provide_paid_amount(self, source: PaidAmountSource) -> None:
        self._paid_amount = source

    async def paid_amount(self, session: AsyncSession, submission_id: uuid.UUID) -> int:
        return 0 if self._paid_amount is None else await self._paid_amount(session, submission_id)

    async def notify(self, session: AsyncSession, facts: TransitionFacts) -> None:
        if not self._listeners:
            # A transition nobody hears would silently leave the KPI behind.
            raise RuntimeError(
                "No lifecycle listener is registered: call app.listeners.install_listeners() "
                "at start (create_app and the commands do)."
            )
        for listener in list(self._listeners.values()):
            await listener(session, facts)


listeners = Listeners()


def record_creation(
    session: AsyncSession, submission: Submission, actor: Actor, *, now: datetime
) -> SubmissionEvent:
    """The first event of every submission: None -> draft. Recorded, not announced: a
    draft is the applicant's own business until it leaves `draft`."""
    event = SubmissionEvent(
        **_event_row(submission, None, Status(submission.status), actor, None, now, paid_amount=0)
    )
    session.add(event)
    return event


async def transition(
    session: AsyncSession,
    submission: Submission,
    to: Status,
    actor: Actor,
    comment: str | None = None,
    *,
    now: datetime,
    paid_amount: int | None = None,
) -> int:
    """Move `submission` to `to`, record the event and notify the listeners, all in the
    caller's transaction; the event's id.

    Takes the row lock (PostgreSQL; a no-op on SQLite, and for an application the caller
    read FOR UPDATE in this transaction: held_locks) and checks that the row still has
    the version this object was loaded with, so two racing requests cannot both move the
    same application: the loser gets 409. `paid_amount` is the net amount paid after the
    move when the caller knows it (a payment it just recorded); otherwise the payments
    module is asked (nothing was paid on a draft). The event goes in with one Core
    statement, the status with another unless the object has changes of its own to flush.
    """
    ensure_allowed(submission.status, to)
    await _lock_current_version(session, submission)
    previous = Status(submission.status)
    if paid_amount is None:
        paid_amount = (
            0 if previous == Status.DRAFT else await listeners.paid_amount(session, submission.id)
        )
    moved: dict[str, object] = {"status": str(to), "updated_at": now}
    if to in DECISIONS:
        moved["decided_at"] = now
    row = _event_row(submission, previous, to, actor, comment, now, paid_amount=paid_amount)
    event_id, earlier = await _move_and_record(session, submission, moved, row)
    await listeners.notify(
        session,
        _facts(event_id, submission, previous, actor, comment, paid_amount, now, earlier),
    )
    await flush_submission(session)  # what the listeners changed
    return event_id


async def _move_and_record(
    session: AsyncSession,
    submission: Submission,
    moved: Mapping[str, object],
    event: Mapping[str, object],
) -> tuple[int, tuple[RecordedTransition, ...] | None]:
    """Writes the status columns of a move (the row lock is held) and its event; the
    event's id, and the events before it when read with it. In the flush of the
    object's own changes when it has some (or is new); else with one UPDATE at the
    version held, without the unit of work, which on PostgreSQL inserts the event too
    (as a WITH of the event's INSERT) and reads the earlier events (for listeners)."""
    state = inspect(submission)
    if state.pending or state.modified:
        for key, value in moved.items():
            setattr(submission, key, value)
        await flush_submission(session)
        event_id: int = await _INSERT_EVENT.scalar(session, event)
        return event_id, None
    written = {**moved, "row_version": submission.row_version + 1}
    held = {**written, "moving_id": submission.id, "moving_version": submission.row_version}
    earlier = None
    if session.get_bind().dialect.name == "postgresql":
        statement = _MOVE_WITH_EVENT[frozenset(written)]
        rows = await statement.rows(session, {**held, **_numbered(event, "event")})
        found = rows[0][0] if rows else None
        earlier = tuple(RecordedTransition(*row[1:]) for row in rows if row[1] is not None)
    else:
        found = await _MOVE.scalar(session, held)
        if found is not None:
            found = await _INSERT_EVENT.scalar(session, event)
    if found is None:
        raise SubmissionChanged()
    for key, value in written.items():  # the object as the row now is, nothing to flush
        set_committed_value(submission, key, value)
    return int(found), earlier


async def receive_new(
    session: AsyncSession, submission: Submission, to: Status, actor: Actor, *, now: datetime
) -> None:
    """A new application created and moved out of draft in one request (create+submit):
    what `record_creation` then `transition` do, without the ORM's unit of work.

    `submission` is built but not added to the session. Its row and its two events (None
    -> draft, draft -> `to`) go in with one statement on PostgreSQL, two elsewhere; then
    the object joins the session as if just loaded (so listeners find it there without
    a query) and the listeners hear the transition, in the caller's transaction."""
    ensure_allowed(Status.DRAFT, to)
    submission.status = to
    submission.updated_at = now
    submission.row_version = 1
    row = {column.key: getattr(submission, column.key) for column in _submissions.columns}
    for key, value in row.items():  # every column loaded: nothing left to expire
        setattr(submission, key, value)
    created = _event_row(submission, None, Status.DRAFT, actor, None, now, paid_amount=0)
    # As record_creation stored it: before the fee and the identity method were known.
    created.update(fee_total=None, identity_method=None)
    received = _event_row(submission, Status.DRAFT, to, actor, None, now, paid_amount=0)
    events = {**_numbered(created, 0), **_numbered(received, 1)}
    if session.get_bind().dialect.name == "postgresql":
        # One round trip: the application's row goes in as a WITH of the events' INSERT.
        new = {f"new_{key}": value for key, value in row.items()}
        rows = await _INSERT_WITH_EVENTS_ON_POSTGRESQL.rows(session, {**new, **events})
    else:
        # None left out: SQL NULL, as the ORM writes an attribute never set (not JSON null).
        await _INSERT_SUBMISSION.run(
            session, {key: value for key, value in row.items() if value is not None}
        )
        rows = await _INSERT_TWO_EVENTS.rows(session, events)
    received_id = next(event_id for event_id, status in rows if status != Status.DRAFT)
    make_transient_to_detached(submission)
    session.add(submission)
    await listeners.notify(
        session, _facts(received_id, submission, Status.DRAFT, actor, None, 0, now)
    )


def _facts(
    event_id: int,
    submission: Submission,
    previous: Status,
    actor: Actor,
    comment: str | None,
    paid: int,
    now: datetime,
    earlier: tuple[RecordedTransition, ...] | None = None,
) -> TransitionFacts:
    """The transition `submission` just made from `previous`, as listeners hear it."""
    return TransitionFacts(
        event_id=event_id,
        submission_id=submission.id,
        municipality_code=submission.municipality_code,
        procedure_id=submission.procedure_id,
        procedure_code=submission.procedure_code,
        reference_number=submission.reference_number,
        channel=submission.channel,
        identity_method=submission.identity_method or "none",
        from_status=previous,
        to_status=Status(submission.status),
        actor=actor,
        comment=comment,
        fee_total=submission.fee_total or 0,
        paid_amount=paid,
        occurred_at=now,
        earlier=earlier,
    )


_submissions = table_of(Submission)
_events = table_of(SubmissionEvent)
RECORDED_COLUMNS = tuple(
    _events.c[key]
    for key in (
        "submission_id",
        "municipality_code",
        "procedure_id",
        "channel",
        "from_status",
        "to_status",
        "actor_kind",
        "identity_method",
        "fee_total",
        "paid_amount",
        "occurred_at",
    )
)
"""The columns of a RecordedTransition, in its order."""
_EVENT_COLUMNS = (
    "submission_id",
    "municipality_code",
    "procedure_id",
    "procedure_code",
    "channel",
    "from_status",
    "to_status",
    "actor_kind",
    "actor_id",
    "comment",
    "occurred_at",
    "fee_total",
    "identity_method",
    "paid_amount",
)
"""The columns `_event_row` gives."""


def _numbered(row: Mapping[str, object], index: int | str) -> dict[str, object]:
    return {f"{key}_{index}": value for key, value in row.items()}


# Built once: they run on every create+submit; rows are passed as parameters. The two
# events go in with one statement, their rows named `<column>_0` and `<column>_1`.
_INSERT_SUBMISSION = HotStatement(insert(_submissions))
_two_events = (
    insert(_events)
    .values(
        [
            {key: bindparam(f"{key}_{index}", type_=_events.c[key].type) for key in _EVENT_COLUMNS}
            for index in (0, 1)
        ]
    )
    .returning(_events.c.id, _events.c.to_status)
)
_INSERT_TWO_EVENTS = HotStatement(_two_events)
_INSERT_WITH_EVENTS_ON_POSTGRESQL = HotStatement(
    _two_events.add_cte(
        insert(_submissions)
        .values({c.key: bindparam(f"new_{c.key}", type_=c.type) for c in _submissions.columns})
        .cte("new_submission")
    )
)
"""The same, on PostgreSQL with the application's row (`new_<column>`; None is SQL NULL)
inserted by a WITH of the same statement: the events' foreign key is checked at its end."""
# transition: the event; the application's SET columns come from the parameters
# (status, updated_at, row_version, decided_at), the row only if no one changed it since
# it was read.
_INSERT_EVENT = HotStatement(insert(_events).returning(_events.c.id))
_move = update(_submissions).where(
    _submissions.c.id == bindparam("moving_id"),
    _submissions.c.row_version == bindparam("moving_version"),
)
_MOVE = HotStatement(_move.returning(_submissions.c.id))


def _move_with_event(columns: frozenset[str]) -> HotStatement:
    """On PostgreSQL: the move's UPDATE of `columns` and the event's INSERT
    (`<column>_event`), which inserts it only if the row was found at the version held,
    as WITHs of a read of the application's earlier events (the statement's snapshot
    does not hold the new one): per earlier event, the new event's id and the earlier
    event's RECORDED_COLUMNS, in the order recorded (one row of NULLs after the id when
    there is none); no row at all when the row had moved on."""
    moved = (
        _move.values({key: bindparam(key, type_=_submissions.c[key].type) for key in columns})
        .returning(_submissions.c.id)
        .cte("moved")
    )
    event = select(
        *(bindparam(f"{key}_event", type_=_events.c[key].type) for key in _EVENT_COLUMNS)
    ).select_from(moved)
    recorded = (
        insert(_events)
        .from_select(list(_EVENT_COLUMNS), event)
        .returning(_events.c.id, _events.c.submission_id)
        .cte("recorded")
    )
    return HotStatement(
        select(recorded.c.id, *RECORDED_COLUMNS)
        .select_from(
            recorded.outerjoin(_events, _events.c.submission_id == recorded.c.submission_id)
        )
        .order_by(_events.c.id)
    )


_MOVE_WITH_EVENT = {
    columns: _move_with_event(columns)
    for columns in (
        frozenset({"status", "updated_at", "row_version"}),
        frozenset({"status", "updated_at", "row_version", "decided_at"}),
    )
}
"""By the columns a move writes (a decision writes decided_at too)."""


def _event_row(
    submission: Submission,
    from_status: Status | None,
    to_status: Status,
    actor: Actor,
    comment: str | None,
    now: datetime,
    *,
    paid_amount: int,
) -> dict[str, object]:
    return {
        "submission_id": submission.id,
        "municipality_code": submission.municipality_code,
        "procedure_id": submission.procedure_id,
        "procedure_code": submission.procedure_code,
        "channel": submission.channel,
        "from_status": from_status,
        "to_status": to_status,
        "actor_kind": actor.kind,
        "actor_id": actor.id,
        "comment": comment,
        "occurred_at": now,
        "fee_total": submission.fee_total,
        "identity_method": submission.identity_method,
        "paid_amount": paid_amount,
    }


async def flush_submission(session: AsyncSession) -> None:
    """Flush, turning a lost optimistic-lock race into 409."""
    try:
        await session.flush()
    except StaleDataError as exc:
        raise SubmissionChanged() from exc


async def _lock_current_version(session: AsyncSession, submission: Submission) -> None:
    if inspect(submission).pending:
        return  # created in this transaction: no other request can see it yet
    if submission.id in held_locks(session):
        return  # read with FOR UPDATE in this transaction: locked, and read afresh then
    stored_version = await session.scalar(
        select(Submission.row_version).where(Submission.id == submission.id).with_for_update()
    )
    if stored_version != submission.row_version:
        raise SubmissionChanged()


def held_locks(session: AsyncSession) -> set[uuid.UUID]:
    """The applications this transaction read with FOR UPDATE (repository.get_for_update):
    their locks are held until commit and the versions read then are current (every change
    since went through this session, which keeps the version up to date)."""
    return for_this_transaction(session, _HELD_LOCKS, set)


_HELD_LOCKS = "submissions_locked_for_update"

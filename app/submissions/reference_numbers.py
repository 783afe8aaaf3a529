"""受付番号 (reference numbers): unique per municipality and fiscal year (年度), sequential
without gaps, short enough to read aloud over the phone: `TOMI-R7-000123`.

The counter row is the one row every submit of a municipality and year writes, so the
submit transaction touches it last: `assign_reference_number` is its final statement
before commit. On PostgreSQL one statement increments the counter (creating the year's
row if needed) and writes the number on the application; the counter's row lock is then
held only for the commit. A submit that rolls back rolls its increment back with it, so
no number is ever skipped. SQLite has no data-modifying WITH, so there it takes two
statements; SQLite serialises writers anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Text, bindparam, case, cast, func, literal_column, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.db import HotStatement, table_of
from app.jp_calendar import fiscal_year_era, fiscal_year_of
from app.municipalities.models import Municipality
from app.submissions import idempotency
from app.submissions.models import ReferenceCounter, Submission

__all__ = [
    "assign_reference_number",
    "fiscal_year_of",
    "format_reference_number",
    "reference_number_head",
]

SEQUENCE_DIGITS = 6


def reference_number_head(prefix: str, fiscal_year: int) -> str:
    """`TOMI-R7-`: the prefix, then the era initial and year of the 年度 (令和7年度)."""
    named = fiscal_year_era(fiscal_year)
    year = f"{named[0].initial}{named[1]}" if named else str(fiscal_year)
    return f"{prefix}-{year}-"


def format_reference_number(prefix: str, fiscal_year: int, sequence: int) -> str:
    """`TOMI-R7-000123`: the head, then the sequence in at least six digits."""
    return f"{reference_number_head(prefix, fiscal_year)}{sequence:0{SEQUENCE_DIGITS}d}"


async def assign_reference_number(
    session: AsyncSession,
    submission: Submission,
    municipality: Municipality,
    *,
    now: datetime,
    timezone: ZoneInfo,
    answer: idempotency.Answer | None = None,
) -> str:
    """Give `submission` (already flushed) the next 受付番号 of the 年度 `now` falls in;
    and store `answer` (an idempotent response) with the number in its
    `reference_number`, in the same statement on PostgreSQL.

    Call it as the last statement of the transaction: the counter row stays locked
    from here to the commit, and every other submit of the municipality waits for it."""
    fiscal_year = fiscal_year_of(now, municipality.fiscal_year_start_month, timezone=timezone)
    head = reference_number_head(municipality.reference_prefix, fiscal_year)
    values = {"code": municipality.code, "year": fiscal_year, "submission": submission.id}
    if session.get_bind().dialect.name == "postgresql":
        if answer is None:
            number = await _NUMBER_ON_POSTGRESQL.scalar(session, {**values, "head": head})
        else:
            number = await _NUMBER_AND_ANSWER_ON_POSTGRESQL.scalar(
                session,
                {
                    **values,
                    "head": head,
                    "in_scope": answer.scope,
                    "of_key": answer.key,
                    "status": answer.status,
                    "answer_body": answer.body,
                },
            )
    else:
        value = await session.scalar(_INCREMENT_ON_SQLITE, values)
        number = format_reference_number(municipality.reference_prefix, fiscal_year, int(value))
        await session.execute(_WRITE_NUMBER, {**values, "number": number})
    if number is None:  # the application was flushed in this transaction
        raise RuntimeError("the application to number is missing")
    if answer is not None and session.get_bind().dialect.name != "postgresql":
        await idempotency.record_response(
            session,
            scope=answer.scope,
            key=answer.key,
            status=answer.status,
            body={**answer.body, "reference_number": number},
        )
    # Written by the statement above: known to the session without a reload.
    set_committed_value(submission, "reference_number", number)
    set_committed_value(submission, "fiscal_year", fiscal_year)
    return str(number)


# Built once: these run on every submit, and building a statement costs more CPU than
# executing it. Parameters: code (municipality), year (fiscal), submission (id), and head
# or number.
_submissions = table_of(Submission)
_counters = table_of(ReferenceCounter)


def _increment(insert: Any) -> Any:
    """INSERT the year's first number, or add one to the row: either way the new value."""
    return (
        insert.values(
            municipality_code=bindparam("code"),
            fiscal_year=bindparam("year"),
            last_value=1,
        )
        .on_conflict_do_update(
            index_elements=["municipality_code", "fiscal_year"],
            set_={"last_value": _counters.c.last_value + 1},
        )
        .returning(_counters.c.last_value, _counters.c.municipality_code)
    )


def _number_on_postgresql() -> Any:
    counter = _increment(postgresql.insert(_counters)).cte("counter")
    sequence = counter.c.last_value
    digits = case(
        (sequence < 10**SEQUENCE_DIGITS, func.lpad(cast(sequence, Text), SEQUENCE_DIGITS, "0")),
        else_=cast(sequence, Text),
    )
    return (
        update(_submissions)
        .where(
            _submissions.c.id == bindparam("submission"),
            _submissions.c.municipality_code == counter.c.municipality_code,
        )
        .values(
            reference_number=bindparam("head", type_=Text) + digits,
            fiscal_year=bindparam("year"),
        )
        .returning(_submissions.c.reference_number)
    )


def _number_and_answer_on_postgresql() -> Any:
    """The same, and the idempotent response stored with the number written into its
    body (`answer_body`; in_scope, of_key, status): a WITH that reads the number the
    other WITH wrote."""
    numbered = _number_on_postgresql().cte("numbered")
    with_number = func.jsonb_set(
        bindparam("answer_body", type_=JSONB),
        literal_column("'{reference_number}'"),
        func.to_jsonb(numbered.c.reference_number),
    )
    answered = idempotency.record_response_statement(with_number).cte("answered")
    return select(numbered.c.reference_number).add_cte(answered)


_NUMBER_ON_POSTGRESQL = HotStatement(_number_on_postgresql())
_NUMBER_AND_ANSWER_ON_POSTGRESQL = HotStatement(_number_and_answer_on_postgresql())
_INCREMENT_ON_SQLITE = _increment(sqlite.insert(_counters))
_WRITE_NUMBER = (
    update(_submissions)
    .where(_submissions.c.id == bindparam("submission"))
    .values(reference_number=bindparam("number"), fiscal_year=bindparam("year"))
)

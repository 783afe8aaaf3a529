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

from sqlalchemy import Text, case, cast, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.jp_calendar import fiscal_year_era, fiscal_year_of
from app.municipalities.models import Municipality
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
) -> str:
    """Give `submission` (already flushed) the next 受付番号 of the 年度 `now` falls in.

    Call it as the last statement of the transaction: the counter row stays locked
    from here to the commit, and every other submit of the municipality waits for it."""
    fiscal_year = fiscal_year_of(now, municipality.fiscal_year_start_month, timezone=timezone)
    head = reference_number_head(municipality.reference_prefix, fiscal_year)
    counter_row = {
        "municipality_code": municipality.code,
        "fiscal_year": fiscal_year,
        "last_value": 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        counter = _increment(postgresql.insert(ReferenceCounter), counter_row).cte("counter")
        sequence = counter.c.last_value
        digits = case(
            (sequence < 10**SEQUENCE_DIGITS, func.lpad(cast(sequence, Text), SEQUENCE_DIGITS, "0")),
            else_=cast(sequence, Text),
        )
        number = await session.scalar(
            update(Submission)
            .where(
                Submission.id == submission.id,
                Submission.municipality_code == counter.c.municipality_code,
            )
            .values(reference_number=head + digits, fiscal_year=fiscal_year)
            .returning(Submission.reference_number)
            .execution_options(synchronize_session=False)
        )
    else:
        value = await session.scalar(_increment(sqlite.insert(ReferenceCounter), counter_row))
        number = format_reference_number(municipality.reference_prefix, fiscal_year, int(value))
        await session.execute(
            update(Submission)
            .where(Submission.id == submission.id)
            .values(reference_number=number, fiscal_year=fiscal_year)
            .execution_options(synchronize_session=False)
        )
    if number is None:  # the application was flushed in this transaction
        raise RuntimeError("the application to number is missing")
    # Written by the statement above: known to the session without a reload.
    set_committed_value(submission, "reference_number", number)
    set_committed_value(submission, "fiscal_year", fiscal_year)
    return str(number)


def _increment(insert: Any, counter_row: dict[str, Any]) -> Any:
    """INSERT the year's first number, or add one to the row: either way the new value."""
    return (
        insert.values(**counter_row)
        .on_conflict_do_update(
            index_elements=["municipality_code", "fiscal_year"],
            set_={"last_value": ReferenceCounter.last_value + 1},
        )
        .returning(ReferenceCounter.last_value, ReferenceCounter.municipality_code)
    )

"""受付番号 (reference numbers): unique per municipality and fiscal year (年度), sequential
without gaps, short enough to read aloud over the phone: `TOMI-R7-000123`.

The counter row is incremented inside the submit transaction. On PostgreSQL the UPDATE
takes the row lock, so concurrent submits queue for it and each gets the next value; a
submit that rolls back rolls its increment back with it, so no number is ever skipped.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.jp_calendar import fiscal_year_era, fiscal_year_of
from app.municipalities.models import Municipality
from app.submissions.dialects import insert_ignoring_conflicts
from app.submissions.models import ReferenceCounter

__all__ = ["fiscal_year_of", "format_reference_number", "next_reference_number"]


def format_reference_number(prefix: str, fiscal_year: int, sequence: int) -> str:
    """`TOMI-R7-000123`: the era initial and year of the 年度 (令和7年度), then the sequence."""
    named = fiscal_year_era(fiscal_year)
    year = f"{named[0].initial}{named[1]}" if named else str(fiscal_year)
    return f"{prefix}-{year}-{sequence:06d}"


async def next_reference_number(
    session: AsyncSession, municipality: Municipality, *, now: datetime, timezone: ZoneInfo
) -> tuple[int, str]:
    """The fiscal year and the next reference number for a submit happening at `now`."""
    fiscal_year = fiscal_year_of(now, municipality.fiscal_year_start_month, timezone=timezone)
    sequence = await _increment(session, municipality.code, fiscal_year)
    return fiscal_year, format_reference_number(
        municipality.reference_prefix, fiscal_year, sequence
    )


async def _increment(session: AsyncSession, municipality_code: str, fiscal_year: int) -> int:
    increment = (
        update(ReferenceCounter)
        .where(
            ReferenceCounter.municipality_code == municipality_code,
            ReferenceCounter.fiscal_year == fiscal_year,
        )
        .values(last_value=ReferenceCounter.last_value + 1)
        .returning(ReferenceCounter.last_value)
        .execution_options(synchronize_session=False)
    )
    value = await session.scalar(increment)
    if value is None:
        # The year's first number: create the row (a racing submit may have done so
        # already, hence DO NOTHING), then increment it like every other time.
        await session.execute(
            insert_ignoring_conflicts(
                session,
                ReferenceCounter,
                {
                    "municipality_code": municipality_code,
                    "fiscal_year": fiscal_year,
                    "last_value": 0,
                },
                ["municipality_code", "fiscal_year"],
            )
        )
        value = await session.scalar(increment)
    if value is None:  # the row was just ensured; only a broken database gets here
        raise RuntimeError("reference counter row missing after insert")
    return int(value)

"""`INSERT ... ON CONFLICT DO NOTHING` on both databases we run on.

SQLAlchemy has it only as dialect-specific constructs; this picks the session's one.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_ignoring_conflicts(
    session: AsyncSession, model: Any, values: dict[str, Any], conflict_columns: list[str]
) -> Any:
    """An INSERT of one row that does nothing when `conflict_columns` already exist."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            postgresql.insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=conflict_columns)
        )
    return (
        sqlite.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
    )


@cache
def insert_ignoring_conflicts_of(
    dialect: str, table: Table, conflict_columns: tuple[str, ...]
) -> Any:
    """The same INSERT built once per dialect and table, for statements run on every
    request: the row's values are passed as parameters when it is executed."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))

"""Async engine, session factory, declarative Base and the portable column types."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Executable,
    Insert,
    MetaData,
    Select,
    Table,
    TypeDecorator,
    Update,
    bindparam,
    event,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, ORMExecuteState, Session
from sqlalchemy.util import await_only

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSON everywhere, JSONB on PostgreSQL.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both SQLite (which has no zones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """The Core table of a mapped class, for statements built once and run without the
    ORM (on paths where building and flushing objects costs more than the work)."""
    return cast(Table, model.__table__)


def violates_unique(error: DBAPIError, table: Table, *columns: str) -> bool:
    """Whether `error` (an IntegrityError) is a row meeting another with the same
    `columns` in `table`, under its unique constraint: named by NAMING_CONVENTION on
    PostgreSQL, by its columns on SQLite."""
    message = str(error.orig)
    constraint = f'"uq_{table.name}_{"_".join(columns)}"'
    on_sqlite = "UNIQUE constraint failed: " + ", ".join(f"{table.name}.{c}" for c in columns)
    return constraint in message or on_sqlite in message


Row = TypeVar("Row")


async def fetch_page(
    session: AsyncSession, statement: Select[Row], *, limit: int, offset: int
) -> tuple[list[Row], int]:
    """One page of the statement's rows, and how many rows it has in all."""
    counted = statement.order_by(None).subquery()
    total = await session.scalar(select(func.count()).select_from(counted))
    rows = await session.scalars(statement.limit(limit).offset(offset))
    return list(rows), total or 0


Owned = TypeVar("Owned", bound=Base)


async def rows_of_submission(
    session: AsyncSession,
    model: type[Owned],
    submission_id: uuid.UUID,
    *,
    oldest_first_by: InstrumentedAttribute[datetime],
) -> list[Owned]:
    """The rows of one kind that belong to an application (its events, comments, payments,
    files...), in the order they happened; ties by id, so the order never changes. The
    table must have `id` and `submission_id` columns."""
    columns = model.__table__.c
    rows = await session.scalars(
        select(model)
        .where(columns.submission_id == submission_id)
        .order_by(oldest_first_by, columns.id)
    )
    return list(rows)


def make_engine(
    database_url: str,
    *,
    echo: bool = False,
    pool_size: int = 4,
    pool_timeout_seconds: float = 30,
    pool_recycle_seconds: int = 1800,
) -> AsyncEngine:
    """The engine of one process. On PostgreSQL a fixed pool of `pool_size` connections:
    no overflow, because an overflow connection is closed when it is returned, so under
    load every request beyond the pool would open (fork) a new backend; a request waits
    up to `pool_timeout_seconds` for a free one instead. No ping per checkout (a round
    trip on every request); connections are replaced after `pool_recycle_seconds`, and
    one that died is detected by the failed statement and discarded."""
    kwargs: dict[str, Any] = {"echo": echo}
    if database_url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=pool_timeout_seconds,
            pool_recycle=pool_recycle_seconds,
        )
    return create_async_engine(database_url, **kwargs)


def make_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
    *,
    commit_on: tuple[type[Exception], ...] = (),
) -> AsyncIterator[AsyncSession]:
    """One transaction per request: commit when the handler returns, roll back on error,
    except on the errors in `commit_on`: what was written before them is kept."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except commit_on:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise


Kept = TypeVar("Kept")


def for_this_transaction(
    session: AsyncSession | Session, key: str, new: Callable[[], Kept]
) -> Kept:
    """A value kept in `session.info[key]` while the session's current transaction lasts
    (e.g. the rows it locked): `new()` again once that transaction has ended."""
    sync_session = session.sync_session if isinstance(session, AsyncSession) else session
    transaction = sync_session.get_transaction()
    held = sync_session.info.get(key)
    if held is None or held[0] is not transaction:
        held = (transaction, new())
        sync_session.info[key] = held
    value: Kept = held[1]
    return value


# --- Statements on the hot path -------------------------------------------------------------


class HotStatement:
    """A Core statement run on every request of a hot path (create+submit), built once.

    On PostgreSQL it is compiled once per set of parameter names and run on the session's
    asyncpg connection directly, in the session's transaction: asyncpg prepares it once
    per connection and keeps it, and SQLAlchemy's execution machinery (about three times
    the CPU of the driver for a one-row statement) is skipped. Everywhere else it runs
    through the session as any statement. Bind values are converted by the column types
    as SQLAlchemy would (JSON, UTC timestamps); an error comes out as SQLAlchemy's
    (IntegrityError, ...).

    Results come back as plain rows of the driver's values: use it for statements whose
    result columns need no type conversion (ids, numbers, text). A None parameter is SQL
    NULL on PostgreSQL, also for a JSON column (leave the key out for the same on every
    database). Every column with a Python-side default that is not a constant must be
    given a value."""

    def __init__(self, statement: Executable | Callable[[str], Executable]) -> None:
        self._build = statement if callable(statement) else (lambda _dialect: statement)
        self._statements: dict[str, Executable] = {}
        self._compiled: dict[_Shape, _CompiledForDriver] = {}
        self._words: dict[str, frozenset[str]] = {}

    def statement_for(self, dialect_name: str) -> Executable:
        statement = self._statements.get(dialect_name)
        if statement is None:
            statement = self._statements[dialect_name] = self._build(dialect_name)
        return statement

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row the statement returns (none without RETURNING). On PostgreSQL the
        transaction's writes left for later (`write_later`) go in with it, as WITHs."""
        dialect = session.get_bind().dialect
        if dialect.name != "postgresql":
            result = await session.execute(self.statement_for(dialect.name), dict(params))
            return result.all() if getattr(result, "returns_rows", True) else []
        adapted = await _adapted_connection(session)
        later = _writes_left_for_later(session.sync_session)
        if later and not self._names_none_of(later, dialect):
            # One snapshot: a statement would not see rows its own WITHs insert.
            first, first_params = later[0]
            await first._on_driver(adapted, dialect, first_params, later[1:])
            later.clear()
        rows = await self._on_driver(adapted, dialect, params, later)
        later.clear()
        return rows

    def _names_none_of(
        self, later: Sequence[tuple[HotStatement, Mapping[str, Any]]], dialect: Dialect
    ) -> bool:
        """Whether this statement names none of the tables the writes go to."""
        words = self._words.get(dialect.name)
        if words is None:
            sql = str(cast(Any, self.statement_for(dialect.name)).compile(dialect=dialect))
            words = self._words[dialect.name] = frozenset(re.findall(r"\w+", sql))
        return all(
            cast(Any, write.statement_for(dialect.name)).table.name not in words
            for write, _ in later
        )

    async def write_later(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        """Runs this INSERT (ON CONFLICT DO NOTHING at most; its result unused) later in
        the transaction: on PostgreSQL it goes in with the transaction's next hot
        statement (as a WITH of it, unless that statement names the same table: a
        statement does not see what its WITHs insert), saving a round trip; elsewhere at
        once.

        For rows whose result nobody needs (KPI deltas, outbox messages): any other
        statement the session runs, a flush and the commit write them first."""
        if session.get_bind().dialect.name != "postgresql":
            await self.run(session, params)
            return
        await _adapted_connection(session)  # the transaction they belong to has begun
        _writes_left_for_later(session.sync_session).append((self, dict(params)))

    async def _on_driver(
        self,
        adapted: Any,
        dialect: Dialect,
        params: Mapping[str, Any],
        later: Sequence[tuple[HotStatement, Mapping[str, Any]]],
    ) -> Sequence[Any]:
        names = frozenset(params)
        shape = (names, tuple((write, frozenset(values)) for write, values in later))
        compiled = self._compiled.get(shape)
        if compiled is None:
            statement = self.statement_for(dialect.name)
            renamed = names
            if later:
                statement = _with_values_of(statement, names).add_cte(
                    *(
                        write._as_cte(dialect.name, keys, _later_prefix(index))
                        for index, (write, keys) in enumerate(shape[1])
                    )
                )
                renamed = names.union(
                    _later_prefix(index) + key
                    for index, (_, keys) in enumerate(shape[1])
                    for key in keys
                )
            compiled = self._compiled[shape] = _CompiledForDriver(statement, dialect, renamed)
        if later:
            params = {
                **params,
                **{
                    _later_prefix(index) + key: value
                    for index, (_, values) in enumerate(later)
                    for key, value in values.items()
                },
            }
        arguments = compiled.arguments(params)
        try:
            return await adapted.driver_connection.fetch(compiled.sql, *arguments)  # type: ignore[no-any-return]
        except Exception as error:
            raise _as_sqlalchemy_error(adapted, dialect, compiled.sql, arguments, error) from None

    def _as_cte(self, dialect_name: str, keys: frozenset[str], prefix: str) -> Any:
        """This INSERT of the columns `keys` as a WITH of another statement, its
        parameters named `<prefix><column>`. A column left out gets its constant default
        (or the database's)."""
        statement: Any = self.statement_for(dialect_name)
        table = statement.table
        values = {key: bindparam(prefix + key, type_=table.c[key].type) for key in keys}
        for column in table.columns:
            if column.key in keys or column.default is None:
                continue
            if not column.default.is_scalar:
                raise ValueError(
                    f"HotStatement: give {column.key!r} a value (its default is not constant)"
                )
            values[column.key] = column.default.arg
        return statement.values(values).cte(prefix.rstrip("_"))

    async def scalar(self, session: AsyncSession, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, or None."""
        rows = await self.rows(session, params)
        return rows[0][0] if rows else None

    async def run(self, session: AsyncSession, params: Mapping[str, Any]) -> None:
        await self.rows(session, params)


def _values_from_parameters(statement: Executable) -> bool:
    """An INSERT or UPDATE without values(): its columns are the parameters given."""
    return (
        isinstance(statement, (Insert, Update))
        and not statement._values
        and not getattr(statement, "_multi_values", ())
        and getattr(statement, "select", None) is None
    )


def _with_values_of(statement: Executable, names: frozenset[str]) -> Any:
    """The statement with explicit values for the parameters that name its columns, if
    it takes them from the parameters (so it can carry WITHs, see _CompiledForDriver)."""
    if not _values_from_parameters(statement):
        return statement
    table = cast(Any, statement).table
    return cast(Any, statement).values(
        {key: bindparam(key, type_=table.c[key].type) for key in names if key in table.c}
    )


_Shape = tuple[frozenset[str], tuple[tuple["HotStatement", frozenset[str]], ...]]
"""What a compiled statement was built for: its parameter names, and the writes left for
later that go in with it (each with its column names)."""


def _later_prefix(index: int) -> str:
    return f"later_{index}_"


def _writes_left_for_later(session: Session) -> list[tuple[HotStatement, Mapping[str, Any]]]:
    """The INSERTs `write_later` left for the session's current transaction."""
    return for_this_transaction(session, _LATER, list)


_LATER = "hot_statement_writes_left_for_later"


@event.listens_for(Session, "do_orm_execute")
def _write_the_rest_before_a_statement(execution: ORMExecuteState) -> None:
    _write_the_rest(execution.session)


@event.listens_for(Session, "before_flush")
def _write_the_rest_before_a_flush(session: Session, _context: Any, _instances: Any) -> None:
    _write_the_rest(session)


@event.listens_for(Session, "before_commit")
def _write_the_rest_before_commit(session: Session) -> None:
    _write_the_rest(session)


def _write_the_rest(session: Session) -> None:
    """The writes left for later that no hot statement took with it: one statement, in
    the transaction, before any other statement the session runs, before it flushes and
    before it commits, so nothing ever reads or writes around them (runs inside the async
    session's greenlet)."""
    later = _writes_left_for_later(session)
    if not later:
        return
    pending = list(later)
    later.clear()
    connection = session.connection()
    adapted = cast(Any, connection.connection).dbapi_connection
    if adapted._transaction is None:
        await_only(adapted._start_transaction())
    first, params = pending[0]
    await_only(first._on_driver(adapted, connection.dialect, params, pending[1:]))


class _CompiledForDriver:
    """A statement compiled for PostgreSQL, with how to turn named parameters into the
    driver's positional arguments."""

    def __init__(self, statement: Executable, dialect: Dialect, names: frozenset[str]) -> None:
        # Only a statement that takes its columns from the parameters is given their
        # names: SQLAlchemy applies them to the INSERTs and UPDATEs of its WITHs too,
        # where a parameter named like a column would be written into it.
        column_keys = sorted(names) if _values_from_parameters(statement) else None
        compiled = cast(Any, statement).compile(dialect=dialect, column_keys=column_keys)
        # Columns whose Python-side default SQLAlchemy would compute at execution.
        defaults = {column.key: column.default for column in compiled.insert_prefetch}
        defaults.update({column.key: column.onupdate for column in compiled.update_prefetch})
        for key, default in defaults.items():
            if key not in names and not (default is not None and default.is_scalar):
                raise ValueError(
                    f"HotStatement: give {key!r} a value (its default is not constant)"
                )
        self.sql: str = compiled.string
        processors = compiled._bind_processors
        self._slots: list[tuple[str, Any, Any]] = []
        for name in compiled.positiontup:
            constant = None
            if name not in names:
                bind = compiled.binds.get(name)
                if name in defaults:
                    constant = defaults[name].arg
                elif bind is not None and not bind.required:
                    constant = bind.value
                else:
                    raise ValueError(f"HotStatement: parameter {name!r} is missing")
            self._slots.append((name, processors.get(name), constant))
        self._names = names

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, process, constant in self._slots:
            value = params[name] if name in self._names else constant
            arguments.append(value if process is None or value is None else process(value))
        return arguments


async def _adapted_connection(session: AsyncSession) -> Any:
    """SQLAlchemy's asyncpg adapter of the session's connection, its transaction begun
    (the adapter begins it lazily, on the first statement it runs itself). Found once
    per session transaction: asking the session for its connection costs more than a
    statement on the driver."""
    transaction = session.sync_session.get_transaction()
    held = session.info.get(_HOT_CONNECTION)
    if held is not None and transaction is not None and held[0] is transaction:
        adapted = held[1]
    else:
        connection = await session.connection()
        adapted = connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        session.info[_HOT_CONNECTION] = (session.sync_session.get_transaction(), adapted)
    if adapted._transaction is None:
        await adapted._start_transaction()
    return adapted


_HOT_CONNECTION = "hot_statement_connection"


def _as_sqlalchemy_error(
    adapted: Any, dialect: Dialect, sql: str, arguments: list[Any], error: Exception
) -> Exception:
    """The error SQLAlchemy would have raised for the same failure."""
    try:
        adapted._handle_exception(error)  # raises the adapter's DB-API error
    except Exception as translated:
        if isinstance(translated, dialect.loaded_dbapi.Error):
            return DBAPIError.instance(
                sql, arguments, translated, dialect.loaded_dbapi.Error, dialect=dialect
            )
        return translated
    return error

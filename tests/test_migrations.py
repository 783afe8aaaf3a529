"""The schema exists only through Alembic: upgrade from empty, downgrade to base, and the
models never drift from the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.db import Base, make_engine
from tests.conftest import Backend, alembic_config, run_alembic


async def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def _index_definitions(url: str) -> set[tuple[str, str, str | None]]:
    """(table, index, its CREATE INDEX as the database keeps it, WHERE clause included)."""
    query = (
        "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        if url.startswith("postgresql")
        else "SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index'"
    )
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text(query))
            return {(table, name, sql) for table, name, sql in rows}
    finally:
        await engine.dispose()


async def test_models_match_migrations(backend: Backend) -> None:
    engine = make_engine(backend.url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_downgrade_to_base_and_upgrade_again(backend: Backend, tmp_path) -> None:
    # A scratch SQLite file keeps the shared test database intact on both backends;
    # on PostgreSQL the round trip is checked on the test database itself, then restored.
    url = backend.url if backend.name == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/rt.db"
    if backend.name == "sqlite":
        run_alembic(url, "upgrade", "head")
    tables = {t.name for t in Base.metadata.sorted_tables}
    assert tables <= await _table_names(url)

    run_alembic(url, "downgrade", "base")
    assert await _table_names(url) <= {"alembic_version"}

    run_alembic(url, "upgrade", "head")
    assert tables <= await _table_names(url)
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            head = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
    finally:
        await engine.dispose()
    assert [head] == ScriptDirectory.from_config(alembic_config(url)).get_heads()


async def test_downgrading_the_latest_revision_gives_back_its_indexes(
    backend: Backend, tmp_path
) -> None:
    """Rolling the latest migration back leaves the indexes as an upgrade to the revision
    before it made them, partial ones' WHERE clauses included: a rollback gets its plans
    back. (compare_metadata sees neither a downgrade nor an index's WHERE clause.)"""
    url = backend.url if backend.name == "postgresql" else f"sqlite+aiosqlite:///{tmp_path}/rb.db"
    script = ScriptDirectory.from_config(alembic_config(url))
    previous = script.get_revision(script.get_current_head()).down_revision
    assert isinstance(previous, str)
    try:
        if backend.name == "postgresql":
            run_alembic(url, "downgrade", "base")
        run_alembic(url, "upgrade", previous)
        upgraded = await _index_definitions(url)
        run_alembic(url, "upgrade", "head")
        run_alembic(url, "downgrade", previous)
        assert await _index_definitions(url) == upgraded
    finally:
        run_alembic(url, "upgrade", "head")


def test_the_migration_history_is_one_line() -> None:
    """Branches would make `alembic upgrade head` ambiguous for a deployment."""
    assert len(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()) == 1

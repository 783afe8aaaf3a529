"""Procedures and versions in the database: validated when saved, frozen when published."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.forms import service
from app.forms.compiler import DefinitionInvalid
from app.forms.models import ProcedureEvent, ProcedureVersion
from app.municipalities.service import MunicipalityNotFound
from tests.factories import TOMI, seed_municipalities, simple_definition


@pytest.fixture
async def tomi(session_factory: async_sessionmaker[AsyncSession]) -> str:
    await seed_municipalities(session_factory)
    return TOMI


async def test_bad_definition_is_refused_with_its_path_and_nothing_is_stored(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    bad = simple_definition()
    bad["steps"][0]["fields"][2]["when"] = {"field": "no_such_field", "equals": "x"}
    async with session_factory() as session:
        with pytest.raises(DefinitionInvalid) as raised:
            await service.create_procedure(session, tomi, bad)
        await session.rollback()
    paths = [error.path for error in raised.value.errors]
    assert "/steps/0/fields/2/when/field" in paths or "/steps/0/fields/2/when" in paths
    async with session_factory() as session:
        assert (await session.scalars(select(ProcedureVersion))).all() == []


async def test_published_version_is_frozen(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        _, version = await service.create_procedure(session, tomi, simple_definition())
        await service.publish_version(session, version, now=datetime.now(UTC))
    version_id = version.id
    async with session_factory() as session:
        version = await service.get_version(session, version_id)
        changed = simple_definition(title={"ja": "変更後", "en": "Changed"})
        with pytest.raises(service.VersionFrozen):
            await service.update_draft(session, version, changed)
        with pytest.raises(service.VersionFrozen):
            await service.publish_version(session, version, now=datetime.now(UTC))
        await session.rollback()
    async with session_factory() as session:
        stored = await service.get_version(session, version_id)
        assert stored.definition["title"]["ja"] == "テスト証明書の交付請求"


async def test_one_draft_at_a_time_and_drafts_are_editable(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        procedure, version = await service.create_procedure(session, tomi, simple_definition())
        with pytest.raises(service.DraftVersionExists):
            await service.add_version(session, procedure, simple_definition())
        edited = simple_definition(legal_basis="改正後の条例")
        version = await service.update_draft(session, version, edited)
        assert version.definition["legal_basis"] == "改正後の条例"


async def test_definition_code_must_match_the_procedure(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session:
        procedure, version = await service.create_procedure(session, tomi, simple_definition())
        await service.publish_version(session, version, now=datetime.now(UTC))
        with pytest.raises(service.ProcedureCodeMismatch):
            await service.add_version(session, procedure, simple_definition("other-code"))
        with pytest.raises(service.ProcedureExists):
            await service.create_procedure(session, tomi, simple_definition())


async def test_publish_and_retire_are_recorded_for_the_kpi(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with session_factory() as session, session.begin():
        procedure, version = await service.create_procedure(session, tomi, simple_definition())
        await service.publish_version(session, version, now=datetime.now(UTC))
        await service.retire_procedure(session, procedure, now=datetime.now(UTC))
        with pytest.raises(service.ProcedureNotPublished):
            await service.retire_procedure(session, procedure, now=datetime.now(UTC))
    async with session_factory() as session:
        events = (await session.scalars(select(ProcedureEvent).order_by(ProcedureEvent.id))).all()
        assert [(e.action, e.version) for e in events] == [("published", 1), ("retired", None)]
        procedure = await service.get_procedure(session, tomi, "test-certificate")
        assert procedure.first_published_at is not None
        assert procedure.retired_at is not None


async def test_loading_the_catalog_twice_changes_nothing(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    definitions = service.read_catalog_directory()
    async with session_factory() as session, session.begin():
        first = await service.load_catalog(session, tomi, definitions, now=datetime.now(UTC))
    async with session_factory() as session, session.begin():
        second = await service.load_catalog(session, tomi, definitions, now=datetime.now(UTC))
    assert set(first.values()) == {"created"}
    assert set(second.values()) == {"unchanged"}
    assert len(first) >= 15


async def test_the_current_form_comes_with_its_municipality_and_their_errors(
    tomi: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """What create+submit reads in one statement: the municipality and the current
    published version (not a draft), each missing one with its own error."""
    async with session_factory() as session, session.begin():
        procedure, version = await service.create_procedure(session, tomi, simple_definition())
        await service.publish_version(session, version, now=datetime.now(UTC))
        code = procedure.code
        await service.add_version(session, procedure, simple_definition())  # a draft
    async with session_factory() as session:
        current = await service.get_current_form(session, tomi, code)
        assert (current.version, current.municipality.name_ja) == (1, "東御市")
        # After a rollback the session's municipality is expired; it is read afresh.
        await session.rollback()
        again = await service.get_current_form(session, tomi, code)
        assert again.municipality is current.municipality
        assert again.municipality.reference_prefix == "TOMI"
        with pytest.raises(service.ProcedureNotFound):
            await service.get_current_form(session, tomi, "no-such-procedure")
        with pytest.raises(MunicipalityNotFound):
            await service.get_current_form(session, "011002", code)

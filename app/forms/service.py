"""Procedures and their versions: save (validated), publish (frozen), retire, and the
public catalog. Never commits: the caller owns the transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import HotStatement, table_of
from app.errors import Conflict, NotFound, ValidationFailed
from app.forms.compiler import CompiledForm, cached_form, check_definition, compiled_form_for
from app.forms.models import Procedure, ProcedureEvent, ProcedureVersion
from app.municipalities.models import Municipality
from app.municipalities.service import adopt as adopt_municipality
from app.municipalities.service import get_municipality, require_valid_code, with_municipality
from app.municipalities.service import not_found as municipality_not_found

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


class ProcedureNotFound(NotFound, code="PROCEDURE_NOT_FOUND"): ...


class ProcedureVersionNotFound(NotFound, code="PROCEDURE_VERSION_NOT_FOUND"): ...


class ProcedureExists(Conflict, code="PROCEDURE_EXISTS"): ...


class VersionFrozen(Conflict, code="PROCEDURE_VERSION_FROZEN"): ...


class DraftVersionExists(Conflict, code="PROCEDURE_DRAFT_EXISTS"): ...


class ProcedureCodeMismatch(ValidationFailed, code="PROCEDURE_CODE_MISMATCH"): ...


class ProcedureNotPublished(Conflict, code="PROCEDURE_NOT_PUBLISHED"): ...


def definition_digest(definition: Mapping[str, Any]) -> str:
    canonical = json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class PublishedProcedure:
    """A procedure as the catalog shows it: its current published version, compiled."""

    procedure: Procedure
    version: ProcedureVersion
    form: CompiledForm


async def create_procedure(
    session: AsyncSession, municipality_code: str, definition_data: Mapping[str, Any]
) -> tuple[Procedure, ProcedureVersion]:
    """Create a procedure with version 1 as a draft. The definition is validated first."""
    await get_municipality(session, municipality_code)
    definition = check_definition(definition_data)
    existing = await session.scalar(
        select(Procedure.id).where(
            Procedure.municipality_code == municipality_code, Procedure.code == definition.code
        )
    )
    if existing is not None:
        raise ProcedureExists(
            f"Procedure '{definition.code}' already exists; add a version instead.",
            f"手続「{definition.code}」は既にあります。新しい版を追加してください。",
        )
    procedure = Procedure(municipality_code=municipality_code, code=definition.code)
    session.add(procedure)
    await session.flush()
    version = _new_version(procedure, 1, definition_data)
    session.add(version)
    await session.flush()
    return procedure, version


async def add_version(
    session: AsyncSession, procedure: Procedure, definition_data: Mapping[str, Any]
) -> ProcedureVersion:
    """Add the next version as a draft. Only one draft at a time."""
    definition = check_definition(definition_data)
    _require_same_code(procedure, definition.code)
    versions = await list_versions(session, procedure)
    if any(v.status == "draft" for v in versions):
        raise DraftVersionExists(
            "Edit or publish the existing draft version first.",
            "編集中の版を更新または公開してから追加してください。",
        )
    next_number = max((v.version for v in versions), default=0) + 1
    version = _new_version(procedure, next_number, definition_data)
    session.add(version)
    await session.flush()
    return version


async def update_draft(
    session: AsyncSession, version: ProcedureVersion, definition_data: Mapping[str, Any]
) -> ProcedureVersion:
    if version.status != "draft":
        raise VersionFrozen(
            f"Version {version.version} is published and frozen; add a new version.",
            f"第{version.version}版は公開済みのため変更できません。新しい版を追加してください。",
        )
    definition = check_definition(definition_data)
    procedure = await session.get_one(Procedure, version.procedure_id)
    _require_same_code(procedure, definition.code)
    version.definition = dict(definition_data)
    version.definition_digest = definition_digest(definition_data)
    await session.flush()
    return version


async def publish_version(
    session: AsyncSession, version: ProcedureVersion, *, now: datetime
) -> Procedure:
    """Freeze the version and make it the procedure's current one (公開) at `now`."""
    if version.status != "draft":
        raise VersionFrozen(
            f"Version {version.version} is already published.",
            f"第{version.version}版は既に公開されています。",
        )
    check_definition(version.definition)
    procedure = await session.get_one(Procedure, version.procedure_id, with_for_update=True)
    version.status = "published"
    version.published_at = now
    procedure.status = "published"
    procedure.retired_at = None
    if procedure.first_published_at is None:
        procedure.first_published_at = now
    await _record_event(session, procedure, "published", now, version=version.version)
    return procedure


async def retire_procedure(
    session: AsyncSession, procedure: Procedure, *, now: datetime
) -> Procedure:
    """Take the procedure off the catalog (廃止) at `now`. Existing submissions keep their
    version."""
    if procedure.status != "published":
        raise ProcedureNotPublished(
            "Only a published procedure can be retired.",
            "公開中の手続のみ廃止できます。",
        )
    procedure.status = "retired"
    procedure.retired_at = now
    await _record_event(session, procedure, "retired", now)
    return procedure


async def _record_event(
    session: AsyncSession,
    procedure: Procedure,
    action: str,
    now: datetime,
    *,
    version: int | None = None,
) -> None:
    """One entry of the publish/retire history the KPI counts from (flushed, like the
    status change it records)."""
    session.add(
        ProcedureEvent(
            procedure_id=procedure.id,
            municipality_code=procedure.municipality_code,
            action=action,
            version=version,
            occurred_at=now,
        )
    )
    await session.flush()


async def get_procedure(
    session: AsyncSession, municipality_code: str, procedure_code: str
) -> Procedure:
    await get_municipality(session, municipality_code)
    procedure = await session.scalar(
        select(Procedure).where(
            Procedure.municipality_code == municipality_code, Procedure.code == procedure_code
        )
    )
    if procedure is None:
        raise _procedure_not_found(municipality_code, procedure_code)
    return procedure


async def list_versions(session: AsyncSession, procedure: Procedure) -> list[ProcedureVersion]:
    rows = await session.scalars(
        select(ProcedureVersion)
        .where(ProcedureVersion.procedure_id == procedure.id)
        .order_by(ProcedureVersion.version)
    )
    return list(rows)


async def get_version(session: AsyncSession, version_id: uuid.UUID) -> ProcedureVersion:
    version = await session.get(ProcedureVersion, version_id)
    if version is None:
        raise ProcedureVersionNotFound()
    return version


async def list_published(session: AsyncSession, municipality_code: str) -> list[PublishedProcedure]:
    """The catalog: every published procedure with its current version."""
    await get_municipality(session, municipality_code)
    current = (
        select(
            ProcedureVersion.procedure_id,
            func.max(ProcedureVersion.version).label("version"),
        )
        .where(ProcedureVersion.status == "published")
        .group_by(ProcedureVersion.procedure_id)
        .subquery()
    )
    rows = await session.execute(
        select(Procedure, ProcedureVersion)
        .join(current, current.c.procedure_id == Procedure.id)
        .join(
            ProcedureVersion,
            (ProcedureVersion.procedure_id == Procedure.id)
            & (ProcedureVersion.version == current.c.version),
        )
        .where(Procedure.municipality_code == municipality_code, Procedure.status == "published")
        .order_by(Procedure.code)
    )
    return [_published(procedure, version) for procedure, version in rows.all()]


async def get_published(
    session: AsyncSession, municipality_code: str, procedure_code: str
) -> PublishedProcedure:
    procedure = await get_procedure(session, municipality_code, procedure_code)
    if procedure.status != "published":
        raise _procedure_not_found(municipality_code, procedure_code)
    version = await session.scalar(
        select(ProcedureVersion)
        .where(
            ProcedureVersion.procedure_id == procedure.id,
            ProcedureVersion.status == "published",
        )
        .order_by(ProcedureVersion.version.desc())
        .limit(1)
    )
    if version is None:  # a published procedure always has a published version
        raise _procedure_not_found(municipality_code, procedure_code)
    return _published(procedure, version)


def compiled_version(version: ProcedureVersion) -> CompiledForm:
    """The compiled form of a version; published versions are cached (they never change)."""
    if version.status == "published":
        _published_digests[version.id] = version.definition_digest
        return compiled_form_for(f"{version.id}:{version.definition_digest}", version.definition)
    return compiled_form_for(f"draft:{version.definition_digest}", version.definition)


@dataclass(frozen=True)
class CurrentForm:
    """The current published version of a procedure, by id, with its compiled form: what
    an application is created against, without loading the rows; and its municipality,
    read with it."""

    municipality: Municipality
    procedure_id: uuid.UUID
    procedure_code: str
    version_id: uuid.UUID
    version: int
    form: CompiledForm


async def get_current_form(
    session: AsyncSession, municipality_code: str, procedure_code: str
) -> CurrentForm:
    """What `get_published` finds (the same errors), with the municipality, in one query
    and without reading the definition again: a published version's compiled form is
    kept in the process. The municipality joins the session."""
    require_valid_code(municipality_code)
    rows = await _CURRENT_VERSION.rows(
        session, {"municipality_code": municipality_code, "procedure_code": procedure_code}
    )
    if not rows:
        raise municipality_not_found(municipality_code)
    municipality = adopt_municipality(session, rows[0])
    procedure_id, code, version_id, number, digest = rows[0][-5:]
    if procedure_id is None:
        raise _procedure_not_found(municipality_code, procedure_code)
    _published_digests[version_id] = digest
    form = cached_form(f"{version_id}:{digest}")
    if form is None:
        form = compiled_version(await get_version(session, version_id))
    return CurrentForm(municipality, procedure_id, code, version_id, number, form)


async def form_of_version(session: AsyncSession, version_id: uuid.UUID) -> CompiledForm:
    """The compiled form of any version by id (`compiled_version(get_version(...))`),
    without a query when it is a published version this process compiled already."""
    digest = _published_digests.get(version_id)
    form = None if digest is None else cached_form(f"{version_id}:{digest}")
    return form or compiled_version(await get_version(session, version_id))


_published_digests: dict[uuid.UUID, str] = {}
"""Published version id -> its definition's digest (a published definition never
changes), so its compiled form is found in the cache by id alone."""

_procedures = table_of(Procedure)
_versions = table_of(ProcedureVersion)
_CURRENT_VERSION = HotStatement(
    with_municipality(
        select(
            _procedures.c.id,
            _procedures.c.code,
            _versions.c.id,
            _versions.c.version,
            _versions.c.definition_digest,
        )
        .join(_versions, _versions.c.procedure_id == _procedures.c.id)
        .where(
            _procedures.c.municipality_code == bindparam("municipality_code"),
            _procedures.c.code == bindparam("procedure_code"),
            _procedures.c.status == "published",
            _versions.c.status == "published",
        )
        .order_by(_versions.c.version.desc())
        .limit(1)
        .subquery("current_version")
    )
)


def read_catalog_directory(directory: Path = CATALOG_DIR) -> list[dict[str, Any]]:
    """The sample definitions shipped as YAML, one procedure per file."""
    definitions = []
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            definitions.append(yaml.safe_load(handle))
    return definitions


async def load_catalog(
    session: AsyncSession,
    municipality_code: str,
    definitions: Sequence[Mapping[str, Any]],
    *,
    now: datetime,
) -> dict[str, str]:
    """Publish each definition for the municipality at `now`, idempotently: a new
    procedure is created, a changed one gets a new published version, an unchanged one
    is left alone. Returns what happened per procedure code."""
    outcome: dict[str, str] = {}
    for definition_data in definitions:
        definition = check_definition(definition_data)
        digest = definition_digest(definition_data)
        procedure = await session.scalar(
            select(Procedure).where(
                Procedure.municipality_code == municipality_code,
                Procedure.code == definition.code,
            )
        )
        if procedure is None:
            procedure, version = await create_procedure(session, municipality_code, definition_data)
            await publish_version(session, version, now=now)
            outcome[definition.code] = "created"
            continue
        versions = await list_versions(session, procedure)
        latest = versions[-1]
        if latest.definition_digest == digest and latest.status == "published":
            # A procedure staff retired stays retired: seeding never overrides them.
            outcome[definition.code] = "unchanged"
            continue
        if latest.status == "draft":
            version = await update_draft(session, latest, definition_data)
        else:
            version = await add_version(session, procedure, definition_data)
        await publish_version(session, version, now=now)
        outcome[definition.code] = f"published v{version.version}"
    return outcome


def _new_version(
    procedure: Procedure, number: int, definition_data: Mapping[str, Any]
) -> ProcedureVersion:
    return ProcedureVersion(
        procedure_id=procedure.id,
        version=number,
        status="draft",
        definition=dict(definition_data),
        definition_digest=definition_digest(definition_data),
    )


def _published(procedure: Procedure, version: ProcedureVersion) -> PublishedProcedure:
    return PublishedProcedure(procedure=procedure, version=version, form=compiled_version(version))


def _require_same_code(procedure: Procedure, code: str) -> None:
    if procedure.code != code:
        raise ProcedureCodeMismatch(
            f"The definition's code '{code}' must be '{procedure.code}'.",
            f"定義のコード「{code}」は「{procedure.code}」である必要があります。",
        )


def _procedure_not_found(municipality_code: str, procedure_code: str) -> ProcedureNotFound:
    return ProcedureNotFound(
        f"Municipality {municipality_code} offers no published procedure '{procedure_code}'.",
        f"{municipality_code}には公開中の手続「{procedure_code}」はありません。",
    )

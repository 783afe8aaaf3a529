"""Queries over the form tables that other modules need (the only SQL over procedures,
versions and their publish/retire history outside app.forms.service).

Other modules never import app.forms.models: they call these, or join the subqueries
published here into their own queries. `Procedure` and `ProcedureVersion` are published
as row types, to name what these functions return; rows change only through
app.forms.service.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.forms.models import Procedure, ProcedureEvent, ProcedureVersion

__all__ = [
    "Procedure",
    "ProcedureVersion",
    "PublicationEvent",
    "PublicationHistory",
    "procedure_of",
    "procedures_with_versions",
    "publication_history",
    "publication_marks",
    "version_labels",
]


@dataclass(frozen=True)
class PublicationEvent:
    """One publish or retire of a procedure (公開 / 公開終了)."""

    procedure_id: uuid.UUID
    action: str
    """published | retired"""
    version: int | None
    occurred_at: datetime


@dataclass(frozen=True)
class PublishedVersionRef:
    """A published version without its definition: published definitions never change,
    so a reader that keeps what it derived from one by (id, digest) need not load it."""

    id: uuid.UUID
    procedure_id: uuid.UUID
    version: int
    definition_digest: str


@dataclass(frozen=True)
class PublicationHistory:
    """A municipality's procedures, their published versions and publish/retire events."""

    procedure_codes: dict[uuid.UUID, str]
    published_versions: list[PublishedVersionRef]
    events: list[PublicationEvent]
    """In the order they happened."""


def version_labels() -> Subquery:
    """Per procedure version: `version_id`, `title_ja`, `title_en`, `department` (担当課,
    as the definition names it) and the whole `definition`, to join into a query by
    `version_id`."""
    definition = ProcedureVersion.definition
    return select(
        ProcedureVersion.id.label("version_id"),
        definition["title"]["ja"].as_string().label("title_ja"),
        definition["title"]["en"].as_string().label("title_en"),
        definition["department"]["ja"].as_string().label("department"),
        definition.label("definition"),
    ).subquery("version_labels")


async def publication_history(session: AsyncSession, municipality_code: str) -> PublicationHistory:
    """Everything the KPI's オンライン手続数 is computed from, for one municipality, in one
    statement: each publish/retire event with its procedure's code and, for a publish,
    the version it published (every published version has its publish event)."""
    rows = await session.execute(
        select(
            ProcedureEvent.procedure_id,
            ProcedureEvent.action,
            ProcedureEvent.version,
            ProcedureEvent.occurred_at,
            Procedure.code,
            ProcedureVersion.id,
            ProcedureVersion.definition_digest,
        )
        .join(Procedure, Procedure.id == ProcedureEvent.procedure_id)
        .outerjoin(
            ProcedureVersion,
            and_(
                ProcedureVersion.procedure_id == ProcedureEvent.procedure_id,
                ProcedureVersion.version == ProcedureEvent.version,
                ProcedureVersion.status == "published",
            ),
        )
        .where(ProcedureEvent.municipality_code == municipality_code)
        .order_by(ProcedureEvent.occurred_at, ProcedureEvent.id)
    )
    history = PublicationHistory(procedure_codes={}, published_versions=[], events=[])
    for procedure_id, action, version, occurred_at, code, version_id, digest in rows:
        history.procedure_codes[procedure_id] = code
        history.events.append(PublicationEvent(procedure_id, action, version, occurred_at))
        if version_id is not None and version is not None:
            history.published_versions.append(
                PublishedVersionRef(version_id, procedure_id, version, digest)
            )
    return history


def publication_marks(municipality_code: str | ColumnElement[str]) -> tuple[Any, Any]:
    """The number and the last id of the municipality's publish/retire events, as scalar
    subqueries to embed in a query (the code may be a bound parameter, for a statement
    built once): the history is append-only, so whenever anything in
    `publication_history` changes, so does one of them."""
    events = select(ProcedureEvent.id).where(ProcedureEvent.municipality_code == municipality_code)
    return (
        select(func.count()).select_from(events.subquery()).scalar_subquery(),
        select(func.max(ProcedureEvent.id))
        .where(ProcedureEvent.municipality_code == municipality_code)
        .scalar_subquery(),
    )


async def procedures_with_versions(
    session: AsyncSession, municipality_code: str
) -> list[tuple[Procedure, list[ProcedureVersion]]]:
    """Every procedure of the municipality by code, each with its versions in order."""
    procedures = list(
        await session.scalars(
            select(Procedure)
            .where(Procedure.municipality_code == municipality_code)
            .order_by(Procedure.code)
        )
    )
    versions = await session.scalars(
        select(ProcedureVersion)
        .join(Procedure, Procedure.id == ProcedureVersion.procedure_id)
        .where(Procedure.municipality_code == municipality_code)
        .order_by(ProcedureVersion.version)
    )
    by_procedure: dict[uuid.UUID, list[ProcedureVersion]] = {p.id: [] for p in procedures}
    for version in versions:
        by_procedure[version.procedure_id].append(version)
    return [(procedure, by_procedure[procedure.id]) for procedure in procedures]


async def procedure_of(session: AsyncSession, version: ProcedureVersion) -> Procedure:
    """The procedure a version belongs to."""
    return await session.get_one(Procedure, version.procedure_id)

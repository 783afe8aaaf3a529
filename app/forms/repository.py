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

from sqlalchemy import Subquery, select
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
    """Everything the KPI's オンライン手続数 is computed from, for one municipality."""
    procedures = await session.execute(
        select(Procedure.id, Procedure.code).where(Procedure.municipality_code == municipality_code)
    )
    versions = await session.execute(
        select(
            ProcedureVersion.id,
            ProcedureVersion.procedure_id,
            ProcedureVersion.version,
            ProcedureVersion.definition_digest,
        ).where(
            ProcedureVersion.procedure_id.in_(
                select(Procedure.id).where(Procedure.municipality_code == municipality_code)
            ),
            ProcedureVersion.status == "published",
        )
    )
    events = await session.execute(
        select(
            ProcedureEvent.procedure_id,
            ProcedureEvent.action,
            ProcedureEvent.version,
            ProcedureEvent.occurred_at,
        )
        .where(ProcedureEvent.municipality_code == municipality_code)
        .order_by(ProcedureEvent.occurred_at, ProcedureEvent.id)
    )
    return PublicationHistory(
        procedure_codes={procedure_id: code for procedure_id, code in procedures},
        published_versions=[PublishedVersionRef(*row) for row in versions],
        events=[PublicationEvent(*row) for row in events],
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

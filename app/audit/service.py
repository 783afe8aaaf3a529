"""Writing and reading the audit log. Entries are only ever added; the caller's
transaction carries them, so an action that rolls back leaves no entry claiming it
happened. Never commits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.db import fetch_page
from app.request_context import current_request_id


class Actor(Protocol):
    """Whoever acts: a staff principal, a citizen principal, or the system."""

    @property
    def actor_type(self) -> str: ...

    @property
    def actor_id(self) -> str: ...


@dataclass(frozen=True)
class AuditActor:
    """An actor named directly: a command (`system`, `create-staff`) or a staff member
    signing in, who holds no principal yet."""

    actor_type: str
    actor_id: str


async def record(
    session: AsyncSession,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: object,
    municipality_code: str,
    reason: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, stamped with the current request id."""
    entry = AuditEntry(
        municipality_code=municipality_code,
        actor_type=actor.actor_type,
        actor_id=actor.actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        request_id=current_request_id(),
        reason=reason,
        details=dict(details or {}),
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    """Which entries of one municipality to list; every criterion is optional."""

    municipality_code: str
    actor_id: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    request_id: str | None = None
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    """Exclusive upper bound."""


async def list_entries(
    session: AsyncSession, criteria: AuditFilter, *, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """Newest first, with the total count of matching entries."""
    statement = (
        select(AuditEntry)
        .where(*_conditions(criteria))
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
    )
    return await fetch_page(session, statement, limit=limit, offset=offset)


def _conditions(criteria: AuditFilter) -> list[ColumnElement[bool]]:
    conditions = [AuditEntry.municipality_code == criteria.municipality_code]
    equalities = (
        (AuditEntry.actor_id, criteria.actor_id),
        (AuditEntry.action, criteria.action),
        (AuditEntry.target_type, criteria.target_type),
        (AuditEntry.target_id, criteria.target_id),
        (AuditEntry.request_id, criteria.request_id),
    )
    conditions += [column == value for column, value in equalities if value is not None]
    if criteria.occurred_from is not None:
        conditions.append(AuditEntry.occurred_at >= criteria.occurred_from)
    if criteria.occurred_to is not None:
        conditions.append(AuditEntry.occurred_at < criteria.occurred_to)
    return conditions

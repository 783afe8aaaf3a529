"""The audit log, read-only: no route updates or deletes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from app.audit import service
from app.audit.schemas import AuditEntryRead, AuditLog
from app.auth.staff_access import ACCESS_ERRORS, AdminStaff
from app.dependencies import DbSession
from app.errors import problem_responses

router = APIRouter(prefix="/admin", tags=["audit"])


@router.get(
    "/audit-log",
    response_model=AuditLog,
    responses=problem_responses(*ACCESS_ERRORS),
)
async def list_audit_log(
    staff: AdminStaff,
    session: DbSession,
    actor_id: str | None = None,
    action: Annotated[str | None, Query(examples=["submission.read"])] = None,
    target_type: Annotated[str | None, Query(examples=["submission"])] = None,
    target_id: str | None = None,
    request_id: str | None = None,
    occurred_from: Annotated[AwareDatetime | None, Query(description="Inclusive")] = None,
    occurred_to: Annotated[AwareDatetime | None, Query(description="Exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> AuditLog:
    """監査ログ of the admin's own municipality, newest first."""
    criteria = service.AuditFilter(
        municipality_code=staff.municipality_code,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        request_id=request_id,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
    )
    entries, total = await service.list_entries(session, criteria, limit=limit, offset=offset)
    return AuditLog(
        items=[AuditEntryRead.model_validate(entry) for entry in entries],
        total=total,
        limit=limit,
        offset=offset,
    )

"""The audit log, read-only: no route updates or deletes an entry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.audit import service
from app.audit.schemas import AuditEntryRead, AuditLog, AuditQuery
from app.auth.staff_access import ACCESS_ERRORS, AdminStaff
from app.dependencies import DbSession
from app.errors import problem_responses

router = APIRouter(prefix="/admin", tags=["audit"])


@router.get(
    "/audit-log",
    responses=problem_responses(*ACCESS_ERRORS),
)
async def list_audit_log(
    staff: AdminStaff, session: DbSession, query: Annotated[AuditQuery, Query()]
) -> AuditLog:
    """監査ログ of the admin's own municipality, newest first."""
    page = {"limit": query.limit, "offset": query.offset}
    criteria = service.AuditFilter(staff.municipality_code, **query.model_dump(exclude=set(page)))
    entries, total = await service.list_entries(session, criteria, **page)
    return AuditLog(
        items=[AuditEntryRead.model_validate(entry) for entry in entries], total=total, **page
    )

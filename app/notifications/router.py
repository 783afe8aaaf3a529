"""Staff see the notifications of an application and their delivery state."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends

from app.auth.staff_access import ACCESS_ERRORS, ReviewStaff
from app.dependencies import DbSession, no_store
from app.errors import problem_responses
from app.notifications import service
from app.notifications.schemas import NotificationList, NotificationRead
from app.submissions.service import SubmissionNotFound

admin_router = APIRouter(
    prefix="/admin", tags=["notifications", "review"], dependencies=[Depends(no_store)]
)


@admin_router.get(
    "/submissions/{submission_id}/notifications",
    response_model=NotificationList,
    responses=problem_responses(*ACCESS_ERRORS, SubmissionNotFound),
)
async def list_notifications(
    staff: ReviewStaff, submission_id: uuid.UUID, session: DbSession
) -> NotificationList:
    """Emails sent (or waiting, or failed) to the applicant about this application."""
    notifications = await service.list_for_staff(session, staff, submission_id)
    return NotificationList(items=[NotificationRead.model_validate(item) for item in notifications])

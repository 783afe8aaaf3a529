"""What staff add to an application while reviewing it: who handles it (担当者) and
internal notes (内部メモ). Neither is ever shown to the applicant."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_uuid, utcnow


class SubmissionAssignment(Base):
    """The staff member handling an application (担当者); at most one at a time."""

    __tablename__ = "submission_assignments"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"), index=True)
    assigned_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionComment(Base):
    """An internal note (内部メモ) between staff about one application."""

    __tablename__ = "submission_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

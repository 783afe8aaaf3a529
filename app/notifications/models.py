from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_uuid, utcnow


class Notification(Base):
    """One email in the outbox (送信待ち). Written in the transaction of the event it
    tells about, so there is a message exactly when the event happened; the sender
    delivers it after commit. Unique per event and recipient: a replayed event never
    queues a second message."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_key", "recipient"),
        Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(6))
    event_key: Mapped[str] = mapped_column(String(80))
    """What the message is about, e.g. `submission_event:42` or `refund:<id>`."""
    kind: Mapped[str] = mapped_column(String(24))
    """received | returned | approved | rejected | paid | konbini_pending | refunded"""
    recipient: Mapped[str] = mapped_column(String(320))
    """The applicant's email answer (purged with the answers)."""
    subject: Mapped[str] = mapped_column(String(400))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    """pending | sent | failed | not_configured (no SMTP_HOST when it was written)"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    """The SMTP reply code and error type of the last failure; never message content."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NotificationRead(BaseModel):
    """One email to the applicant and where its delivery stands (送信状況)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: Literal[
        "received", "returned", "approved", "rejected", "paid", "konbini_pending", "refunded"
    ]
    recipient: str
    subject: str
    state: Literal["pending", "sent", "failed", "not_configured"] = Field(
        description=(
            "pending: waiting or retrying; sent; failed: gave up or the address was refused; "
            "not_configured: no SMTP_HOST when it was written, so never sent"
        )
    )
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None = Field(description="SMTP code and error type of the last failure")
    created_at: datetime
    sent_at: datetime | None


class NotificationList(BaseModel):
    items: list[NotificationRead]

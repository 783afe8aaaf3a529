from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    municipality_code: str
    actor_type: str
    actor_id: str
    action: str
    target_type: str
    target_id: str
    request_id: str | None
    reason: str | None
    details: dict[str, Any]


class AuditLog(BaseModel):
    items: list[AuditEntryRead]
    total: int
    limit: int
    offset: int


class AuditQuery(BaseModel):
    """The audit log's query parameters: filters (each optional) and the page."""

    actor_id: str | None = None
    action: str | None = Field(default=None, examples=["submission.read"])
    target_type: str | None = Field(default=None, examples=["submission"])
    target_id: str | None = None
    request_id: str | None = None
    occurred_from: AwareDatetime | None = Field(default=None, description="Inclusive")
    occurred_to: AwareDatetime | None = Field(default=None, description="Exclusive")
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)

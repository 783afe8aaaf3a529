from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


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

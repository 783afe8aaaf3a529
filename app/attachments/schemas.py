from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AttachmentRead(BaseModel):
    """An attachment as its owner and staff see it. Answers of a `file` field hold `id`s."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    field_key: str | None = Field(description="The file field it was uploaded for, if named")
    filename: str | None = Field(description="The device's name for it, with its real extension")
    kind: Literal["image", "pdf"]
    content_type: str
    size_bytes: int
    scan_status: Literal["not_scanned", "pending", "clean", "infected"] = Field(
        description=(
            "not_scanned: virus scanning is off; pending: quarantined until scanned (検査待ち); "
            "clean; infected: refused, its bytes removed"
        )
    )
    created_at: datetime


class AttachmentList(BaseModel):
    items: list[AttachmentRead]
    total_bytes: int
    max_count: int
    max_file_bytes: int
    max_total_bytes: int

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, new_uuid, utcnow


class Attachment(Base):
    """A file attached to an application (添付ファイル). Its bytes live in the attachment
    store, encrypted, under `storage_key`; answers refer to it by `id`. Owned through its
    application: whoever owns the application owns its attachments."""

    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("submissions.id"), index=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    field_key: Mapped[str | None] = mapped_column(String(64), default=None)
    """The file field it was uploaded for, when the client said so (checked again at submit)."""
    filename: Mapped[str | None] = mapped_column(String(255), default=None)
    """The name the citizen's device gave it, cleaned, with the extension of its real kind."""
    kind: Mapped[str] = mapped_column(String(8))
    """image | pdf, from the content."""
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    """Of the stored (cleaned) file, before encryption."""
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    scan_status: Mapped[str] = mapped_column(String(16))
    """not_scanned (scanning off) | pending (quarantined) | clean | infected"""
    scan_signature: Mapped[str | None] = mapped_column(String(200), default=None)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

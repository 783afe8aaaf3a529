from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow


class Procedure(Base):
    """A procedure (手続) a municipality offers; its content lives in versions."""

    __tablename__ = "procedures"
    __table_args__ = (UniqueConstraint("municipality_code", "code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    """draft -> published -> retired (a retired procedure may be published again).
    The current version is the published version with the highest number."""
    first_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcedureVersion(Base):
    """One version of a procedure's definition; frozen once published."""

    __tablename__ = "procedure_versions"
    __table_args__ = (UniqueConstraint("procedure_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    procedure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    """draft (editable) -> published (frozen forever)."""
    definition: Mapped[dict[str, Any]] = mapped_column(JSONType)
    definition_digest: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the canonical JSON of `definition`: the catalog's ETag."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class ProcedureEvent(Base):
    """Append-only history of publish/retire, so "online at a date" can be answered
    for any past date (the KPI's オンライン手続数)."""

    __tablename__ = "procedure_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("procedures.id", ondelete="CASCADE"), index=True
    )
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    action: Mapped[str] = mapped_column(String(16))
    """published | retired"""
    version: Mapped[int | None] = mapped_column(Integer, default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""The audit log (監査ログ): append-only, one row per staff read of personal data and
per write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column declared INTEGER.
AuditId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEntry(Base):
    """Who did what to which record, when, in which request, and why (when a reason is
    required, e.g. revealing a My Number). Never holds the personal data itself.

    No code path updates or deletes a row; on PostgreSQL a trigger refuses both."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_municipality_occurred", "municipality_code", "occurred_at"),
        Index("ix_audit_entries_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(AuditId, primary_key=True, autoincrement=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    municipality_code: Mapped[str] = mapped_column(String(6))
    """No foreign key: the log outlives anything it mentions."""
    actor_type: Mapped[str] = mapped_column(String(16))
    """staff | citizen | system"""
    actor_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    """e.g. submission.read, submission.approve, my_number.reveal, procedure.publish"""
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    """Facts about the action that are not personal data (from/to status, a field path)."""

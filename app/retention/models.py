from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class RetentionPurge(Base):
    """One submission whose personal data the retention command removed (保存期間満了).

    The submission row itself stays (受付番号, status, timestamps); this row says when
    and under which retention period its answers and signatures went."""

    __tablename__ = "retention_purges"

    submission_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    retention_days: Mapped[int] = mapped_column(Integer)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    run_id: Mapped[str] = mapped_column(String(32))

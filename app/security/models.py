from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime


class RateLimitBucket(Base):
    """Requests counted per key (a hash of the endpoint and the caller) in one fixed
    window. In the database, not in process memory, so every worker shares the count."""

    __tablename__ = "rate_limit_buckets"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    count: Mapped[int] = mapped_column(Integer)

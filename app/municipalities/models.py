from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, utcnow


class Municipality(Base):
    """A tenant: one 地方公共団体, identified by its 全国地方公共団体コード."""

    __tablename__ = "municipalities"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    prefecture_ja: Mapped[str] = mapped_column(String(10))
    reference_prefix: Mapped[str] = mapped_column(String(8))
    """Short prefix of 受付番号 (reference numbers), e.g. TM for 東御市."""
    fiscal_year_start_month: Mapped[int] = mapped_column(SmallInteger, default=4)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

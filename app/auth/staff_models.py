"""Staff accounts (職員アカウント) and revoked staff tokens."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow


class StaffRole(StrEnum):
    """What a staff member may do; a person may hold several roles."""

    ADMIN = "admin"  # 管理者: accounts, procedures, audit log, every department
    REVIEWER = "reviewer"  # 審査担当: applications of their own department
    FINANCE = "finance"  # 会計担当: payments, refunds, reconciliation
    ANALYST = "analyst"  # 統計担当: KPI and usage counts, no personal data


class StaffUser(Base):
    """A municipality's staff member (職員), who signs in with email and password."""

    __tablename__ = "staff_users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    """The login id, stored lower-case; unique across the deployment because the token
    endpoint is shared by every municipality."""
    display_name: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(100))
    """所属課, spelled as in the definitions' `department.ja` (e.g. 市民課)."""
    roles: Mapped[list[str]] = mapped_column(JSONType)
    password_hash: Mapped[str] = mapped_column(String(255))
    """argon2id, in the PHC string format."""
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Raised by a password change and by disabling or re-enabling the account: a token
    carries the generation it was issued at and is refused once they differ."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RevokedStaffToken(Base):
    """A staff token ended by logout before it expired, looked up on every request.
    Rows whose `expires_at` has passed prove nothing any more and may be purged."""

    __tablename__ = "revoked_staff_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

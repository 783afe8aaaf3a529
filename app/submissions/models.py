from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, JSONType, UTCDateTime, new_uuid, utcnow


class Submission(Base):
    """An application (申請): the answers to one pinned procedure version, its fee,
    its 受付番号 once submitted, and where it stands in the lifecycle."""

    __tablename__ = "submissions"
    __table_args__ = (
        # Also the index of lookups by municipality_code alone (its leading column).
        UniqueConstraint("municipality_code", "reference_number"),
        # Anonymous applicants (most rows) have no subject: only My Page's rows are indexed.
        Index(
            "ix_submissions_citizen_subject",
            "citizen_subject",
            postgresql_where=text("citizen_subject IS NOT NULL"),
            sqlite_where=text("citizen_subject IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    municipality_code: Mapped[str] = mapped_column(ForeignKey("municipalities.code"))
    procedure_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedures.id"), index=True)
    procedure_version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("procedure_versions.id"))
    """The exact version the answers were filled against; never moves to a newer one."""
    procedure_code: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16), default="online")
    """online | counter (窓口申請, entered by staff): the KPI's オンライン利用率."""
    status: Mapped[str] = mapped_column(String(24))
    """See app.submissions.lifecycle.Status."""
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType)
    """Canonical answers as the compiler normalised them (hidden fields dropped)."""
    fee_total: Mapped[int | None] = mapped_column(Integer, default=None)
    """手数料, integer yen, always computed by the server from the pinned version."""
    fee_breakdown: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    reference_number: Mapped[str | None] = mapped_column(String(32), default=None)
    """受付番号, e.g. TOMI-R7-000123; assigned on the first submit, kept on resubmit."""
    fiscal_year: Mapped[int | None] = mapped_column(Integer, default=None)
    """年度 of the reference number (the calendar year in which it starts)."""
    access_token_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    """SHA-256 of the access token shown once at creation; the token itself is never stored."""
    citizen_subject: Mapped[str | None] = mapped_column(String(255), default=None)
    """The logged-in citizen owning it (JPKI issuer + serial); filled by the login issue."""
    prefilled_from_card: Mapped[list[str] | None] = mapped_column(JSONType, default=None)
    """Keys of answers filled from the My Number card (ワンスオンリー) and unchanged since."""
    identity_method: Mapped[str | None] = mapped_column(String(16), default=None)
    """本人確認の方法 at the latest submit: jpki_sign (署名用電子証明書), jpki_auth (card
    login), access_token, or none (at the counter staff check identity in person).
    None while a draft has never been submitted."""
    row_version: Mapped[int] = mapped_column(Integer)
    """Optimistic lock: every UPDATE checks and bumps it."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    """受付日時: the first submit; a resubmission keeps it."""
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __mapper_args__ = {"version_id_col": row_version}  # noqa: RUF012 (read by the mapper)


class SubmissionEvent(Base):
    """Append-only history of every transition (状態履歴).

    Carries municipality, procedure and channel itself, and has no foreign key to the
    submission, so KPIs computed from events survive purging the submission's personal
    data (or the row)."""

    __tablename__ = "submission_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    submission_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    municipality_code: Mapped[str] = mapped_column(String(6), index=True)
    procedure_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    procedure_code: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    actor_kind: Mapped[str] = mapped_column(String(16))
    """citizen | staff | system"""
    actor_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """The staff user (or citizen subject); never shown to citizens."""
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fee_total: Mapped[int | None] = mapped_column(Integer, default=None)
    """The application's fee (yen) when this transition happened."""
    identity_method: Mapped[str | None] = mapped_column(String(16), default=None)
    """none | access_token | jpki_auth | jpki_sign: how the applicant proved who they were
    (the card-use KPI reads it on the receipt event). Before revision 0011 it was kept
    on the receipt (受付) event only."""
    paid_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    """Net amount paid (received less refunds and a lost dispute, yen) at this transition;
    None on events recorded before revision 0011."""


class ReferenceCounter(Base):
    """The last 受付番号 handed out per municipality and fiscal year. Incremented in the
    submit transaction, so a rolled-back submit gives its number back (no gaps)."""

    __tablename__ = "reference_counters"

    municipality_code: Mapped[str] = mapped_column(
        ForeignKey("municipalities.code"), primary_key=True
    )
    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyRecord(Base):
    """The first response to an `Idempotency-Key`, per caller scope, until it expires.

    Written in the transaction that does the work: a failed request leaves no record,
    a successful one leaves its response for retries. Never holds an access token."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(160))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SubmissionSignature(Base):
    """Evidence of a signed submission (電子署名付き申請): the exact document digest,
    the signature, the signing certificate and the 基本4情報 it carried, as verified.

    A returned application signed again on resubmission gets a second row."""

    __tablename__ = "submission_signatures"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    document_digest: Mapped[str] = mapped_column(String(64))
    """Base64 SHA-256 of the canonical (RFC 8785) document that was signed."""
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    certificate: Mapped[bytes] = mapped_column(LargeBinary)
    """The signing certificate, DER."""
    issuer: Mapped[str] = mapped_column(String(512))
    serial_number: Mapped[str] = mapped_column(String(48))
    basic_facts: Mapped[dict[str, Any]] = mapped_column(JSONType)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionAssignment(Base):
    """The staff member handling an application (担当者); at most one at a time. Never
    shown to the applicant."""

    __tablename__ = "submission_assignments"

    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    assignee_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"), index=True)
    assigned_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionComment(Base):
    """An internal note (内部メモ) between staff about one application; never shown to
    the applicant."""

    __tablename__ = "submission_comments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_uuid)
    submission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("staff_users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

"""attachments (添付ファイル) and the notification outbox (通知)

Revision ID: 0009_attachments_notifications
Revises: 0008_payment_vouchers
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_attachments_notifications"
down_revision: str | None = "0008_payment_vouchers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("field_key", sa.String(length=64), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=128), nullable=False),
        sa.Column("scan_status", sa.String(length=16), nullable=False),
        sa.Column("scan_signature", sa.String(length=200), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_attachments_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
    )
    op.create_index(op.f("ix_attachments_submission_id"), "attachments", ["submission_id"])
    op.create_index(op.f("ix_attachments_municipality_code"), "attachments", ["municipality_code"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("event_key", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=400), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_notifications_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint(
            "event_key", "recipient", name=op.f("uq_notifications_event_key_recipient")
        ),
    )
    op.create_index(op.f("ix_notifications_submission_id"), "notifications", ["submission_id"])
    op.create_index(
        "ix_notifications_state_next_attempt_at", "notifications", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_state_next_attempt_at", table_name="notifications")
    op.drop_index(op.f("ix_notifications_submission_id"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_attachments_municipality_code"), table_name="attachments")
    op.drop_index(op.f("ix_attachments_submission_id"), table_name="attachments")
    op.drop_table("attachments")

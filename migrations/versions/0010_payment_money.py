"""payment money: refunds stored before the provider is asked (requested, failure
reason, the refundable amount seen), disputes through closed won/lost, live/test mode,
and finance's alerts (要確認)

Revision ID: 0010_payment_money
Revises: 0009_attachments_notifications
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_payment_money"
down_revision: str | None = "0009_attachments_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch_op:
        batch_op.add_column(
            sa.Column("livemode", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("dispute_status", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("dispute_amount", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.add_column(sa.Column("refundable_before", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("failure_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE refunds SET updated_at = created_at")
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.alter_column("updated_at", nullable=False)
    op.create_table(
        "payment_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("reference_number", sa.String(length=32), nullable=True),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_alerts")),
        sa.UniqueConstraint("kind", "source", name=op.f("uq_payment_alerts_kind_source")),
    )
    op.create_index(
        op.f("ix_payment_alerts_municipality_code"), "payment_alerts", ["municipality_code"]
    )
    op.create_index(op.f("ix_payment_alerts_payment_id"), "payment_alerts", ["payment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_payment_alerts_payment_id"), table_name="payment_alerts")
    op.drop_index(op.f("ix_payment_alerts_municipality_code"), table_name="payment_alerts")
    op.drop_table("payment_alerts")
    with op.batch_alter_table("refunds") as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("failure_reason")
        batch_op.drop_column("refundable_before")
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_column("dispute_amount")
        batch_op.drop_column("dispute_status")
        batch_op.drop_column("livemode")

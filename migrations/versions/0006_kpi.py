"""kpi: usage and lead-time rollups per day received, and the facts the KPI keeps on
each submission event (fee, identity method at receipt)

Events recorded before this revision have neither fact; `python -m app.kpi rebuild`
fills the rollups from whatever history exists.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USAGE_COUNTERS = (
    "received",
    "with_card",
    "paid_online",
    "paid_offline",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
)


def upgrade() -> None:
    with op.batch_alter_table("submission_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("identity_method", sa.String(length=16), nullable=True))

    op.create_table(
        "kpi_usage_daily",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("procedure_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in USAGE_COUNTERS),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "received_on",
            "procedure_id",
            "channel",
            name=op.f("pk_kpi_usage_daily"),
        ),
    )
    op.create_table(
        "kpi_lead_time_daily",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("procedure_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("lead_time_hours", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("decided", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "received_on",
            "procedure_id",
            "channel",
            "lead_time_hours",
            name=op.f("pk_kpi_lead_time_daily"),
        ),
    )


def downgrade() -> None:
    op.drop_table("kpi_lead_time_daily")
    op.drop_table("kpi_usage_daily")
    with op.batch_alter_table("submission_events", schema=None) as batch_op:
        batch_op.drop_column("identity_method")
        batch_op.drop_column("fee_total")

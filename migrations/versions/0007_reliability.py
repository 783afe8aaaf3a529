"""reliability: rate-limit buckets shared by every worker, and the record of
submissions purged after their retention period

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_limit_buckets",
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "window_start", name=op.f("pk_rate_limit_buckets")),
    )
    op.create_index(
        op.f("ix_rate_limit_buckets_window_start"), "rate_limit_buckets", ["window_start"]
    )
    op.create_table(
        "retention_purges",
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("submission_id", name=op.f("pk_retention_purges")),
    )
    op.create_index(
        op.f("ix_retention_purges_municipality_code"), "retention_purges", ["municipality_code"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_retention_purges_municipality_code"), table_name="retention_purges")
    op.drop_table("retention_purges")
    op.drop_index(op.f("ix_rate_limit_buckets_window_start"), table_name="rate_limit_buckets")
    op.drop_table("rate_limit_buckets")

"""KPI month rows: the daily rollups summed per month, so a 年度 reads a few hundred rows

Filled from `kpi_usage_daily`; from here on the KPI fold adds every delta to both.

Revision ID: 0014_kpi_monthly
Revises: 0013_kpi_deltas
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_kpi_monthly"
down_revision: str | None = "0013_kpi_deltas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As in app.kpi.models at this revision (a migration never imports the app).
LEAD_TIME_BUCKETS = (
    0, 1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720, 1080,
    1440, 2160,
)  # fmt: skip
FIGURES = (
    "received",
    "with_card",
    "paid_online",
    "paid_offline",
    "returned",
    "approved",
    "rejected",
    "withdrawn",
    *(f"lead_time_{edge}h" for edge in LEAD_TIME_BUCKETS),
)


def upgrade() -> None:
    op.create_table(
        "kpi_usage_monthly",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("procedure_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in FIGURES),
        sa.PrimaryKeyConstraint(
            "municipality_code",
            "month",
            "procedure_id",
            "channel",
            name=op.f("pk_kpi_usage_monthly"),
        ),
    )
    figures = ", ".join(FIGURES)
    sums = ", ".join(f"SUM({name})" for name in FIGURES)
    op.execute(
        "INSERT INTO kpi_usage_monthly (municipality_code, month, procedure_id, channel, "
        f"{figures}) SELECT municipality_code, month, procedure_id, channel, {sums} "
        "FROM kpi_usage_daily GROUP BY municipality_code, month, procedure_id, channel"
    )


def downgrade() -> None:
    op.drop_table("kpi_usage_monthly")

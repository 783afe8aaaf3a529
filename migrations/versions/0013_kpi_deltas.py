"""KPI rollups off the write path: append-only deltas, lead times in fixed buckets

The lifecycle listener used to upsert the day's rollup row of the procedure and channel
in every receipt's transaction, so concurrent submits queued on that row; it now appends
a `kpi_usage_deltas` row that a folder moves into `kpi_usage_daily` later. Lead times
move from `kpi_lead_time_daily` (one row per whole hour: nearly one per decision at
scale) into fixed-bucket histogram columns of `kpi_usage_daily` (`lead_time_<edge>h`,
decisions whose lead time is at least that edge and below the next).

Downgrading keeps each decision at its bucket's lower edge; run `python -m app.kpi
rebuild` afterwards for whole hours again. Unfolded deltas are dropped by the downgrade:
fold them first (`python -m app.kpi fold`) or rebuild.

Revision ID: 0013_kpi_deltas
Revises: 0012_citizen_issuing_key
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_kpi_deltas"
down_revision: str | None = "0012_citizen_issuing_key"
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
# As in app.kpi.models at this revision (a migration never imports the app).
LEAD_TIME_BUCKETS = (
    0, 1, 2, 3, 4, 6, 8, 12, 18, 24, 36, 48, 72, 96, 120, 168, 240, 336, 504, 720, 1080,
    1440, 2160,
)  # fmt: skip
CELL = "municipality_code = kpi_usage_daily.municipality_code AND received_on = kpi_usage_daily.received_on AND procedure_id = kpi_usage_daily.procedure_id AND channel = kpi_usage_daily.channel"  # noqa: E501


def _bucket_columns() -> list[sa.Column[int]]:
    return [
        sa.Column(f"lead_time_{edge}h", sa.Integer(), server_default="0", nullable=False)
        for edge in LEAD_TIME_BUCKETS
    ]


def upgrade() -> None:
    with op.batch_alter_table("kpi_usage_daily", schema=None) as batch_op:
        for column in _bucket_columns():
            batch_op.add_column(column)
        for name in USAGE_COUNTERS:
            batch_op.alter_column(name, server_default="0")
    uppers = [*LEAD_TIME_BUCKETS[1:], None]
    for low, high in zip(LEAD_TIME_BUCKETS, uppers, strict=True):
        below = "" if high is None else f" AND lead_time_hours < {high}"
        op.execute(
            f"UPDATE kpi_usage_daily SET lead_time_{low}h = COALESCE(("
            f"SELECT SUM(decided) FROM kpi_lead_time_daily WHERE {CELL}"
            f" AND lead_time_hours >= {low}{below}), 0)"
        )
    op.drop_table("kpi_lead_time_daily")
    op.create_table(
        "kpi_usage_deltas",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True),
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("procedure_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        *(
            sa.Column(name, sa.Integer(), server_default="0", nullable=False)
            for name in USAGE_COUNTERS
        ),
        *_bucket_columns(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kpi_usage_deltas")),
    )
    op.create_index(
        "ix_kpi_usage_deltas_municipality_code_received_on",
        "kpi_usage_deltas",
        ["municipality_code", "received_on"],
    )


def downgrade() -> None:
    op.drop_index("ix_kpi_usage_deltas_municipality_code_received_on", "kpi_usage_deltas")
    op.drop_table("kpi_usage_deltas")
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
    for edge in LEAD_TIME_BUCKETS:
        op.execute(
            "INSERT INTO kpi_lead_time_daily (municipality_code, received_on, procedure_id,"
            f" channel, lead_time_hours, month, decided) SELECT municipality_code, received_on,"
            f" procedure_id, channel, {edge}, month, lead_time_{edge}h FROM kpi_usage_daily"
            f" WHERE lead_time_{edge}h > 0"
        )
    with op.batch_alter_table("kpi_usage_daily", schema=None) as batch_op:
        for name in USAGE_COUNTERS:
            batch_op.alter_column(name, server_default=None)
        for edge in LEAD_TIME_BUCKETS:
            batch_op.drop_column(f"lead_time_{edge}h")

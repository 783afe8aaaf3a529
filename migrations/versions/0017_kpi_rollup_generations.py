"""KPI rollup generations: each fold (and rebuild) counts one for the municipalities
whose folded rows it changed, so a KPI report can be reused until one has

Revision ID: 0017_kpi_rollup_generations
Revises: 0016_staff_token_generation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_kpi_rollup_generations"
down_revision: str | None = "0016_staff_token_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kpi_rollup_generations",
        sa.Column("municipality_code", sa.String(length=6), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", name=op.f("pk_kpi_rollup_generations")),
    )


def downgrade() -> None:
    op.drop_table("kpi_rollup_generations")

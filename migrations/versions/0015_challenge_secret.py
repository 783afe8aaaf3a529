"""a JPKI challenge is bound to the client that asked for it: the SHA-256 of a secret
handed only to that client, required to use the nonce

Challenges live minutes and cannot be bound after the fact: the ones in flight are
deleted (a login in progress asks for a new challenge).

Revision ID: 0015_challenge_secret
Revises: 0014_kpi_monthly
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_challenge_secret"
down_revision: str | None = "0014_kpi_monthly"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM jpki_challenges")
    with op.batch_alter_table("jpki_challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("secret_sha256", sa.String(length=64), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("jpki_challenges", schema=None) as batch_op:
        batch_op.drop_column("secret_sha256")

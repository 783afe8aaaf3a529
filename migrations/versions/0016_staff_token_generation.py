"""Staff token generation: a password change or a disable/re-enable ends earlier tokens

`staff_users.token_generation` counts those events; a staff token carries the count it
was issued at (claim `gen`, 0 when absent) and is refused once they differ.

Revision ID: 0016_staff_token_generation
Revises: 0015_challenge_secret
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_staff_token_generation"
down_revision: str | None = "0015_challenge_secret"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch_op:
        batch_op.drop_column("token_generation")

"""payment vouchers: the konbini voucher (払込番号, deadline, voucher page) a pending
payment carries, for the citizen's status page

Revision ID: 0008_payment_vouchers
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008_payment_vouchers"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("payments", sa.Column("voucher", JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("payments", "voucher")

"""lifecycle facts: each submission event carries the net amount paid, and the
application keeps how the applicant proved who they were at submit (本人確認の方法)

The identity method used to be computed by the KPI at receipt; it now lives on the
application (set at submit) and is copied onto every event. Existing applications get
it from their receipt event, or, where that predates revision 0006, from what the
receipt rule looked at (a signature, a card login, an access token).

Revision ID: 0011_lifecycle_facts
Revises: 0010_payment_money
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_lifecycle_facts"
down_revision: str | None = "0010_payment_money"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("submission_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_amount", sa.Integer(), nullable=True))
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity_method", sa.String(length=16), nullable=True))
    op.execute(
        """
        UPDATE submissions SET identity_method = COALESCE(
            (SELECT e.identity_method FROM submission_events e
              WHERE e.submission_id = submissions.id AND e.identity_method IS NOT NULL
              ORDER BY e.id LIMIT 1),
            CASE
                WHEN channel <> 'online' THEN 'none'
                WHEN EXISTS (SELECT 1 FROM submission_signatures s
                              WHERE s.submission_id = submissions.id) THEN 'jpki_sign'
                WHEN citizen_subject IS NOT NULL THEN 'jpki_auth'
                WHEN access_token_hash IS NOT NULL THEN 'access_token'
                ELSE 'none'
            END)
        WHERE reference_number IS NOT NULL
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("identity_method")
    with op.batch_alter_table("submission_events", schema=None) as batch_op:
        batch_op.drop_column("paid_amount")

"""jpki: login challenges, verified card identities, signed-submission evidence, and
which answers of a submission came from the card

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefilled_from_card", JSON_TYPE, nullable=True))

    op.create_table(
        "jpki_challenges",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_jpki_challenges")),
    )
    with op.batch_alter_table("jpki_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_jpki_challenges_expires_at"), ["expires_at"], unique=False
        )

    op.create_table(
        "citizen_identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("certificate_type", sa.String(length=16), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("serial_number", sa.String(length=48), nullable=False),
        sa.Column("assurance_level", sa.String(length=16), nullable=False),
        sa.Column("basic_facts", JSON_TYPE, nullable=True),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen_identities")),
        sa.UniqueConstraint(
            "issuer", "serial_number", name=op.f("uq_citizen_identities_issuer_serial_number")
        ),
        sa.UniqueConstraint("subject", name=op.f("uq_citizen_identities_subject")),
    )

    op.create_table(
        "submission_signatures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=False),
        sa.Column("document_digest", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("certificate", sa.LargeBinary(), nullable=False),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("serial_number", sa.String(length=48), nullable=False),
        sa.Column("basic_facts", JSON_TYPE, nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_signatures_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_signatures")),
    )
    with op.batch_alter_table("submission_signatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_signatures_submission_id"), ["submission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submission_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_signatures_submission_id"))
    op.drop_table("submission_signatures")
    op.drop_table("citizen_identities")
    with op.batch_alter_table("jpki_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jpki_challenges_expires_at"))
    op.drop_table("jpki_challenges")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("prefilled_from_card")

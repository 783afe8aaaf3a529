"""citizen identities carry the issuing CA's key: a card is issuer DN + issuing key +
serial, since J-LIS's CA generations share a DN and each numbers its own serials

Existing rows keep their subject (the id citizen tokens and applications carry) and get
no key here: the trust anchors are not in the database. The first login of the card
that matches such a row (issuer DN, serial, certificate type, notAfter) records its key
(app.auth.jpki.service.record_identity); a card of another generation with the same
serial then becomes an identity of its own.

Revision ID: 0012_citizen_issuing_key
Revises: 0011_lifecycle_facts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_citizen_issuing_key"
down_revision: str | None = "0011_lifecycle_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuer_key_sha256", sa.String(length=64), nullable=True))
        batch_op.drop_constraint("uq_citizen_identities_issuer_serial_number", type_="unique")
        batch_op.create_unique_constraint(
            "uq_citizen_identities_issuer_serial_number_issuer_key_sha256",
            ["issuer", "serial_number", "issuer_key_sha256"],
        )


def downgrade() -> None:
    shared = op.get_bind().scalar(
        sa.text(
            "SELECT count(*) FROM (SELECT issuer, serial_number FROM citizen_identities "
            "GROUP BY issuer, serial_number HAVING count(*) > 1) AS shared"
        )
    )
    if shared:
        # Merging two people into one identity is what this revision undid; refuse.
        raise RuntimeError(
            f"{shared} card serials belong to cards of two CA generations; "
            "0011 cannot tell them apart, so this downgrade stops here"
        )
    with op.batch_alter_table("citizen_identities", schema=None) as batch_op:
        batch_op.drop_constraint(
            "uq_citizen_identities_issuer_serial_number_issuer_key_sha256", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_citizen_identities_issuer_serial_number", ["issuer", "serial_number"]
        )
        batch_op.drop_column("issuer_key_sha256")

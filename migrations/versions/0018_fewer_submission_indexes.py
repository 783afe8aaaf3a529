"""Fewer index entries per submit: submissions loses an index and keeps a smaller one

Every submit writes its 受付番号 (reference_number, indexed) in a statement after the
INSERT, so that UPDATE is never HOT and each index of `submissions` gets a second entry
per submit. Two of them need not be there:

- `ix_submissions_municipality_code` is dropped: `municipality_code` leads the unique
  (municipality_code, reference_number) index, which holds drafts too (a NULL number is
  indexed). What filters, joins or orders `submissions` by municipality_code (grep of
  app/): the staff review list (`reviewable_page`, its count and pages;
  `reviewable_row`), the retention scan (`due_for_retention`, ordered by it) and the
  foreign-key check when a municipality row is deleted. EXPLAIN ANALYZE on PostgreSQL 15
  with 200,000 submissions over 20 municipalities (5% drafts, 20% with a citizen), before
  and after: the review list's count and pages (each sort, status / procedure + month /
  department filters) go from a bitmap scan of this index to one of the unique index,
  where `reference_number IS NOT NULL` becomes an index condition instead of a filter
  (the index part reads 86 pages instead of 9, the heap 27 fewer: 50 more of ~5,300;
  times the same within noise); a lookup by reference number and `reviewable_row` keep their plans;
  the foreign-key check scans the unique index (15,342 pages instead of 15,264); the
  retention scan never used an index (a sequential scan and a sort, before and after).
- `ix_submissions_citizen_subject` becomes partial (citizen_subject IS NOT NULL):
  anonymous applicants, most rows, have no subject and never get an entry. My Page's
  `citizen_subject = :subject` (`list_for_citizen`, the only lookup) is matched against
  it by PostgreSQL, in custom and generic (prepared) plans alike, and by SQLite. With the
  rows above it shrinks from 2.0 to 0.7 MB.

The other tables every create+submit writes (submission_events, idempotency_records,
notifications, kpi_usage_deltas) have no index whose columns lead another index of the
same table, so they keep theirs.

Revision ID: 0018_fewer_submission_indexes
Revises: 0017_kpi_rollup_generations
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_fewer_submission_indexes"
down_revision: str | None = "0017_kpi_rollup_generations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WITH_CITIZEN = sa.text("citizen_subject IS NOT NULL")


def upgrade() -> None:
    op.drop_index(op.f("ix_submissions_municipality_code"), table_name="submissions")
    op.drop_index(op.f("ix_submissions_citizen_subject"), table_name="submissions")
    op.create_index(
        op.f("ix_submissions_citizen_subject"),
        "submissions",
        ["citizen_subject"],
        postgresql_where=WITH_CITIZEN,
        sqlite_where=WITH_CITIZEN,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_submissions_citizen_subject"), table_name="submissions")
    op.create_index(op.f("ix_submissions_citizen_subject"), "submissions", ["citizen_subject"])
    op.create_index(op.f("ix_submissions_municipality_code"), "submissions", ["municipality_code"])

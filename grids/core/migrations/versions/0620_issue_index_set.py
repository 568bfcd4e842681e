"""The indexes on ``issues`` that no query reads, dropped (issue 26).

Each index on ``issues`` is rebuilt by a county's first back-fill (10⁶ rows: one sort
and, on SQLite, one scan of the table per index) and kept row by row by every other
write. Audited against the queries that read them (docs/performance.md, "The index
set"), three serve none:

* ``ix_issues_duplicate_of_id``, ``ix_issues_recurrence_of_id``: nothing looks issues
  up by the issue they duplicate or recur after — the links are read from the child's
  row and followed by the parent's primary key. An index there would serve only the
  ``ON DELETE SET NULL`` of the self-references when an issue is deleted or its id
  changed, which nothing does (issues are never deleted).
* ``ix_issues_lonlat``, on PostgreSQL only: its bounding boxes
  (:func:`~civgrid.grids.issues.queries.in_box`) are answered by the GiST on ``geom``
  (``ix_issues_geom``), and the intake's look-ups by ``ix_issues_category_lonlat``.
  SQLite has no spatial index: there it stays.

The downgrade makes them again.

Revision ID: 0620
Revises: 0610
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0620"
down_revision = "0610"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_issues_duplicate_of_id", table_name="issues")
    op.drop_index("ix_issues_recurrence_of_id", table_name="issues")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_issues_lonlat", table_name="issues")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_issues_lonlat", "issues", ["lon", "lat"])
    op.create_index("ix_issues_recurrence_of_id", "issues", ["recurrence_of_id"])
    op.create_index("ix_issues_duplicate_of_id", "issues", ["duplicate_of_id"])

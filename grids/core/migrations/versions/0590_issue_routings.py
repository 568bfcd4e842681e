"""Routing answers stored once (``issue_routings``), issues pointing at them.

Back-fill resolves each place × category × assignment epoch once; its answer (about
5 kB of JSON, the same for every issue of the group) is now written once into
``issue_routings`` (keyed by the SHA-256 of its canonical JSON) and each issue points
at it through ``issues.routing_id`` instead of carrying a copy (issue 26). Issues
keep their ``routing`` column: live intake and re-routing still write an issue's own
answer there, and :attr:`civgrid.grids.issues.models.Issue.routing` reads the own
copy first, then the shared one. Existing rows are untouched (``routing_id`` NULL), so
every existing issue reads back exactly what it read before.

Revision ID: 0590
Revises: 0580
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0590"
down_revision = "0580"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue_routings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issue_routings")),
        sa.UniqueConstraint("hash", name=op.f("uq_issue_routings_hash")),
    )
    # SQLite adds the column with its REFERENCES clause in place (no table copy: the
    # issues table may hold millions of rows); PostgreSQL adds the constraint after. No ON DELETE
    # action (SQLite's reflection cannot read one declared in a column): a shared answer
    # an issue points at cannot be deleted.
    fk = op.f("fk_issues_routing_id_issue_routings")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        columns = {c["name"] for c in sa.inspect(bind).get_columns("issues")}
        if "routing_id" in columns:  # left behind by a downgrade (see there), all NULL
            return
        op.execute(
            f"ALTER TABLE issues ADD COLUMN routing_id INTEGER CONSTRAINT {fk} "
            "REFERENCES issue_routings (id)"
        )
    else:
        op.add_column("issues", sa.Column("routing_id", sa.Integer(), nullable=True))
        op.create_foreign_key(fk, "issues", "issue_routings", ["routing_id"], ["id"])


def downgrade() -> None:
    # every issue gets its answer back in its own column before the shared ones go
    op.execute(
        "UPDATE issues SET routing = (SELECT answer FROM issue_routings r "
        "WHERE r.id = issues.routing_id) WHERE routing IS NULL AND routing_id IS NOT NULL"
    )
    op.execute("UPDATE issues SET routing_id = NULL")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot drop a column named in a foreign key, and a copy of ``issues``
        # (batch mode) fails while the tables referencing it keep foreign keys on: the
        # column stays behind, all NULL, and nothing reads it at 0580.
        op.drop_table("issue_routings")
        return
    op.drop_constraint(op.f("fk_issues_routing_id_issue_routings"), "issues", type_="foreignkey")
    op.drop_column("issues", "routing_id")
    op.drop_table("issue_routings")

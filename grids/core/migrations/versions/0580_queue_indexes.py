"""Indexes for a county at size: open issues by deadline, a unit on an issue, closures.

``ix_issues_open_deadline`` (partial: the open states) finds a queue's open issues
without reading the closed ones; ``ix_issue_parties_issue_unit`` (issue, unit, role)
answers "is this unit on the issue" from the index alone and replaces the index on
``issue_id`` it starts with; ``ix_issues_closed_at`` finds the issues closed in a month
(bulletins, campaign sections) without reading every issue (issue 26, ``bench/scale.py``).

Revision ID: 0580
Revises: 0570
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0580"
down_revision = "0570"
branch_labels = None
depends_on = None

OPEN = "state IN ('triage', 'assigned', 'rectifying', 'submitted', 'returned')"


def upgrade() -> None:
    op.create_index(
        "ix_issues_open_deadline",
        "issues",
        ["deadline", "id"],
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )
    op.create_index("ix_issue_parties_issue_unit", "issue_parties", ["issue_id", "unit_id", "role"])
    op.drop_index("ix_issue_parties_issue_id", table_name="issue_parties")
    op.create_index("ix_issues_closed_at", "issues", ["closed_at"])


def downgrade() -> None:
    op.drop_index("ix_issues_closed_at", table_name="issues")
    op.create_index("ix_issue_parties_issue_id", "issue_parties", ["issue_id"])
    op.drop_index("ix_issue_parties_issue_unit", table_name="issue_parties")
    op.drop_index("ix_issues_open_deadline", table_name="issues")

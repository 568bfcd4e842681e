"""Accountability cases: citation, manual cases (origin, evidence), rectification window.

Revision ID: 0460_scoring_cases
Revises: 0450_campaigns
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0460_scoring_cases"
down_revision = "0450_campaigns"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accountability_cases") as batch:
        batch.add_column(sa.Column("citation", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("origin", sa.String(16), nullable=False, server_default="trigger")
        )
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("referred_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_check_constraint(
            "ck_accountability_cases_origin_known", "origin IN ('trigger', 'manual')"
        )


def downgrade() -> None:
    with op.batch_alter_table("accountability_cases") as batch:
        batch.drop_constraint("ck_accountability_cases_origin_known", type_="check")
        batch.drop_column("referred_at")
        batch.drop_column("due_at")
        batch.drop_column("evidence")
        batch.drop_column("origin")
        batch.drop_column("citation")

"""Assignments: the responsible person recorded by title (物业经理, 网格长, 路长 …).

Revision ID: 0430_assignment_person
Revises: 0420_owner_rules
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0430_assignment_person"
down_revision = "0420_owner_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("assignments", sa.Column("person_title", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assignments") as batch:
        batch.drop_column("person_title")

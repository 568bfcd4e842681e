"""Transfer requests (转办申请): a unit asks the command center to give an issue to another unit.

Revision ID: 0440_transfer_requests
Revises: 0430_assignment_person
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0440_transfer_requests"
down_revision = "0430_assignment_person"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(column: str, target: str) -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column],
        [f"{target}.id"],
        name=f"fk_transfer_requests_{column}_{target}",
        ondelete="RESTRICT",
    )


def upgrade() -> None:
    op.create_table(
        "transfer_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("requesting_unit_id", sa.Integer(), nullable=False),
        sa.Column("requesting_role", sa.String(32), nullable=False),
        sa.Column("proposed_unit_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _ts("requested_at", False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        _ts("decided_at"),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("new_owner_unit_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_transfer_requests"),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'refused', 'lapsed')",
            name="ck_transfer_requests_state_known",
        ),
        _fk("issue_id", "issues"),
        _fk("requesting_unit_id", "units"),
        _fk("proposed_unit_id", "units"),
        _fk("new_owner_unit_id", "units"),
    )
    op.create_index("ix_transfer_requests_issue_id", "transfer_requests", ["issue_id"])
    op.create_index(
        "ix_transfer_requests_unit_state", "transfer_requests", ["requesting_unit_id", "state"]
    )
    op.create_index(
        "uq_transfer_requests_one_pending",
        "transfer_requests",
        ["issue_id", "requesting_unit_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_table("transfer_requests")

"""Campaigns (专项行动): issues reported inside an active campaign are tagged with it.

Revision ID: 0450_campaigns
Revises: 0440_transfer_requests
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0450_campaigns"
down_revision = "0440_transfer_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "issue_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("campaign_key", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_issue_campaigns"),
        sa.UniqueConstraint("issue_id", "campaign_key", name="uq_issue_campaigns_issue_campaign"),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name="fk_issue_campaigns_issue_id_issues",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_issue_campaigns_campaign", "issue_campaigns", ["campaign_key"])


def downgrade() -> None:
    op.drop_index("ix_issue_campaigns_campaign", table_name="issue_campaigns")
    op.drop_table("issue_campaigns")

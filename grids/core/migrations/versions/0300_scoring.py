"""Scoring: frozen bulletins, accountability cases and their history.

Revision ID: 0300_scoring
Revises: 0200_patrol
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_scoring"
down_revision = "0200_patrol"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "score_bulletins",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("rules_effective_from", sa.String(10), nullable=False),
        _ts("issued_at", False),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.CheckConstraint(
            "kind IN ('monthly', 'quarterly')", name="ck_score_bulletins_kind_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_score_bulletins"),
        sa.UniqueConstraint("kind", "period", name="uq_score_bulletins_kind_period"),
        sa.UniqueConstraint("number", name="uq_score_bulletins_number"),
    )
    op.create_table(
        "accountability_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile", sa.String(32), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_label", sa.String(500), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("unit_code", sa.String(32), nullable=False),
        sa.Column("unit_name", sa.String(200), nullable=False),
        sa.Column("leader_key", sa.String(32), nullable=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("issue_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("opened_at", False),
        _ts("closed_at"),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name="ck_accountability_cases_status_known"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accountability_cases"),
        sa.UniqueConstraint(
            "profile",
            "rule_id",
            "level",
            "unit_code",
            "period",
            name="uq_accountability_cases_trigger",
        ),
    )
    op.create_index("ix_accountability_cases_status", "accountability_cases", ["status"])
    op.create_index("ix_accountability_cases_unit", "accountability_cases", ["level", "unit_code"])
    op.create_table(
        "accountability_case_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        _ts("at", False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor_who", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["accountability_cases.id"],
            name="fk_accountability_case_events_case_id_accountability_cases",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_accountability_case_events"),
    )
    op.create_index(
        "ix_accountability_case_events_case_id", "accountability_case_events", ["case_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_accountability_case_events_case_id", "accountability_case_events")
    op.drop_table("accountability_case_events")
    op.drop_index("ix_accountability_cases_unit", "accountability_cases")
    op.drop_index("ix_accountability_cases_status", "accountability_cases")
    op.drop_table("accountability_cases")
    op.drop_table("score_bulletins")

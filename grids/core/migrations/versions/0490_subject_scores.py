"""Scoring subjects: 联建 work of civilized units, adjustments of a period's result,
half-yearly and annual bulletins.

Revision ID: 0490_subject_scores
Revises: 0470_rate_buckets
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0490_subject_scores"
down_revision = "0470_rate_buckets"
branch_labels = None
depends_on = None

_KINDS_OLD = "kind IN ('monthly', 'quarterly')"
_KINDS_NEW = "kind IN ('monthly', 'quarterly', 'half_yearly', 'annual')"
_ADJ = (
    "kind IN ('provincial_feedback', 'city_feedback', 'leader_instruction', "
    "'command_notice', 'media', 'complaint')"
)


def upgrade() -> None:
    op.create_table(
        "score_pairing_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_key", sa.String(32), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_pairing_work"),
        sa.UniqueConstraint("unit_key", "period", name="uq_score_pairing_work_unit_period"),
    )
    op.create_index("ix_score_pairing_work_period", "score_pairing_work", ["period"])
    op.create_table(
        "score_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_score_adjustments"),
        sa.CheckConstraint(_ADJ, name="ck_score_adjustments_kind_known"),
    )
    op.create_index("ix_score_adjustments_period", "score_adjustments", ["period", "level"])
    with op.batch_alter_table("score_bulletins") as batch:
        batch.drop_constraint("ck_score_bulletins_kind_known", type_="check")
        batch.create_check_constraint("ck_score_bulletins_kind_known", _KINDS_NEW)


def downgrade() -> None:
    op.execute("DELETE FROM score_bulletins WHERE kind IN ('half_yearly', 'annual')")
    with op.batch_alter_table("score_bulletins") as batch:
        batch.drop_constraint("ck_score_bulletins_kind_known", type_="check")
        batch.create_check_constraint("ck_score_bulletins_kind_known", _KINDS_OLD)
    op.drop_index("ix_score_adjustments_period", table_name="score_adjustments")
    op.drop_table("score_adjustments")
    op.drop_index("ix_score_pairing_work_period", table_name="score_pairing_work")
    op.drop_table("score_pairing_work")

"""The field app: idempotency keys of actions, photos of patrol visits.

Revision ID: 0520_field_app
Revises: 0470_rate_buckets
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0520_field_app"
down_revision = "0490_subject_scores"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idempotency_records",
        sa.Column("key", sa.String(320), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_idempotency_records"),
    )
    op.create_table(
        "patrol_visit_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("mime", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("taken_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["patrol_visits.id"],
            name="fk_patrol_visit_photos_visit_id_patrol_visits",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_patrol_visit_photos"),
    )
    op.create_index(
        "ix_patrol_visit_photos_visit_id", "patrol_visit_photos", ["visit_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_patrol_visit_photos_visit_id", table_name="patrol_visit_photos")
    op.drop_table("patrol_visit_photos")
    op.drop_table("idempotency_records")

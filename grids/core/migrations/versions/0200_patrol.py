"""Patrol: teams, plans, visits, leader visits, tracks, coverage.

Revision ID: 0200_patrol
Revises: 0100_issues
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_patrol"
down_revision = "0100_issues"
branch_labels = None
depends_on = None


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _pk(table: str) -> sa.Constraint:
    return sa.PrimaryKeyConstraint("id", name=f"pk_{table}")


def _fk(table: str, column: str, target: str) -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "patrol_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("leader_key", sa.String(32), nullable=True),
        sa.Column("members", sa.JSON(), nullable=True),
        sa.Column("area_codes", sa.JSON(), nullable=False),
        sa.Column("unit_keys", sa.JSON(), nullable=True),
        sa.Column("base_lon", sa.Float(), nullable=False),
        sa.Column("base_lat", sa.Float(), nullable=False),
        sa.Column("capacity_per_day", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        _pk("patrol_teams"),
        sa.UniqueConstraint("key", name="uq_patrol_teams_key"),
    )
    op.create_table(
        "patrol_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        _ts("created_at", nullable=False),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        _pk("patrol_plans"),
        sa.UniqueConstraint("month", name="uq_patrol_plans_month"),
    )
    op.create_table(
        "patrol_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("team_key", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("target_layer", sa.String(32), nullable=False),
        sa.Column("target_code", sa.String(32), nullable=False),
        sa.Column("community_code", sa.String(32), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("leader_key", sa.String(32), nullable=True),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        _pk("patrol_visits"),
        _fk("patrol_visits", "plan_id", "patrol_plans"),
    )
    op.create_index(
        "ix_patrol_visits_plan_team_day", "patrol_visits", ["plan_id", "team_key", "day"]
    )
    op.create_index("ix_patrol_visits_target", "patrol_visits", ["target_layer", "target_code"])
    op.create_table(
        "leader_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leader_key", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("area_code", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("findings", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        _ts("created_at", nullable=False),
        _pk("leader_visits"),
    )
    op.create_index("ix_leader_visits_leader_day", "leader_visits", ["leader_key", "day"])
    op.create_table(
        "patrol_tracks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_key", sa.String(32), nullable=False),
        sa.Column("filename", sa.String(300), nullable=True),
        sa.Column("input_crs", sa.String(16), nullable=False),
        _ts("uploaded_at", nullable=False),
        _ts("started_at"),
        _ts("ended_at"),
        sa.Column("month", sa.String(7), nullable=True),
        sa.Column("coordinates", sa.JSON(), nullable=False),
        sa.Column("cleaning", sa.JSON(), nullable=False),
        sa.Column("coverage", sa.JSON(), nullable=False),
        sa.Column("uploaded_by", sa.String(200), nullable=True),
        _pk("patrol_tracks"),
    )
    op.create_index("ix_patrol_tracks_team_started", "patrol_tracks", ["team_key", "started_at"])
    op.create_table(
        "patrol_visit_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        _pk("patrol_visit_issues"),
        _fk("patrol_visit_issues", "visit_id", "patrol_visits"),
        _fk("patrol_visit_issues", "issue_id", "issues"),
        sa.UniqueConstraint("visit_id", "issue_id", name="uq_patrol_visit_issues"),
    )


def downgrade() -> None:
    op.drop_table("patrol_visit_issues")
    op.drop_index("ix_patrol_tracks_team_started", table_name="patrol_tracks")
    op.drop_table("patrol_tracks")
    op.drop_index("ix_leader_visits_leader_day", table_name="leader_visits")
    op.drop_table("leader_visits")
    op.drop_index("ix_patrol_visits_target", table_name="patrol_visits")
    op.drop_index("ix_patrol_visits_plan_team_day", table_name="patrol_visits")
    op.drop_table("patrol_visits")
    op.drop_table("patrol_plans")
    op.drop_table("patrol_teams")

"""Patrol teams: an own supervision area drawn as a polygon (GeoJSON, WGS84).

Revision ID: 0410_patrol_team_area
Revises: 0400_accounts
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0410_patrol_team_area"
down_revision = "0400_accounts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrol_teams", sa.Column("area_geojson", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("patrol_teams") as batch:
        batch.drop_column("area_geojson")

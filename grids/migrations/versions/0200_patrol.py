"""Patrol: teams, plans, visits, leader visits, tracks, coverage.

Revision ID: 0200_patrol
Revises: 0100_issues
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0200_patrol"
down_revision = "0100_issues"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

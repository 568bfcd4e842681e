"""Scoring: rule profiles, scores, bulletins, accountability cases.

Revision ID: 0300_scoring
Revises: 0200_patrol
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0300_scoring"
down_revision = "0200_patrol"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

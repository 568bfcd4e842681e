"""Accounts: users, tokens, login attempts, audit log.

Revision ID: 0400_accounts
Revises: 0300_scoring
Create Date: 2026-11-23
"""

from __future__ import annotations

revision = "0400_accounts"
down_revision = "0300_scoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

"""Owner rules: which of the parties routing finds owns an issue (precedence lists).

Revision ID: 0420_owner_rules
Revises: 0410_patrol_team_area
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0420_owner_rules"
down_revision = "0410_patrol_team_area"
branch_labels = None
depends_on = None

LAYERS = (
    "county",
    "township",
    "community",
    "unit_grid",
    "supervision_area",
    "road_section",
    "key_site",
)
ROLES = ("contact", "contract", "road_chief", "pairing", "responsible", "lead", "supervision")
CONDITIONS = ("at_place", "on_site")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def upgrade() -> None:
    op.create_table(
        "owner_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("layer", _enum(LAYERS, "owner_layer"), nullable=False),
        sa.Column("role", _enum(ROLES, "owner_role"), nullable=False),
        sa.Column("condition", _enum(CONDITIONS, "owner_condition"), nullable=False),
        sa.Column("on_site_m", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_owner_rules"),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name="fk_owner_rules_category_code_categories",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("category_code", "rank", name="uq_owner_rules_step"),
    )


def downgrade() -> None:
    op.drop_table("owner_rules")

"""Assessment points (测评点位): the register and point inspections.

Widens the layer CHECK constraints (``assessment_point`` for assignments and
owner/routing rules on a point) and creates ``assessment_points``,
``point_inspections`` and ``point_inspection_items``.

Revision ID: 0540
Revises: 0535_routing_stamp
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civgrid.grids.core.types import GeometryType, UTCDateTime

revision = "0540"
down_revision = "0535_routing_stamp"
branch_labels = None
depends_on = None

OLD_LAYERS = (
    "county",
    "township",
    "community",
    "unit_grid",
    "supervision_area",
    "road_section",
    "key_site",
    "central_city",
    "shop",
)
NEW_LAYERS = (*OLD_LAYERS, "assessment_point")
#: (table, column, constraint name without the ``ck_<table>_`` prefix)
CHECKS = (
    ("assignments", "object_layer", "object_layer"),
    ("routing_rules", "layer", "rule_layer"),
    ("owner_rules", "layer", "owner_layer"),
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _swap(new: bool) -> None:
    values = NEW_LAYERS if new else OLD_LAYERS
    for table, column, name in CHECKS:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_{name}"), _in(column, values))


def upgrade() -> None:
    _swap(True)
    op.create_table(
        "assessment_points",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("point_type", sa.String(32), nullable=False),
        sa.Column("geom", GeometryType("GEOMETRY"), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("township_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(32), nullable=True),
        sa.Column("responsible_unit_id", sa.Integer(), nullable=False),
        sa.Column("point_chief", sa.String(100), nullable=True),
        sa.Column("must_check", sa.Boolean(), nullable=False),
        sa.Column("key_site_code", sa.String(32), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_assessment_points"),
        sa.UniqueConstraint("code", name="uq_assessment_points_code"),
        sa.ForeignKeyConstraint(
            ["responsible_unit_id"],
            ["units.id"],
            name="fk_assessment_points_responsible_unit_id_units",
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_assessment_points_bbox", "assessment_points", ["min_lon", "min_lat"])
    op.create_index("ix_assessment_points_type", "assessment_points", ["point_type"])
    op.create_index("ix_assessment_points_community_code", "assessment_points", ["community_code"])
    op.create_index(
        "ix_assessment_points_responsible_unit_id", "assessment_points", ["responsible_unit_id"]
    )
    op.create_table(
        "point_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_id", sa.Integer(), nullable=False),
        sa.Column("standard_from", sa.Date(), nullable=False),
        sa.Column("point_type", sa.String(32), nullable=False),
        sa.Column("inspector", sa.String(100), nullable=False),
        sa.Column("inspected_at", UTCDateTime(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("deductions", sa.Float(), nullable=False),
        sa.Column("idempotency_key", sa.String(320), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_point_inspections"),
        sa.UniqueConstraint("idempotency_key", name="uq_point_inspections_idempotency_key"),
        sa.ForeignKeyConstraint(
            ["point_id"],
            ["assessment_points.id"],
            name="fk_point_inspections_point_id_assessment_points",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_point_inspections_point_at", "point_inspections", ["point_id", "inspected_at"]
    )
    op.create_table(
        "point_inspection_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("item_code", sa.String(32), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_point_inspection_items"),
        sa.UniqueConstraint("inspection_id", "item_code", name="uq_point_inspection_items_item"),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["point_inspections.id"],
            name="fk_point_inspection_items_inspection_id_point_inspections",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issue_id"],
            ["issues.id"],
            name="fk_point_inspection_items_issue_id_issues",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_point_inspection_items_issue_id", "point_inspection_items", ["issue_id"])


def downgrade() -> None:
    op.drop_index("ix_point_inspection_items_issue_id", table_name="point_inspection_items")
    op.drop_table("point_inspection_items")
    op.drop_index("ix_point_inspections_point_at", table_name="point_inspections")
    op.drop_table("point_inspections")
    for ix in ("responsible_unit_id", "community_code", "type", "bbox"):
        op.drop_index(f"ix_assessment_points_{ix}", table_name="assessment_points")
    op.drop_table("assessment_points")
    _swap(False)

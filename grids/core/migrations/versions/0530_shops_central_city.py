"""Central city (中心城区) as an area type and layer; the shop register (门前五包).

Widens the area-type and layer CHECK constraints (``central_city``; ``shop``
for assignments and owner/routing rules on a shop's frontage) and creates
``shops``.

Revision ID: 0530
Revises: 0520_field_app
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civgrid.grids.core.types import GeometryType

revision = "0530"
down_revision = "0520_field_app"
branch_labels = None
depends_on = None

OLD_AREA_TYPES = (
    "county",
    "township",
    "street",
    "community",
    "village",
    "unit_grid",
    "supervision_area",
)
NEW_AREA_TYPES = (*OLD_AREA_TYPES, "central_city")
OLD_LAYERS = (
    "county",
    "township",
    "community",
    "unit_grid",
    "supervision_area",
    "road_section",
    "key_site",
)
NEW_LAYERS = (*OLD_LAYERS, "central_city", "shop")
#: (table, column, constraint name without the ``ck_<table>_`` prefix, old, new)
CHECKS = (
    ("areas", "type", "area_type", OLD_AREA_TYPES, NEW_AREA_TYPES),
    ("assignments", "object_layer", "object_layer", OLD_LAYERS, NEW_LAYERS),
    ("routing_rules", "layer", "rule_layer", OLD_LAYERS, NEW_LAYERS),
    ("owner_rules", "layer", "owner_layer", OLD_LAYERS, NEW_LAYERS),
)
#: Geometry columns, so SQLite's table copy keeps their type.
GEOMS = {"areas": sa.Column("geom", GeometryType("MULTIPOLYGON"), nullable=False)}


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _swap(new: bool) -> None:
    for table, column, name, old_values, new_values in CHECKS:
        values = new_values if new else old_values
        reflect = [GEOMS[table]] if table in GEOMS else []
        with op.batch_alter_table(table, reflect_args=reflect) as batch:
            batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
            batch.create_check_constraint(op.f(f"ck_{table}_{name}"), _in(column, values))


def upgrade() -> None:
    _swap(True)
    op.create_table(
        "shops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("street", sa.String(100), nullable=True),
        sa.Column("address", sa.String(300), nullable=True),
        sa.Column("responsibility_letter", sa.Date(), nullable=True),
        sa.Column("frontage_duties", sa.JSON(), nullable=False),
        sa.Column("enforcement_grid_unit_id", sa.Integer(), nullable=False),
        sa.Column("frontage", GeometryType("GEOMETRY"), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_shops"),
        sa.UniqueConstraint("code", name="uq_shops_code"),
        sa.ForeignKeyConstraint(
            ["enforcement_grid_unit_id"],
            ["units.id"],
            name="fk_shops_enforcement_grid_unit_id_units",
            ondelete="RESTRICT",
        ),
    )
    op.create_index("ix_shops_bbox", "shops", ["min_lon", "min_lat"])
    op.create_index("ix_shops_street", "shops", ["street"])


def downgrade() -> None:
    op.drop_index("ix_shops_street", table_name="shops")
    op.drop_index("ix_shops_bbox", table_name="shops")
    op.drop_table("shops")
    _swap(False)

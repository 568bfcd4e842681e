"""Initial schema: generations, areas, road sections, key sites, units, leaders,
categories, assignments, routing rules.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civgrid.grids.core.types import GeometryType

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

AREA_TYPES = (
    "county",
    "township",
    "street",
    "community",
    "village",
    "unit_grid",
    "supervision_area",
)
LAYERS = (
    "county",
    "township",
    "community",
    "unit_grid",
    "supervision_area",
    "road_section",
    "key_site",
)
UNIT_KINDS = (
    "department",
    "street_office",
    "community_committee",
    "civilized_unit",
    "property_company",
    "supervision_team",
    "command_group",
)
ROLES = ("contact", "contract", "road_chief", "pairing", "responsible", "lead", "supervision")
SUBJECT_KINDS = ("unit", "leader")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _versioned(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("generation_low_id", sa.Integer(), nullable=False),
        sa.Column("generation_high_id", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["generation_low_id"],
            ["generations.id"],
            name=f"fk_{table}_generation_low_id_generations",
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["generation_high_id"],
            ["generations.id"],
            name=f"fk_{table}_generation_high_id_generations",
            ondelete="RESTRICT",
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    postgis = bind.dialect.name == "postgresql"
    if postgis:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    op.create_table(
        "generations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("activated", sa.DateTime(timezone=True), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_generations"),
    )

    op.create_table(
        "areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", _enum(AREA_TYPES, "area_type"), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_code", sa.String(32), nullable=True),
        sa.Column("geom", GeometryType("MULTIPOLYGON"), nullable=False),
        *_versioned("areas"),
        sa.PrimaryKeyConstraint("id", name="pk_areas"),
        sa.UniqueConstraint("type", "code", "generation_low_id", name="uq_areas_type_code_gen"),
    )
    op.create_index("ix_areas_type_code", "areas", ["type", "code"])
    op.create_index("ix_areas_generations", "areas", ["generation_low_id", "generation_high_id"])

    op.create_table(
        "road_sections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("extent", sa.String(500), nullable=True),
        sa.Column("geom", GeometryType("LINESTRING"), nullable=False),
        *_versioned("road_sections"),
        sa.PrimaryKeyConstraint("id", name="pk_road_sections"),
        sa.UniqueConstraint("code", "generation_low_id", name="uq_road_sections_code_gen"),
    )
    op.create_index("ix_road_sections_code", "road_sections", ["code"])
    op.create_index(
        "ix_road_sections_generations", "road_sections", ["generation_low_id", "generation_high_id"]
    )

    op.create_table(
        "key_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("zone_radius_m", sa.Float(), nullable=False),
        sa.Column("geom", GeometryType("GEOMETRY"), nullable=False),
        *_versioned("key_sites"),
        sa.PrimaryKeyConstraint("id", name="pk_key_sites"),
        sa.UniqueConstraint("code", "generation_low_id", name="uq_key_sites_code_gen"),
        sa.CheckConstraint("zone_radius_m >= 0", name="zone_radius_nonnegative"),
    )
    op.create_index("ix_key_sites_code", "key_sites", ["code"])
    op.create_index(
        "ix_key_sites_generations", "key_sites", ["generation_low_id", "generation_high_id"]
    )

    if postgis:
        for table in ("areas", "road_sections", "key_sites"):
            op.create_index(f"ix_{table}_geom", table, ["geom"], postgresql_using="gist")

    op.create_table(
        "units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("kind", _enum(UNIT_KINDS, "unit_kind"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("area_code", sa.String(32), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_units"),
        sa.UniqueConstraint("key", name="uq_units_key"),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["units.id"], name="fk_units_parent_id_units", ondelete="SET NULL"
        ),
    )
    op.create_index("ix_units_name", "units", ["name"])

    op.create_table(
        "leaders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("rank", sa.String(64), nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_leaders"),
        sa.UniqueConstraint("key", name="uq_leaders_key"),
    )

    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("deadline_hours", sa.Integer(), nullable=True),
        sa.Column("assessment_item", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_categories"),
        sa.UniqueConstraint("code", name="uq_categories_code"),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["categories.id"],
            name="fk_categories_parent_id_categories",
            ondelete="CASCADE",
        ),
    )

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", _enum(ROLES, "assignment_role"), nullable=False),
        sa.Column("subject_kind", _enum(SUBJECT_KINDS, "subject_kind"), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("object_layer", _enum(LAYERS, "object_layer"), nullable=False),
        sa.Column("object_code", sa.String(32), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("source", sa.String(500), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_assignments"),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["units.id"], name="fk_assignments_unit_id_units", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["leader_id"],
            ["leaders.id"],
            name="fk_assignments_leader_id_leaders",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name="fk_assignments_category_code_categories",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint(
            "(subject_kind = 'unit' AND unit_id IS NOT NULL AND leader_id IS NULL) OR "
            "(subject_kind = 'leader' AND leader_id IS NOT NULL AND unit_id IS NULL)",
            name="one_subject",
        ),
        sa.CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
    )
    op.create_index("ix_assignments_object", "assignments", ["object_layer", "object_code"])
    op.create_index("ix_assignments_unit_id", "assignments", ["unit_id"])
    op.create_index("ix_assignments_leader_id", "assignments", ["leader_id"])

    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(64), nullable=True),
        sa.Column("layer", _enum(LAYERS, "rule_layer"), nullable=False),
        sa.Column("role", _enum(ROLES, "rule_role"), nullable=False),
        sa.Column("subject_kind", _enum(SUBJECT_KINDS, "rule_subject_kind"), nullable=False),
        sa.Column("unit_kind", _enum(UNIT_KINDS, "rule_unit_kind"), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
        sa.ForeignKeyConstraint(
            ["category_code"],
            ["categories.code"],
            name="fk_routing_rules_category_code_categories",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "category_code",
            "layer",
            "role",
            "subject_kind",
            "unit_kind",
            name="uq_routing_rules_key",
        ),
    )


def downgrade() -> None:
    for table in (
        "routing_rules",
        "assignments",
        "categories",
        "leaders",
        "units",
        "key_sites",
        "road_sections",
        "areas",
        "generations",
    ):
        op.drop_table(table)

"""Issues: issues, parties, places, append-only history, photos, 督办 notices, extensions.

Revision ID: 0100_issues
Revises: 0001_initial
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from civgrid.grids.core.types import GeometryType

revision = "0100_issues"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

STATES = (
    "triage",
    "assigned",
    "rectifying",
    "submitted",
    "closed",
    "returned",
    "rejected",
    "merged",
)


def _ts(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str, ondelete: str, ref: str = "id") -> sa.Constraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.{ref}"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    postgis = op.get_bind().dialect.name == "postgresql"

    op.create_table(
        "issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request_hash", sa.String(64), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                *STATES, name="issue_state", native_enum=False, create_constraint=True, length=16
            ),
            nullable=False,
        ),
        sa.Column("category_code", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("reporter_who", sa.String(200), nullable=True),
        sa.Column("reporter_role", sa.String(32), nullable=False),
        sa.Column("reporter_unit_key", sa.String(32), nullable=True),
        sa.Column("reporter_name", sa.String(100), nullable=True),
        sa.Column("reporter_contact", sa.String(200), nullable=True),
        sa.Column("anonymous", sa.Boolean(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("geom", GeometryType("POINT"), nullable=True),
        sa.Column("input_crs", sa.String(16), nullable=True),
        sa.Column("input_lon", sa.Float(), nullable=True),
        sa.Column("input_lat", sa.Float(), nullable=True),
        sa.Column("location_source", sa.String(16), nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=True),
        sa.Column("county_code", sa.String(32), nullable=True),
        sa.Column("township_code", sa.String(32), nullable=True),
        sa.Column("community_code", sa.String(32), nullable=True),
        sa.Column("unit_grid_code", sa.String(32), nullable=True),
        sa.Column("road_section_code", sa.String(32), nullable=True),
        sa.Column("routing", sa.JSON(), nullable=True),
        sa.Column("triage_reason", sa.String(32), nullable=True),
        sa.Column("owner_unit_id", sa.Integer(), nullable=True),
        _ts("reported_at", False),
        _ts("created_at", False),
        _ts("updated_at", False),
        _ts("assigned_at"),
        _ts("deadline"),
        sa.Column("deadline_rule", sa.String(16), nullable=True),
        _ts("submitted_at"),
        _ts("closed_at"),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalated", sa.Boolean(), nullable=False),
        sa.Column("extension_pending", sa.Boolean(), nullable=False),
        _ts("overdue_at"),
        _ts("escalated_at"),
        sa.Column("return_count", sa.Integer(), nullable=False),
        sa.Column("extension_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_count", sa.Integer(), nullable=False),
        sa.Column("notice_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("recurrence_of_id", sa.Integer(), nullable=True),
        sa.Column("repeat_count", sa.Integer(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("reinspection_result", sa.String(16), nullable=True),
        sa.Column("reinspection_note", sa.Text(), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issues"),
        sa.UniqueConstraint("idempotency_key", name="uq_issues_idempotency_key"),
        sa.CheckConstraint("version >= 1", name="ck_issues_version_positive"),
        _fk("issues", "category_code", "categories", "RESTRICT", "code"),
        _fk("issues", "generation_id", "generations", "RESTRICT"),
        _fk("issues", "owner_unit_id", "units", "RESTRICT"),
        _fk("issues", "duplicate_of_id", "issues", "SET NULL"),
        _fk("issues", "recurrence_of_id", "issues", "SET NULL"),
    )
    op.create_index("ix_issues_state_category", "issues", ["state", "category_code"])
    op.create_index("ix_issues_category_lonlat", "issues", ["category_code", "lon", "lat"])
    op.create_index("ix_issues_reported_at", "issues", ["reported_at"])
    op.create_index("ix_issues_deadline", "issues", ["deadline"])
    op.create_index("ix_issues_owner", "issues", ["owner_unit_id"])
    op.create_index("ix_issues_unit_grid", "issues", ["unit_grid_code"])
    op.create_index("ix_issues_township_code", "issues", ["township_code"])
    op.create_index("ix_issues_community_code", "issues", ["community_code"])
    op.create_index("ix_issues_duplicate_of_id", "issues", ["duplicate_of_id"])
    op.create_index("ix_issues_recurrence_of_id", "issues", ["recurrence_of_id"])
    if postgis:
        op.create_index("ix_issues_geom", "issues", ["geom"], postgresql_using="gist")

    op.create_table(
        "issue_parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issue_parties"),
        sa.CheckConstraint(
            "(unit_id IS NOT NULL AND leader_id IS NULL) OR "
            "(leader_id IS NOT NULL AND unit_id IS NULL)",
            name="ck_issue_parties_one_subject",
        ),
        _fk("issue_parties", "issue_id", "issues", "CASCADE"),
        _fk("issue_parties", "unit_id", "units", "RESTRICT"),
        _fk("issue_parties", "leader_id", "leaders", "RESTRICT"),
    )
    op.create_index("ix_issue_parties_issue_id", "issue_parties", ["issue_id"])
    op.create_index("ix_issue_parties_unit", "issue_parties", ["unit_id", "role"])
    op.create_index("ix_issue_parties_leader", "issue_parties", ["leader_id", "role"])

    op.create_table(
        "issue_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(32), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issue_places"),
        sa.UniqueConstraint("issue_id", "layer", "code", name="uq_issue_places_issue_layer_code"),
        _fk("issue_places", "issue_id", "issues", "CASCADE"),
    )
    op.create_index("ix_issue_places_layer_code", "issue_places", ["layer", "code"])

    op.create_table(
        "issue_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        _ts("at", False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=True),
        sa.Column("actor_who", sa.String(200), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("actor_unit_key", sa.String(32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_issue_events"),
        _fk("issue_events", "issue_id", "issues", "RESTRICT"),
    )
    op.create_index("ix_issue_events_issue", "issue_events", ["issue_id", "id"])

    op.create_table(
        "issue_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.String(300), nullable=False),
        sa.Column("mime", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(300), nullable=True),
        sa.Column("stage", sa.String(16), nullable=False),
        _ts("created_at", False),
        sa.PrimaryKeyConstraint("id", name="pk_issue_photos"),
        _fk("issue_photos", "issue_id", "issues", "RESTRICT"),
        _fk("issue_photos", "event_id", "issue_events", "RESTRICT"),
    )
    op.create_index("ix_issue_photos_sha256", "issue_photos", ["sha256"])
    op.create_index("ix_issue_photos_issue_id", "issue_photos", ["issue_id"])

    op.create_table(
        "supervision_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("leader_keys", sa.JSON(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        _ts("issued_at", False),
        _ts("deadline", False),
        _ts("escalated_at"),
        _ts("resolved_at"),
        sa.Column("issued_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_supervision_notices"),
        sa.UniqueConstraint("year", "seq", name="uq_supervision_notices_year_seq"),
        sa.UniqueConstraint("number", name="uq_supervision_notices_number"),
        _fk("supervision_notices", "issue_id", "issues", "RESTRICT"),
        _fk("supervision_notices", "unit_id", "units", "RESTRICT"),
    )
    op.create_index("ix_supervision_notices_issue_id", "supervision_notices", ["issue_id"])

    op.create_table(
        "extension_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        _ts("old_deadline"),
        _ts("requested_deadline", False),
        _ts("requested_at", False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_unit_key", sa.String(32), nullable=True),
        _ts("decided_at"),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        _ts("granted_deadline"),
        sa.PrimaryKeyConstraint("id", name="pk_extension_requests"),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'refused')",
            name="ck_extension_requests_status_known",
        ),
        sa.CheckConstraint(
            "kind IN ('extension', 'postponement')", name="ck_extension_requests_kind_known"
        ),
        _fk("extension_requests", "issue_id", "issues", "RESTRICT"),
    )
    op.create_index("ix_extension_requests_issue_id", "extension_requests", ["issue_id"])


def downgrade() -> None:
    for table in (
        "extension_requests",
        "supervision_notices",
        "issue_photos",
        "issue_events",
        "issue_places",
        "issue_parties",
        "issues",
    ):
        op.drop_table(table)

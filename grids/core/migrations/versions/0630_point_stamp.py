"""The routing stamp also changes with every write to the assessment points.

Each server process keeps the assessment-point register with its cached routing
tables (``RoutingTables.point_index``) instead of querying it on every report (one
round trip fewer per intake on PostgreSQL, issue 19); like the routing tables, the
copy is current while the stamp is unchanged. The triggers are those of migration
``0535`` on ``assessment_points`` (on SQLite the migration environment re-creates
them after a copying migration, from this revision on).

Revision ID: 0630
Revises: 0620
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0630"
down_revision = "0620"
branch_labels = None
depends_on = None

TABLE = "assessment_points"
_EVENTS = ("insert", "update", "delete")
_PG_FUNCTION = "civgrid_bump_routing_stamp"  # migration 0535


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER trg_{TABLE}_routing_stamp AFTER INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {TABLE} FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
        )
    else:
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER IF NOT EXISTS trg_{TABLE}_{event}_routing_stamp AFTER "
                f"{event.upper()} ON {TABLE} BEGIN UPDATE routing_stamps SET stamp = random() "
                "WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_routing_stamp ON {TABLE}")
    else:
        for event in _EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{TABLE}_{event}_routing_stamp")

"""A routing stamp changed by triggers on every write to what routing reads; a
``(lon, lat)`` index on issues for bbox filters.

Each server process caches categories, routing rules, owner rules, assignments,
units and leaders (``civgrid.grids.boundaries.routing.RoutingTables``) and reads the
one row of ``routing_stamps`` per report to know whether its copy is current. The
triggers give ``stamp`` a new random value in the writing transaction, whoever
writes (the API, the CLI, another worker, plain SQL); a rolled-back write leaves
the committed value in place.

On SQLite, a later migration that copies one of these tables (``batch_alter_table``)
drops its triggers: the migration environment creates any missing one again after
every upgrade (``sqlite_stamp_triggers``; ``tests/issues/test_routing_cache.py``
fails on SQLite when they are gone).

Revision ID: 0535_routing_stamp
Revises: 0530
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0535_routing_stamp"
down_revision = "0530"
branch_labels = None
depends_on = None

#: The tables whose writes change the stamp (everything routing reads).
TABLES = ("categories", "routing_rules", "owner_rules", "assignments", "units", "leaders")
_EVENTS = ("insert", "update", "delete")
_PG_FUNCTION = "civgrid_bump_routing_stamp"


def upgrade() -> None:
    op.create_table(
        "routing_stamps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_routing_stamps"),
    )
    op.execute("INSERT INTO routing_stamps (id, stamp) VALUES (1, 0)")
    # bbox filters on SQLite (PostGIS uses the GiST index on geom)
    op.create_index("ix_issues_lonlat", "issues", ["lon", "lat"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN UPDATE routing_stamps SET stamp = floor(random() * 4e18)::bigint "
            "WHERE id = 1; RETURN NULL; END $$"
        )
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER trg_{table}_routing_stamp AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {_PG_FUNCTION}()"
            )
        return
    for table in TABLES:  # SQLite: row triggers only
        for event in _EVENTS:
            op.execute(
                f"CREATE TRIGGER trg_{table}_{event}_routing_stamp AFTER {event.upper()} "
                f"ON {table} BEGIN UPDATE routing_stamps SET stamp = random() WHERE id = 1; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_routing_stamp ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()")
    else:
        for table in TABLES:
            for event in _EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS trg_{table}_{event}_routing_stamp")
    op.drop_index("ix_issues_lonlat", table_name="issues")
    op.drop_table("routing_stamps")

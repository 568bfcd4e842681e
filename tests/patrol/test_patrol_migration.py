"""The patrol migration matches the ORM models, on SQLite and PostGIS."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import civgrid.grids.patrol_models as patrol_models
from civgrid.grids.migrate import include_object_for
from civgrid.grids.models import Base

OURS = {
    "patrol_teams",
    "patrol_plans",
    "patrol_visits",
    "leader_visits",
    "patrol_tracks",
    "patrol_visit_issues",
}


def _touches_ours(diff) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    text = repr(items)
    return any(f"'{t}'" in text for t in OURS)


def test_migration_matches_models(store):
    assert patrol_models.PatrolVisit.__tablename__ in Base.metadata.tables
    with store.engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
        assert tables >= OURS
        ctx = MigrationContext.configure(
            conn,
            opts={"include_object": include_object_for(conn.dialect.name), "compare_type": True},
        )
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if _touches_ours(d)]
    assert diffs == []

"""The patrol migration matches the ORM models, on SQLite and PostGIS."""

from __future__ import annotations

import civgrid.grids.patrol.models as patrol_models
import civgrid.grids.patrol.visit_photos  # noqa: F401  (registers patrol_visit_photos)
from civgrid.grids.core.db import Base
from support.schema_diff import schema_diffs

OURS = {
    "patrol_teams",
    "patrol_plans",
    "patrol_visits",
    "patrol_visit_photos",
    "leader_visits",
    "patrol_tracks",
    "patrol_visit_issues",
}


def test_migration_matches_models(store):
    assert patrol_models.PatrolVisit.__tablename__ in Base.metadata.tables
    with store.engine.connect() as conn:
        tables = set(conn.dialect.get_table_names(conn))
        assert tables >= OURS
        diffs = schema_diffs(conn, OURS)
    assert diffs == []

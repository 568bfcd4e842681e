"""The scoring migration matches the ORM models, on SQLite and PostGIS, and is at head."""

from __future__ import annotations

from sqlalchemy import inspect

import civgrid.grids.scoring.models as scoring_models
from civgrid.grids.core.db import Base
from civgrid.grids.core.migrate import head_revision
from support.schema_diff import schema_diffs

OURS = {
    "score_bulletins",
    "accountability_cases",
    "accountability_case_events",
    "score_pairing_work",
    "score_adjustments",
}


def test_migration_matches_models(store):
    assert scoring_models.Bulletin.__tablename__ in Base.metadata.tables
    assert store.revision() == head_revision()
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= OURS
        diffs = schema_diffs(conn, OURS)
    assert diffs == []

"""The scoring migration matches the ORM models, on SQLite and PostGIS, and is at head."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import civgrid.grids.scoring_models as scoring_models
from civgrid.grids.migrate import head_revision, include_object_for
from civgrid.grids.models import Base

OURS = {"score_bulletins", "accountability_cases", "accountability_case_events"}


def _touches_ours(diff) -> bool:
    items = diff if isinstance(diff, list) else [diff]
    text = repr(items)
    return any(f"'{t}'" in text for t in OURS)


def test_migration_matches_models(store):
    assert scoring_models.Bulletin.__tablename__ in Base.metadata.tables
    assert store.revision() == head_revision()
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= OURS
        ctx = MigrationContext.configure(
            conn,
            opts={"include_object": include_object_for(conn.dialect.name), "compare_type": True},
        )
        diffs = [d for d in compare_metadata(ctx, Base.metadata) if _touches_ours(d)]
    assert diffs == []

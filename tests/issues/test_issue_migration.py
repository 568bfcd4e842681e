"""The issues migration matches the ORM models, on SQLite and PostGIS, and is at head."""

from __future__ import annotations

import civgrid.grids.issues.models as issue_models
from civgrid.grids.core.db import Base
from civgrid.grids.core.migrate import head_revision
from support.schema_diff import schema_diffs

OURS = {
    "issues",
    "party_sets",
    "party_set_members",
    "place_sets",
    "place_set_members",
    "issue_events",
    "issue_photos",
    "issue_routings",
    "supervision_notices",
    "extension_requests",
    "transfer_requests",
    "idempotency_records",
}


def test_migration_matches_models(store):
    assert issue_models.Issue.__tablename__ in Base.metadata.tables
    assert store.revision() == head_revision()
    with store.engine.connect() as conn:
        diffs = schema_diffs(conn, OURS)
    assert diffs == []

"""The outbox migration (0550) matches the ORM models, on SQLite and PostGIS."""

from __future__ import annotations

import civgrid.grids.notify.models  # noqa: F401  (registers the notify tables)
from civgrid.grids.core.migrate import head_revision
from support.schema_diff import schema_diffs

OURS = {
    "domain_events",
    "notify_contacts",
    "notify_subscriptions",
    "notify_outbox",
    "notify_attempts",
}


def test_migration_matches_models(any_store):
    assert any_store.revision() == head_revision()
    with any_store.engine.connect() as conn:
        diffs = schema_diffs(conn, OURS)
    assert diffs == []

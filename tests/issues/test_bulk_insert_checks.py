"""Bulk writes keep every foreign key: on PostGIS the per-row triggers are replaced by
one set-based check per key before the commit, which refuses a dangling reference."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from civgrid.grids.core.errors import DomainError
from civgrid.grids.issues.bulk_insert import BulkInserter
from civgrid.grids.issues.models import IssueEvent

COLUMNS = ("issue_id", "at", "action", "actor_who", "actor_role")


def test_a_dangling_reference_is_refused_and_nothing_written(store):
    postgres = store.engine.dialect.name == "postgresql"
    with store.session() as s:
        out = BulkInserter(s, set_based_checks=True)
        assert out.set_based_checks is postgres  # the test cluster connects as superuser
        row = (987_654, out.ts(datetime(2024, 5, 1, tzinfo=UTC)), "import", "test", "system")
        if postgres:
            out.insert(IssueEvent.__table__, COLUMNS, [row])  # no trigger: accepted here…
            with pytest.raises(DomainError, match=r"issue_events\.issue_id = 987654"):
                out.check_references()  # …and refused before any commit
        else:  # SQLite checks each row as it goes in
            with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
                out.insert(IssueEvent.__table__, COLUMNS, [row])
        out.close()
        s.rollback()
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(IssueEvent)) == 0

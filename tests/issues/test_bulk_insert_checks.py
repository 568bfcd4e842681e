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


def _issue_indexes(store) -> list[tuple]:
    from sqlalchemy import inspect

    return sorted(
        (ix["name"], tuple(ix["column_names"]), bool(ix.get("unique")))
        for ix in inspect(store.engine).get_indexes("issues")
    )


def test_a_first_backfill_builds_the_issue_indexes_after_the_rows(store, config):
    from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
    from civgrid.grids.issues.models import Issue

    before = _issue_indexes(store)
    assert len(before) >= 15
    with store.session() as s:
        out = BulkInserter(s)
        assert out.drop_indexes(Issue.__table__, 0) == []  # nothing to write: kept
        dropped = out.drop_indexes(Issue.__table__, 10)  # more than the table holds
        assert {name for name, _ in dropped} == {name for name, _, unique in before if not unique}
        out.close()
        s.rollback()  # the drop is undone with the transaction
    assert _issue_indexes(store) == before
    report = backfill_issues(store, synthetic_history(store, 40, seed=3), commit=True)
    assert report.written == 40
    assert _issue_indexes(store) == before
    with store.session() as s:
        out = BulkInserter(s)
        assert out.drop_indexes(Issue.__table__, 40) == []  # as many there: kept
        out.close()
        s.rollback()


@pytest.mark.parametrize("postgres", [False, True])
def test_points_are_the_wkb_of_the_geometry_conversion(postgres):
    import numpy as np
    import shapely

    from civgrid.geo.convert import to_wkb_array
    from civgrid.grids.core.types import SRID

    out = BulkInserter.__new__(BulkInserter)  # the values only: no connection needed
    out.postgres = postgres
    lon = np.array([117.123456789, -0.0, 180.0, 116.4])
    lat = np.array([31.987654321, 0.0, -90.0, 39.9])
    want = to_wkb_array(shapely.points(lon, lat), SRID if postgres else None, hex=postgres)
    assert out.points(lon, lat) == list(want)
    assert out.points(np.array([]), np.array([])) == []

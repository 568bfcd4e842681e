"""The heat map's issue arrays read packed on PostGIS equal those read row by row.

On PostgreSQL ``issue_arrays`` asks for one row (positions and flags packed into one
``bytea``, codes into one text each); the row-by-row path is SQLite's. Both run here on
the same issues, so every figure the heat map computes from them is the same.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, text

from civgrid.grids.issues.models import Issue
from civgrid.grids.issues.workflow import open_states
from civgrid.maps import heat
from civgrid.maps.heat import density_points, hexbin_geojson, issue_arrays
from support.demo_stores import demo_store_copy

pytestmark = pytest.mark.postgis

T = datetime(2026, 6, 1, tzinfo=UTC)
# 3,000 issues around the demo county, every state, some without a point, places
# NULL, '' or a code, every 7th a recurrence, overdue flags on open and closed ones
INSERT = """
INSERT INTO issues (version, state, category_code, source, priority, reporter_role, anonymous,
    lon, lat, location_source, reported_at, created_at, updated_at, overdue, escalated,
    extension_pending, return_count, extension_count, duplicate_count, notice_count,
    repeat_count, community_code, township_code)
SELECT 1, (ARRAY['triage','assigned','rectifying','submitted','returned','closed','merged',
               'rejected'])[1 + g % 8],
       (ARRAY['dumping','street_vending','illegal_parking'])[1 + (g / 8) % 3],
       'grid_worker', 'normal', 'grid_worker', false,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 112.98 + 0.05 * sin(g) END,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 33.06 + 0.05 * cos(g * 1.3) END,
       'point', :t - g * interval '1 hour', :t, :t, g % 5 = 0, false, false, 0, 0, 0, 0, 0,
       (ARRAY['C1', 'C2', NULL, ''])[1 + g % 4], (ARRAY['T1', NULL, 'T2'])[1 + g % 3]
FROM generate_series(1, 3000) AS g
"""


@pytest.fixture
def pg_store(request, tmp_path):
    yield from demo_store_copy("postgis", request, tmp_path)


def test_packed_arrays_equal_rows(pg_store):
    with pg_store.engine.begin() as c:
        c.execute(text(INSERT), {"t": T})
        c.execute(text("UPDATE issues SET recurrence_of_id = id - 1 WHERE id % 7 = 0"))
    with pg_store.session() as s:
        window = [Issue.reported_at >= datetime(2025, 1, 1, tzinfo=UTC), Issue.category_code != "x"]
        packed = issue_arrays(s, window)
        assert len(packed) > 2500  # merged and unlocated issues left out
        assert 0 < packed.open.sum() < len(packed) and packed.recurrence.any()
        assert packed.overdue.any() and not (packed.overdue & ~packed.open).any()
        where = [Issue.lon.is_not(None), Issue.lat.is_not(None), Issue.state != "merged", *window]
        place = func.coalesce(Issue.community_code, Issue.township_code)
        is_open = Issue.state.in_(open_states())
        rows = heat._row_arrays(s, where, is_open, place, False)
        for name in ("lon", "lat", "open", "overdue", "recurrence", "category", "community"):
            assert getattr(packed, name).tolist() == getattr(rows, name).tolist(), name
        assert (packed.categories, packed.communities) == (rows.categories, rows.communities)
        assert packed.communities == ["C1", "C2", "T1", "T2"]
        assert hexbin_geojson(packed, 9, top=5) == hexbin_geojson(rows, 9, top=5)
        dens = issue_arrays(s, window, density_only=True)
        # its query tests no state: only the recurrences are read
        assert dens.recurrence.tolist() == rows.recurrence.tolist()
        assert not dens.open.any() and dens.categories == ["-"]
        assert density_points(dens, 12, max_points=500) == density_points(rows, 12, max_points=500)
        assert len(issue_arrays(s, [Issue.reported_at > T])) == 0

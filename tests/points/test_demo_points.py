"""Demo points: about 120 points of at least 12 types through the register import, each
with its responsible unit and chief by title; a short seeded season of inspections feeds
the mock assessment."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select

from civgrid.grids.boundaries.models import AssessmentPoint
from civgrid.grids.issues.config import IssueConfig
from civgrid.grids.points.compliance import latest_results, statuses
from civgrid.grids.points.mock import run


def test_demo_points_and_a_season(sqlite_demo, standard, tmp_path):
    from civgrid.grids.demo.points import inspect_season, load_demo_points

    store = sqlite_demo
    assert load_demo_points(store, standard, commit=False).new >= 120  # a dry run first
    report = load_demo_points(store, standard)
    assert report.committed and report.new >= 120, report.to_text()
    with store.session() as s:
        points = list(s.scalars(select(AssessmentPoint)))
        kinds = Counter(p.point_type for p in points)
        assert len(kinds) >= 12 and set(kinds) <= set(standard.type_codes())
        assert all(p.responsible_unit_id and p.point_chief for p in points)
        assert all(p.community_code or p.township_code for p in points)
        assert any(p.must_check for p in points) and any(p.key_site_code for p in points)
    cfg = IssueConfig(photo_dir=tmp_path / "photos")
    now = datetime.now(UTC)
    counts = inspect_season(store, standard, cfg, limit=12, now=now, fail_rate=0.3)
    assert counts["inspections"] == 24 and counts["issues"] > 0
    with store.session() as s:
        st = statuses(s, points)
        assert sum(v.compliance != "uninspected" for v in st.values()) == 12
        results = latest_results(s, standard)
    assert len(results) == 12
    r = run(results, {t.code: t.weight for t in standard.types}, seed=1)
    assert 0 <= r.low <= r.predicted <= r.high <= 100

"""``bbox`` is filtered in SQL (PostGIS: ``&&`` on the indexed geometry; SQLite: the
``(lon, lat)`` index) and selects exactly the issues a plain Python filter selects."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from civgrid.grids.core.errors import InvalidInputError
from civgrid.grids.issues import service as svc
from civgrid.grids.issues.backfill import backfill_issues, synthetic_history
from civgrid.grids.issues.models import Issue


def _python_filter(points: dict[int, tuple[float, float]], box: tuple) -> set[int]:
    minx, miny, maxx, maxy = box
    return {i for i, (x, y) in points.items() if minx <= x <= maxx and miny <= y <= maxy}


def test_bbox_in_sql_selects_what_python_filtering_selects(store):
    report = backfill_issues(store, synthetic_history(store, 300, seed=7), commit=True)
    assert report.written == 300
    with store.session() as s:
        points = {i: (x, y) for i, x, y in s.execute(select(Issue.id, Issue.lon, Issue.lat))}
    xs = sorted(x for x, _ in points.values())
    ys = sorted(y for _, y in points.values())
    rng = random.Random(3)
    boxes = []
    for _ in range(12):
        x0, x1 = sorted(rng.sample(xs, 2))
        y0, y1 = sorted(rng.sample(ys, 2))
        boxes.append((x0, y0, x1, y1))  # edges on issue coordinates: inclusive
    boxes.append((xs[0], ys[0], xs[-1], ys[-1]))  # everything
    boxes.append((0.0, 0.0, 1.0, 1.0))  # nothing
    one = next(iter(points.values()))
    boxes.append((one[0], one[1], one[0], one[1]))  # a point-sized box
    with store.session() as s:
        for box in boxes:
            page = svc.list_issues(s, svc.IssueQuery(bbox=box, limit=10_000, order="id"))
            expected = _python_filter(points, box)
            assert {i.id for i in page.items} == expected, box
            assert page.total == len(expected)
        assert any(0 < len(_python_filter(points, b)) < len(points) for b in boxes)
        with pytest.raises(InvalidInputError):
            svc.list_issues(s, svc.IssueQuery(bbox=(1.0, 0.0, 0.0, 1.0)))


def test_bbox_on_postgis_uses_the_spatial_index(store):
    """The envelope test is in the SQL on PostGIS (the GiST index can serve it)."""
    with store.session() as s:
        sql = str(
            select(Issue.id)
            .where(*svc.issue_conditions(s, svc.IssueQuery(bbox=(112.9, 33.0, 113.0, 33.1))))
            .compile(s.get_bind())
        )
    if store.backend == "postgis":
        assert "&&" in sql and "ST_MakeEnvelope" in sql
    else:
        assert "issues.lon BETWEEN" in sql and "&&" not in sql

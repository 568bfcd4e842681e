"""Helpers of the patrol tests: seeded issues, synthetic GPS tracks on demo roads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import Category
from civgrid.grids.issues.member_sets import point_at_places
from civgrid.grids.issues.models import Issue, PlaceSetMember
from civgrid.grids.issues.workflow import State


def seed_hotspot(session, community: str, unit_grid: str, *, recurrences: int, when: datetime):
    """One open, overdue issue at ``unit_grid`` that recurred ``recurrences`` times."""
    cat = session.scalars(select(Category.code).order_by(Category.code)).first()
    issue = Issue(
        state=State.assigned,
        category_code=cat,
        source="field_supervision",
        priority="normal",
        reporter_role="inspector",
        anonymous=False,
        location_source="point",
        reported_at=when,
        created_at=when,
        updated_at=when,
        community_code=community,
        unit_grid_code=unit_grid,
        repeat_count=recurrences,
        overdue=True,
    )
    point_at_places(
        session,
        issue,
        [
            PlaceSetMember(layer="community", code=community),
            PlaceSetMember(layer="unit_grid", code=unit_grid),
        ],
    )
    session.add(issue)
    session.flush()
    return issue


def densify(line, step_m: float = 10.0) -> np.ndarray:
    """Points every ``step_m`` metres along a WGS84 LineString (lon/lat array)."""
    coords = np.asarray(line.coords)
    proj = Projector(metric_epsg_for(coords[:, 0]))
    x, y = proj.forward(coords[:, 0], coords[:, 1])
    seg = np.hypot(np.diff(x), np.diff(y))
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, cum[-1] + 1e-9, step_m)
    if s[-1] < cum[-1]:
        s = np.append(s, cum[-1])
    lon, lat = proj.inverse(np.interp(s, cum, x), np.interp(s, cum, y))
    return np.column_stack([np.ravel(lon), np.ravel(lat)])


def gpx(points, *, start=datetime(2026, 12, 3, 1, 0, tzinfo=UTC), dt_s=10.0) -> str:
    """A GPX 1.1 track with one fix every ``dt_s`` seconds."""
    out = []
    for i, (lon, lat) in enumerate(points):
        t = (start + timedelta(seconds=dt_s * i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.append(f'<trkpt lat="{lat:.7f}" lon="{lon:.7f}"><time>{t}</time></trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">'
        "<trk><trkseg>" + "".join(out) + "</trkseg></trk></gpx>"
    )

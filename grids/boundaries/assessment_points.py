"""The snap of a report to an assessment point (测评点位) of the register.

A report records the point when it lies inside a polygon point (a market, a square, a
compound) or within the radius of a point site (a bus stop, a toilet, a school gate):
the point's own ``radius_m``, else :data:`DEFAULT_POINT_RADIUS_M`. The routing answer
then names the point, and the owner rules give the issue to the point's responsible
unit (包保单位) through its ``responsible`` assignment on (``assessment_point``, code)
— the same path as shops and key sites (:mod:`civgrid.grids.boundaries.routing`).

Distances are metres in the county's metric CRS (CGCS2000 3° Gauss-Krüger zone of the
report); a bounding-box pre-filter on the ``min_/max_`` lon/lat columns keeps the
lookup on an index, and the exact test runs in Python with shapely, so SQLite and
PostGIS give the same answer.

Examples
--------
>>> DEFAULT_POINT_RADIUS_M
30.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import AssessmentPoint

__all__ = ["DEFAULT_POINT_RADIUS_M", "PointHit", "point_at"]

#: Metres around a point site within which a report records the point when the
#: register gives no ``radius_m``. A local choice: the notices name no distance; 30 m
#: covers a bus stop's platform, a public toilet's surround or a school gate.
DEFAULT_POINT_RADIUS_M = 30.0
#: Largest radius the pre-filter allows for (metres); a register radius above it is cut.
MAX_POINT_RADIUS_M = 500.0
_DEG_PER_M = 1.0 / 110_000.0


@dataclass(frozen=True)
class PointHit:
    """An assessment point at a report: inside its polygon (0 m) or within its radius."""

    point: AssessmentPoint
    distance_m: float


def _radius(p: AssessmentPoint) -> float:
    return min(p.radius_m if p.radius_m is not None else DEFAULT_POINT_RADIUS_M, MAX_POINT_RADIUS_M)


def point_at(session: Session, lon: float, lat: float) -> PointHit | None:
    """The assessment point a report at (lon, lat) records, if any.

    Parameters
    ----------
    session : Session
    lon, lat : float
        WGS84 degrees.

    Returns
    -------
    PointHit or None
        A polygon containing the report wins (distance 0); else the nearest point site
        within its radius (metres); ties go to the smaller code.
    """
    dlat = MAX_POINT_RADIUS_M * _DEG_PER_M
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    rows = list(
        session.scalars(
            select(AssessmentPoint)
            .where(
                AssessmentPoint.min_lon <= lon + dlon,
                AssessmentPoint.max_lon >= lon - dlon,
                AssessmentPoint.min_lat <= lat + dlat,
                AssessmentPoint.max_lat >= lat - dlat,
            )
            .order_by(AssessmentPoint.code)
        )
    )
    if not rows:
        return None
    here = shapely.Point(lon, lat)
    best: PointHit | None = None
    proj: Projector | None = None
    for p in rows:
        if p.geom.geom_type in ("Polygon", "MultiPolygon"):
            if shapely.covers(p.geom, here):
                d = 0.0
            else:
                continue
        else:
            proj = proj or Projector(metric_epsg_for(lon))
            x0, y0 = proj.forward(lon, lat)
            x1, y1 = proj.forward(p.geom.x, p.geom.y)
            d = float(math.hypot(float(x1) - float(x0), float(y1) - float(y0)))
            if d > _radius(p):
                continue
        if best is None or d < best.distance_m:
            best = PointHit(p, d)
    return best

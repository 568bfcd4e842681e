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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.grids.boundaries.models import AssessmentPoint, Unit

__all__ = ["DEFAULT_POINT_RADIUS_M", "PointHit", "PointIndex", "PointRecord", "point_at"]

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
    dlat, dlon = _margins(lat)
    box = {"x0": lon - dlon, "x1": lon + dlon, "y0": lat - dlat, "y1": lat + dlat}
    rows = list(session.scalars(_BOX_QUERY, box))
    return _best(rows, lon, lat)


#: The candidates of :func:`point_at` (every intake): built once, the box bound.
_BOX_QUERY = (
    select(AssessmentPoint)
    .where(
        AssessmentPoint.min_lon <= bindparam("x1"),
        AssessmentPoint.max_lon >= bindparam("x0"),
        AssessmentPoint.min_lat <= bindparam("y1"),
        AssessmentPoint.max_lat >= bindparam("y0"),
    )
    .order_by(AssessmentPoint.code)
)


def _margins(lat: float) -> tuple[float, float]:
    """Degrees of latitude and longitude the pre-filter widens a bounding box by."""
    dlat = MAX_POINT_RADIUS_M * _DEG_PER_M
    return dlat, dlat / max(math.cos(math.radians(lat)), 0.1)


def _best(rows: Sequence[AssessmentPoint], lon: float, lat: float) -> PointHit | None:
    """The exact test over the pre-filtered candidates (in code order)."""
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


@dataclass(frozen=True)
class UnitRef:
    """A point's responsible unit in a :class:`PointRecord`: its key and name."""

    key: str
    name: str


@dataclass(frozen=True)
class PointRecord:
    """An assessment point as :meth:`PointIndex.snapshot` keeps it (read-only, no session)."""

    id: int
    code: str
    name: str
    point_type: str
    geom: Any
    radius_m: float | None
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    must_check: bool
    responsible_unit: UnitRef


class PointIndex:
    """Every assessment point of the register read once: :func:`point_at` for many
    reports without a query each (back-fill routes thousands of places).

    :meth:`at` gives exactly :func:`point_at`'s answer: the same bounding-box
    pre-filter (on arrays instead of the ``min_/max_`` columns), the same candidates
    in code order, the same exact test.

    Parameters
    ----------
    points : sequence of AssessmentPoint
        The register (its ``responsible_unit`` loaded, if the caller reads it later).
    """

    def __init__(self, points: Sequence[AssessmentPoint]) -> None:
        self._points = sorted(points, key=lambda p: p.code)

        def col(name: str) -> np.ndarray:
            vals = [getattr(p, name) for p in self._points]
            return np.array([np.nan if v is None else v for v in vals], dtype=float)

        self._min_lon, self._max_lon = col("min_lon"), col("max_lon")
        self._min_lat, self._max_lat = col("min_lat"), col("max_lat")

    @classmethod
    def snapshot(cls, session: Session) -> PointIndex:
        """The register as it stands, as plain read-only records (no ORM objects): for a
        copy kept across sessions and threads (the routing tables' cache, whose stamp
        changes with every write to ``assessment_points`` and ``units``).

        The records have the attributes :meth:`at` and routing read (``id``, ``code``,
        ``name``, ``point_type``, ``geom``, ``radius_m``, the box, ``must_check``,
        ``responsible_unit.key`` and ``.name``).
        """
        t = AssessmentPoint
        columns = (t.id, t.code, t.name, t.point_type, t.geom, t.radius_m, t.min_lon)
        columns += (t.min_lat, t.max_lon, t.max_lat, t.must_check)
        query = select(*columns, Unit.key, Unit.name.label("unit_name")).join(
            Unit, Unit.id == t.responsible_unit_id
        )
        records = []
        for r in session.execute(query):
            *own, must_check, unit_key, unit_name = r
            records.append(PointRecord(*own, bool(must_check), UnitRef(unit_key, unit_name)))
        return cls(records)

    @classmethod
    def load(cls, session: Session) -> PointIndex:
        """The register as it stands in ``session``'s database."""
        query = select(AssessmentPoint).options(joinedload(AssessmentPoint.responsible_unit))
        return cls(list(session.scalars(query).unique()))

    def at(self, lon: float, lat: float) -> PointHit | None:
        """The assessment point a report at (lon, lat) records, as :func:`point_at`."""
        if not self._points:
            return None
        dlat, dlon = _margins(lat)
        keep = (
            (self._min_lon <= lon + dlon)
            & (self._max_lon >= lon - dlon)
            & (self._min_lat <= lat + dlat)
            & (self._max_lat >= lat - dlat)
        )
        return _best([self._points[i] for i in np.flatnonzero(keep).tolist()], lon, lat)

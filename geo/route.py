"""Daily patrol route ordering (open path from a base through all stops).

Inputs are WGS84 lon/lat degrees (EPSG:4326); distances are metres in the
metric CRS from :func:`civgrid.geo.metric.metric_epsg_for`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from xml.sax.saxutils import escape

import numpy as np

from civgrid.geo.errors import CoordinateError
from civgrid.geo.metric import Projector, metric_epsg_for


@dataclass(frozen=True)
class RouteResult:
    """Planned route.

    Attributes
    ----------
    order : list of int
        Stop indices in visiting order.
    total_m : float
        Total path length in metres (metric CRS).
    legs_m : list of float
        Length of each leg in metres, base→first stop first.
    epsg : int
        Metric CRS used.
    """

    order: list[int]
    total_m: float
    legs_m: list[float]
    epsg: int


def plan_route(
    base_lonlat: tuple[float, float],
    stops_lonlat: np.ndarray | list[tuple[float, float]],
    *,
    epsg: int | None = None,
) -> RouteResult:
    """Order stops as an open path from the base (nearest neighbour, then 2-opt).

    Parameters
    ----------
    base_lonlat : tuple of float
        Base lon/lat, WGS84 degrees.
    stops_lonlat : array-like, shape (n, 2)
        Stop lon/lat, WGS84 degrees.
    epsg : int, optional
        Metric CRS (metres); chosen from the longitudes when omitted.

    Returns
    -------
    RouteResult
        Visiting order, total and leg lengths in metres.

    Raises
    ------
    CoordinateError
        If there are no stops or a coordinate is not finite (row named; the
        base is row -1).
    """
    stops = np.asarray(stops_lonlat, dtype=float).reshape(-1, 2)
    if len(stops) == 0:
        raise CoordinateError("no stops to route")
    pts = np.vstack([np.asarray(base_lonlat, dtype=float).reshape(1, 2), stops])
    bad = np.flatnonzero(~np.isfinite(pts).all(axis=1))
    if len(bad):
        raise CoordinateError("non-finite coordinate", row=int(bad[0]) - 1)
    epsg = epsg or metric_epsg_for(pts[:, 0])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    xy = np.column_stack([np.asarray(x, float), np.asarray(y, float)])
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    n = len(pts)
    path = [0]
    left = set(range(1, n))
    while left:
        cand = np.fromiter(left, dtype=int)
        nxt = int(cand[np.argmin(d[path[-1], cand])])
        path.append(nxt)
        left.remove(nxt)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                a, b = path[i - 1], path[i]
                c = path[j]
                e = path[j + 1] if j + 1 < n else None
                old = d[a, b] + (d[c, e] if e is not None else 0.0)
                new = d[a, c] + (d[b, e] if e is not None else 0.0)
                if new < old - 1e-9:
                    path[i : j + 1] = path[i : j + 1][::-1]
                    improved = True
    legs = [float(d[a, b]) for a, b in itertools.pairwise(path)]
    return RouteResult([p - 1 for p in path[1:]], float(sum(legs)), legs, int(epsg))


def route_to_gpx(
    base_lonlat: tuple[float, float],
    stops_lonlat: np.ndarray | list[tuple[float, float]],
    result: RouteResult,
    names: list[str] | None = None,
) -> str:
    """Render a route as a GPX 1.1 ``<rte>`` (WGS84 degrees)."""
    stops = np.asarray(stops_lonlat, dtype=float).reshape(-1, 2)
    pts = [f'<rtept lat="{base_lonlat[1]}" lon="{base_lonlat[0]}"><name>base</name></rtept>']
    for i in result.order:
        nm = names[i] if names else f"stop {i}"
        pts.append(
            f'<rtept lat="{stops[i, 1]}" lon="{stops[i, 0]}"><name>{escape(nm)}</name></rtept>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="civgrid" '
        'xmlns="http://www.topografix.com/GPX/1/1"><rte>' + "".join(pts) + "</rte></gpx>"
    )


def route_to_geojson(
    base_lonlat: tuple[float, float],
    stops_lonlat: np.ndarray | list[tuple[float, float]],
    result: RouteResult,
) -> dict:
    """Render a route as a GeoJSON Feature with a LineString (WGS84 lon/lat degrees)."""
    stops = np.asarray(stops_lonlat, dtype=float).reshape(-1, 2)
    coords = [[float(base_lonlat[0]), float(base_lonlat[1])]]
    coords += [[float(stops[i, 0]), float(stops[i, 1])] for i in result.order]
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": {"order": result.order, "total_m": result.total_m, "legs_m": result.legs_m},
    }

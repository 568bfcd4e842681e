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
    method: str = "auto",
    exact_max: int = 9,
) -> RouteResult:
    """Order stops as an open path from the base minimising the travelled distance.

    The heuristic is nearest neighbour, then 2-opt and Or-opt (move a run of 1–3
    stops elsewhere) until no move improves, started from each of the
    :data:`N_STARTS` stops nearest to the base (the best path wins). Small
    instances are solved exactly (Held–Karp dynamic programme over subsets).

    Parameters
    ----------
    base_lonlat : tuple of float
        Base lon/lat, WGS84 degrees.
    stops_lonlat : array-like, shape (n, 2)
        Stop lon/lat, WGS84 degrees.
    epsg : int, optional
        Metric CRS (metres); chosen from the longitudes when omitted.
    method : {"auto", "heuristic", "exact", "nearest"}
        ``auto``: exact when ``n <= exact_max``, else heuristic. ``nearest`` is
        nearest neighbour alone (for comparison).
    exact_max : int
        Largest instance solved exactly by ``auto`` (and allowed for ``exact``, max 12).

    Returns
    -------
    RouteResult
        Visiting order, total and leg lengths in metres (straight lines in the metric CRS).

    Raises
    ------
    CoordinateError
        If there are no stops or a coordinate is not finite or out of range
        (the stop is named by its 0-based row; the base is row -1).
    """
    stops = np.asarray(stops_lonlat, dtype=float).reshape(-1, 2)
    if len(stops) == 0:
        raise CoordinateError("no stops to route")
    pts = np.vstack([np.asarray(base_lonlat, dtype=float).reshape(1, 2), stops])
    bad = np.flatnonzero(
        ~np.isfinite(pts).all(axis=1) | (np.abs(pts[:, 0]) > 180) | (np.abs(pts[:, 1]) > 90)
    )
    if len(bad):
        row = int(bad[0]) - 1
        what = "base" if row < 0 else f"stop {row}"
        raise CoordinateError(
            f"{what}: coordinate ({pts[row + 1, 0]}, {pts[row + 1, 1]}) is not a valid lon/lat",
            row=row,
        )
    epsg = epsg or metric_epsg_for(pts[:, 0])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    xy = np.column_stack([np.asarray(x, float).ravel(), np.asarray(y, float).ravel()])
    d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    n_stops = len(stops)
    if method == "auto":
        method = "exact" if n_stops <= exact_max else "heuristic"
    if method == "exact":
        if n_stops > max(exact_max, 12):
            raise CoordinateError(f"too many stops ({n_stops}) for the exact method")
        path = _held_karp(d)
    elif method == "nearest":
        path = _nearest_neighbour(d)
    elif method == "heuristic":
        path = _multi_start(d)
    else:
        raise CoordinateError(f"unknown route method {method!r}")
    legs = [float(d[a, b]) for a, b in itertools.pairwise(path)]
    return RouteResult([p - 1 for p in path[1:]], float(sum(legs)), legs, int(epsg))


def path_length(d: np.ndarray, path: list[int]) -> float:
    """Length of an open path through a distance matrix (same units as ``d``)."""
    return float(sum(d[a, b] for a, b in itertools.pairwise(path)))


def _nearest_neighbour(d: np.ndarray, first: int | None = None) -> list[int]:
    n = len(d)
    path = [0]
    left = np.ones(n, dtype=bool)
    left[0] = False
    if first is not None:
        path.append(first)
        left[first] = False
    for _ in range(n - len(path)):
        row = np.where(left, d[path[-1]], np.inf)
        nxt = int(np.argmin(row))  # ties: lowest index (deterministic)
        path.append(nxt)
        left[nxt] = False
    return path


def _two_opt(path: list[int], d: np.ndarray) -> bool:
    n = len(path)
    improved_any = False
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            a, b = path[i - 1], path[i]
            for j in range(i + 1, n):
                c = path[j]
                e = path[j + 1] if j + 1 < n else None
                old = d[a, b] + (d[c, e] if e is not None else 0.0)
                new = d[a, c] + (d[b, e] if e is not None else 0.0)
                if new < old - 1e-9:
                    path[i : j + 1] = path[i : j + 1][::-1]
                    b = path[i]
                    improved = improved_any = True
    return improved_any


def _or_opt(path: list[int], d: np.ndarray) -> bool:
    """Move a run of 1–3 consecutive stops (possibly reversed) to a better place."""
    improved_any = False
    improved = True
    while improved:
        improved = False
        n = len(path)
        for k in (1, 2, 3):
            for i in range(1, n - k + 1):
                run = path[i : i + k]
                prev, nxt = path[i - 1], path[i + k] if i + k < n else None
                gain = d[prev, run[0]] + (d[run[-1], nxt] if nxt is not None else 0.0)
                gain -= d[prev, nxt] if nxt is not None else 0.0
                rest = path[:i] + path[i + k :]
                best, best_at, best_rev = 1e-9, None, False
                for j in range(len(rest)):
                    p, q = rest[j], rest[j + 1] if j + 1 < len(rest) else None
                    base = d[p, q] if q is not None else 0.0
                    for rev in (False, True):
                        r0, r1 = (run[-1], run[0]) if rev else (run[0], run[-1])
                        cost = d[p, r0] + (d[r1, q] if q is not None else 0.0) - base
                        if gain - cost > best:
                            best, best_at, best_rev = gain - cost, j, rev
                if best_at is not None:
                    ins = run[::-1] if best_rev else run
                    path[:] = rest[: best_at + 1] + ins + rest[best_at + 1 :]
                    improved = improved_any = True
                    break
            if improved:
                break
    return improved_any


#: First stops tried by the heuristic (the nearest to the base, nearest neighbour first).
N_STARTS = 8


def _multi_start(d: np.ndarray) -> list[int]:
    """Best of nearest neighbour + 2-opt/Or-opt from the ``N_STARTS`` nearest first stops.

    The first start is plain nearest neighbour, so the result is never longer than
    it; ties keep the earlier start (deterministic).
    """
    firsts = [int(i) + 1 for i in np.argsort(d[0, 1:], kind="stable")[:N_STARTS]]
    best, best_len = None, np.inf
    for k, first in enumerate(firsts):
        path = _improve(_nearest_neighbour(d, None if k == 0 else first), d)
        length = path_length(d, path)
        if length < best_len - 1e-9:
            best, best_len = path, length
    assert best is not None
    return best


def _improve(path: list[int], d: np.ndarray) -> list[int]:
    path = list(path)
    for _ in range(100):
        a = _two_opt(path, d)
        b = _or_opt(path, d)
        if not (a or b):
            break
    return path


def _held_karp(d: np.ndarray) -> list[int]:
    """Exact shortest open path from node 0 through all nodes (O(2^n n^2))."""
    n = len(d) - 1
    if n == 1:
        return [0, 1]
    full = 1 << n
    cost = np.full((full, n), np.inf)
    parent = np.full((full, n), -1, dtype=int)
    for j in range(n):
        cost[1 << j, j] = d[0, j + 1]
    for mask in range(1, full):
        for j in range(n):
            c = cost[mask, j]
            if not np.isfinite(c) or not (mask >> j) & 1:
                continue
            for k in range(n):
                if (mask >> k) & 1:
                    continue
                m2 = mask | (1 << k)
                v = c + d[j + 1, k + 1]
                if v < cost[m2, k] - 1e-12:
                    cost[m2, k] = v
                    parent[m2, k] = j
    j = int(np.argmin(cost[full - 1]))
    mask = full - 1
    order = []
    while j >= 0:
        order.append(j + 1)
        pj = parent[mask, j]
        mask &= ~(1 << j)
        j = int(pj)
    return [0, *order[::-1]]


def route_to_gpx(
    base_lonlat: tuple[float, float],
    stops_lonlat: np.ndarray | list[tuple[float, float]],
    result: RouteResult,
    names: list[str] | None = None,
) -> str:
    """Render a route as a GPX 1.1 ``<rte>`` (WGS84 degrees)."""
    stops = np.asarray(stops_lonlat, dtype=float).reshape(-1, 2)
    pts = [f'<rtept lat="{base_lonlat[1]}" lon="{base_lonlat[0]}"><name>出发点</name></rtept>']
    for i in result.order:
        nm = names[i] if names else f"第{i + 1}站"
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

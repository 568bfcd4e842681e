"""The snap index: every point to its areas, nearest road section and key-site zones.

A :class:`SnapIndex` is built once from layer specs and then answers, exactly
and in microseconds, which features of each layer a lon/lat point snaps to.
Coordinates are WGS84/CGCS2000 lon/lat degrees, **x before y** (``lon, lat``)
everywhere. It is immutable after :meth:`SnapIndex.build` (the store swaps whole
indexes atomically) and safe to query from many threads (the numba kernels
release the GIL).

Layers
------
:class:`PolygonLayer` (``tiling=True``)
    A tiling layer (county, township/street, community/village, unit grid):
    a point gets **at most one** area.
:class:`PolygonLayer` (``tiling=False``)
    A multi-valued layer whose areas may overlap (supervision areas): a point
    gets **every** covering area, in code order.
:class:`LineLayer`
    Road sections: the **nearest** section within the layer's tolerance
    (default 30 m), with the distance (m) and the position along the section
    (m from its start, through the parts of a MultiLineString in order).
:class:`ZoneLayer`
    Key sites (point or polygon geometry) with a radius per site (default
    400 m): **every** zone containing the point, with its distance to the site.

Rules
-----
* **Covering** is tested in lon/lat, the stored CRS, exactly as GEOS
  ``covers`` (and PostGIS ``ST_Covers``) on the stored geometry: boundary
  included, holes and multipolygons honoured.
* A point covered by several areas of a layer — exactly on a shared edge or
  vertex, or in an overlap — goes to the area with the **smallest code**
  (Python string comparison) in a tiling layer.
* A point covered by no area gets none (id ``-1``, code ``None``). Only with
  the explicit option ``nearest_within_m=N`` is such a point assigned to the
  nearest area within N metres (metric CRS, distance to the polygon; ties to
  the smallest code), and the result is **flagged** ``snapped_nearest``.
* **Distances and buffers are metric**: lon/lat is projected to the
  CGCS2000 3-degree Gauss-Krüger zone of the data (:mod:`civgrid.geo.metric`,
  e.g. EPSG:4547 for CM 114E), never measured in degrees. A road section
  counts iff its distance to the point is ≤ the tolerance; the nearest wins,
  ties to the smallest code. A zone contains the point iff the distance to its
  site is ≤ its radius (point site: Euclidean distance; polygon site: distance
  to the polygon, 0 inside). Zones are listed nearest first, ties by code.

Exactness
---------
Results equal the exact predicates: GEOS ``covers`` over every polygon with
the smallest-code tie-break, and GEOS point-to-segment distances in the
projected CRS. The polygon kernel (:mod:`civgrid.geo.snap_kernels`) answers
most points from grid cells that lie entirely inside one area, and the rest
with GEOS's own crossing-number test and orientation filter; the rare point
whose orientation the filter cannot certify is resolved by GEOS itself
(``shapely.covers``). Tests compare against a brute-force oracle (hypothesis)
and against PostGIS on ≥ 100k points.

Examples
--------
>>> import shapely
>>> a = shapely.box(114.0, 34.0, 114.01, 34.01)
>>> b = shapely.box(114.01, 34.0, 114.02, 34.01)
>>> index = SnapIndex.build([PolygonLayer("community", ["B", "A"], [b, a])])
>>> index.snap(114.01, 34.005)["community"].code   # on the shared edge: smallest code
'A'
>>> index.layer("community").covering(114.015, 34.005)
['B']
>>> out = index.snap_many([114.005, 114.5], [34.005, 34.5])
>>> out["community"].ids.tolist()   # ids index the layer's input order
[1, -1]
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from civgrid.geo import snap_kernels as kern
from civgrid.geo.errors import CoordinateError, GeoError, GeometryError
from civgrid.geo.metric import Projector, metric_epsg_for

__all__ = [
    "AreaArrays",
    "AreaHit",
    "AreaSetArrays",
    "AreasHit",
    "DuplicateCodeError",
    "LineLayer",
    "LineLayerIndex",
    "PolygonLayer",
    "PolygonLayerIndex",
    "RoadArrays",
    "RoadHit",
    "SnapIndex",
    "SnapResult",
    "ZoneArrays",
    "ZoneLayer",
    "ZoneLayerIndex",
    "ZonesHit",
]

#: Target number of grid cells per polygon edge (vertex density → cell size).
CELLS_PER_EDGE = 4.0
#: Upper bound on the cells of one layer grid (int32 each).
MAX_CELLS = 1 << 23
#: Margin (metres) added to every road/zone buffer when listing grid candidates.
GRID_MARGIN_M = 0.5
#: Bound, in m/deg², on how far the projected image of a lon/lat segment of length L
#: degrees strays from the chord between its projected ends: L²/8·‖F''‖ with
#: ‖F''‖ ≲ √2·R·(π/180)² ≈ 2,500 m/deg² for the Gauss-Krüger map F, i.e. ≈ 320·L²;
#: 2,000·L² leaves a factor 6 of safety.
CURVATURE_M_PER_DEG2 = 2000.0

OnInvalid = Literal["raise", "skip"]


class DuplicateCodeError(GeoError):
    """Two features of one layer share a code (codes identify features and break ties)."""

    code = "duplicate_code"


# --------------------------------------------------------------------------- layer specs


@dataclass(frozen=True)
class PolygonLayer:
    """A polygon layer to index.

    Parameters
    ----------
    name : str
        Layer name, e.g. ``"community"``.
    codes : sequence of str
        One unique code per feature; ties are broken by the smallest code.
    geoms : sequence of shapely Polygon/MultiPolygon
        Lon/lat degrees (EPSG:4326), valid and non-empty.
    tiling : bool, default True
        True: a point gets at most one area (smallest code among those covering
        it). False: every covering area (e.g. overlapping supervision areas).
    cell_size_deg : float, optional
        Grid cell size in degrees; by default from the vertex density.
    """

    name: str
    codes: Sequence[str]
    geoms: Sequence[Any] | np.ndarray
    tiling: bool = True
    cell_size_deg: float | None = None


@dataclass(frozen=True)
class LineLayer:
    """A line layer (road sections) to index.

    Parameters
    ----------
    name : str
        Layer name, e.g. ``"road"``.
    codes : sequence of str
        One unique code per section.
    geoms : sequence of shapely LineString/MultiLineString
        Lon/lat degrees (EPSG:4326), non-empty, of positive length.
    tolerance_m : float, default 30
        A section is a candidate iff its distance to the point is ≤ this (metres,
        metric CRS).
    cell_size_m : float, optional
        Grid cell size in metres (converted to degrees); by default 2 × tolerance.
    """

    name: str
    codes: Sequence[str]
    geoms: Sequence[Any] | np.ndarray
    tolerance_m: float = 30.0
    cell_size_m: float | None = None


@dataclass(frozen=True)
class ZoneLayer:
    """A zone layer (key sites with a radius) to index.

    Parameters
    ----------
    name : str
        Layer name, e.g. ``"key_site"``.
    codes : sequence of str
        One unique code per site.
    geoms : sequence of shapely Point/Polygon/MultiPolygon
        Lon/lat degrees (EPSG:4326), the site itself.
    radius_m : float or array-like, default 400
        Zone radius per site in metres (metric CRS): the zone is every point whose
        distance to the site is ≤ the radius.
    cell_size_m : float, optional
        Grid cell size in metres; by default half the median radius.
    """

    name: str
    codes: Sequence[str]
    geoms: Sequence[Any] | np.ndarray
    radius_m: float | ArrayLike = 400.0
    cell_size_m: float | None = None


LayerSpec = PolygonLayer | LineLayer | ZoneLayer


# --------------------------------------------------------------------------- results


class AreaHit(NamedTuple):
    """One point in a tiling polygon layer (an immutable named tuple).

    Attributes
    ----------
    code : str or None
        Code of the area, None when the point is in no area.
    id : int
        Index of the area in the layer's input, -1 when none.
    distance_m : float
        0.0 when the area covers the point; the metric distance (m) when
        ``snapped_nearest``; NaN when none.
    snapped_nearest : bool
        True when the point is outside every area and was assigned to the
        nearest one by ``nearest_within_m``.
    """

    code: str | None
    id: int
    distance_m: float
    snapped_nearest: bool = False


class AreasHit(NamedTuple):
    """One point in a multi-valued polygon layer: every covering area, in code order.

    ``distance_m`` and ``snapped_nearest`` are as in :class:`AreaHit` (a point
    snapped by ``nearest_within_m`` gets one area).
    """

    codes: tuple[str, ...]
    ids: tuple[int, ...]
    distance_m: float
    snapped_nearest: bool = False


class RoadHit(NamedTuple):
    """The nearest road section within tolerance (code None / id -1 when none).

    ``distance_m`` is the metric distance to the section and ``position_m`` the
    distance along the section from its start to the closest point, both in
    metres (NaN when none).
    """

    code: str | None
    id: int
    distance_m: float
    position_m: float


class ZonesHit(NamedTuple):
    """Every zone containing the point as ``(code, distance_m)``, nearest first (ties by code)."""

    zones: tuple[tuple[str, float], ...]
    ids: tuple[int, ...]


Hit = AreaHit | AreasHit | RoadHit | ZonesHit


class SnapResult(Mapping[str, Hit]):
    """Snap of one point: a read-only mapping layer name → hit.

    Attributes
    ----------
    lon, lat : float
        The query point (degrees).
    hits : dict
        Layer name → :class:`AreaHit`, :class:`AreasHit`, :class:`RoadHit` or
        :class:`ZonesHit`.
    """

    __slots__ = ("hits", "lat", "lon")

    def __init__(self, lon: float, lat: float, hits: dict[str, Hit]) -> None:
        self.lon = lon
        self.lat = lat
        self.hits = hits

    def __getitem__(self, name: str) -> Hit:
        return self.hits[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    def __repr__(self) -> str:
        return f"SnapResult(lon={self.lon!r}, lat={self.lat!r}, hits={self.hits!r})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (NaN distances become None)."""

        def num(v: float) -> float | None:
            return None if v != v else float(v)

        out: dict[str, Any] = {"lon": self.lon, "lat": self.lat, "layers": {}}
        for name, h in self.hits.items():
            if isinstance(h, AreaHit):
                d = {
                    "code": h.code,
                    "distance_m": num(h.distance_m),
                    "snapped_nearest": h.snapped_nearest,
                }
            elif isinstance(h, AreasHit):
                d = {
                    "codes": list(h.codes),
                    "distance_m": num(h.distance_m),
                    "snapped_nearest": h.snapped_nearest,
                }
            elif isinstance(h, RoadHit):
                d = {
                    "code": h.code,
                    "distance_m": num(h.distance_m),
                    "position_m": num(h.position_m),
                }
            else:
                d = {"zones": [{"code": c, "distance_m": dist} for c, dist in h.zones]}
            out["layers"][name] = d
        return out


@dataclass(frozen=True)
class AreaArrays:
    """Bulk result of a tiling polygon layer.

    Attributes
    ----------
    ids : numpy.ndarray of int32
        Index of each point's area in the layer's input, -1 for none.
    distance_m : numpy.ndarray of float64
        0.0 when covered, metres to the area when ``snapped_nearest``, NaN when none.
    snapped_nearest : numpy.ndarray of bool
        True where the point was assigned by ``nearest_within_m``.
    codes : numpy.ndarray of object
        The layer's codes in input order (``codes[ids[k]]`` where ``ids[k] >= 0``).
    """

    ids: NDArray[np.int32]
    distance_m: NDArray[np.float64]
    snapped_nearest: NDArray[np.bool_]
    codes: NDArray[np.object_]

    def code_list(self) -> list[str | None]:
        """Code per point, None where there is no area."""
        return [None if i < 0 else self.codes[i] for i in self.ids.tolist()]


@dataclass(frozen=True)
class AreaSetArrays:
    """Bulk result of a multi-valued polygon layer as CSR.

    Point ``k``'s areas are ``ids[offsets[k]:offsets[k + 1]]`` in code order.
    ``snapped_nearest[k]`` is True when that single id comes from ``nearest_within_m``.
    """

    offsets: NDArray[np.int64]
    ids: NDArray[np.int32]
    snapped_nearest: NDArray[np.bool_]
    codes: NDArray[np.object_]


@dataclass(frozen=True)
class RoadArrays:
    """Bulk result of a line layer: section id (-1 none), distance (m), position along (m)."""

    ids: NDArray[np.int32]
    distance_m: NDArray[np.float64]
    position_m: NDArray[np.float64]
    codes: NDArray[np.object_]


@dataclass(frozen=True)
class ZoneArrays:
    """Bulk result of a zone layer as CSR, nearest first.

    Point ``k``'s zones are ``ids[offsets[k]:offsets[k + 1]]`` with the matching
    ``distance_m`` (metres to the site).
    """

    offsets: NDArray[np.int64]
    ids: NDArray[np.int32]
    distance_m: NDArray[np.float64]
    codes: NDArray[np.object_]


LayerArrays = AreaArrays | AreaSetArrays | RoadArrays | ZoneArrays


# --------------------------------------------------------------------------- helpers


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _check_codes(name: str, codes: Sequence[str], n_geoms: int) -> np.ndarray:
    arr = np.empty(len(codes), dtype=object)
    arr[:] = list(codes)
    if len(arr) != n_geoms:
        raise GeoError(f"layer {name!r}: {len(arr)} codes for {n_geoms} geometries", field="codes")
    seen: dict[str, int] = {}
    for i, c in enumerate(arr):
        if not isinstance(c, str) or not c:
            raise GeoError(f"layer {name!r}: code must be a non-empty string", row=i, field="code")
        if c in seen:
            raise DuplicateCodeError(
                f"layer {name!r}: duplicate code (also feature {seen[c]})",
                row=i,
                feature=c,
                field="code",
            )
        seen[c] = i
    return arr


def _check_geoms(
    name: str, codes: np.ndarray, geoms: Sequence[Any] | np.ndarray, allowed: tuple[int, ...]
) -> np.ndarray:
    g = np.empty(len(codes), dtype=object)
    g[:] = list(geoms)
    kinds = {0: "Point", 1: "LineString", 3: "Polygon", 5: "MultiLineString", 6: "MultiPolygon"}
    for i, geom in enumerate(g):
        if not isinstance(geom, shapely.Geometry):
            raise GeometryError(
                f"layer {name!r}: not a geometry ({type(geom).__name__})", row=i, feature=codes[i]
            )
    tid = shapely.get_type_id(g)
    bad = np.flatnonzero(~np.isin(tid, allowed))
    if bad.size:
        i = int(bad[0])
        want = "/".join(kinds[t] for t in allowed)
        raise GeometryError(
            f"layer {name!r}: {g[i].geom_type} where {want} is expected", row=i, feature=codes[i]
        )
    empty = np.flatnonzero(shapely.is_empty(g))
    if empty.size:
        i = int(empty[0])
        raise GeometryError(f"layer {name!r}: empty geometry", row=i, feature=codes[i])
    coords = shapely.get_coordinates(g)
    if not np.isfinite(coords).all():
        counts = shapely.get_num_coordinates(g)
        owner = np.repeat(np.arange(len(g)), counts)
        i = int(owner[np.flatnonzero(~np.isfinite(coords).all(axis=1))[0]])
        raise GeometryError(f"layer {name!r}: NaN or infinite coordinate", row=i, feature=codes[i])
    invalid = np.flatnonzero(~shapely.is_valid(g))
    if invalid.size:
        i = int(invalid[0])
        raise GeometryError(
            f"layer {name!r}: invalid geometry ({shapely.is_valid_reason(g[i])})",
            row=i,
            feature=codes[i],
        )
    if shapely.has_z(g).any():
        g = shapely.force_2d(g)
    return g


def _code_order(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, rank): features sorted by code, and each feature's rank in that order."""
    order = np.array(sorted(range(len(codes)), key=codes.__getitem__), dtype=np.int64)
    rank = np.empty(len(codes), dtype=np.int32)
    rank[order] = np.arange(len(codes), dtype=np.int32)
    return order, rank


def _as_points(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = np.ascontiguousarray(lon, dtype=np.float64).ravel()
    y = np.ascontiguousarray(lat, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise CoordinateError(f"lon has {x.shape[0]} values but lat has {y.shape[0]}")
    return x, y


def _check_point(lon: float, lat: float) -> tuple[float, float]:
    x = float(lon)
    y = float(lat)
    if not math.isfinite(x):
        raise CoordinateError(f"lon is not a finite number ({x})", field="lon")
    if not math.isfinite(y):
        raise CoordinateError(f"lat is not a finite number ({y})", field="lat")
    return x, y


def _pack(arrays: Sequence[np.ndarray], header: Sequence[int], header_len: int) -> np.ndarray:
    """Concatenate int32 arrays after a header holding their start offsets."""
    offs = []
    pos = header_len
    for a in arrays:
        offs.append(pos)
        pos += a.shape[0]
    offs.append(pos)
    out = np.zeros(pos, dtype=np.int32)
    head = [*header, *offs]
    if len(head) > header_len:
        raise AssertionError("header too long")
    if pos >= 2**31:
        raise GeoError("layer too large for the snap index (more than 2^31 entries)")
    out[: len(head)] = head
    for a, o in zip(arrays, offs[:-1], strict=True):
        out[o : o + a.shape[0]] = a
    return out


def _deg_per_metre(tm: np.ndarray, bbox: tuple[float, float, float, float]) -> tuple[float, float]:
    """Upper bounds of |∂lon/∂(x, y)| and |∂lat/∂(x, y)| (degrees per metre) over ``bbox``."""
    from civgrid.geo._tmerc import tm_forward_array

    x0, y0, x1, y1 = bbox
    lon, lat = np.meshgrid(np.linspace(x0, x1, 9), np.linspace(y0, y1, 9))
    lon = lon.ravel()
    lat = lat.ravel()
    h = 1e-4

    def fwd(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        px = np.empty_like(a)
        py = np.empty_like(a)
        tm_forward_array(tm, np.ascontiguousarray(a), np.ascontiguousarray(b), px, py)
        return px, py

    xe, ye = fwd(lon + h, lat)
    xw, yw = fwd(lon - h, lat)
    xn, yn = fwd(lon, lat + h)
    xs, ys = fwd(lon, lat - h)
    j = np.empty((lon.size, 2, 2))
    j[:, 0, 0] = (xe - xw) / (2 * h)
    j[:, 0, 1] = (xn - xs) / (2 * h)
    j[:, 1, 0] = (ye - yw) / (2 * h)
    j[:, 1, 1] = (yn - ys) / (2 * h)
    jinv = np.linalg.inv(j)  # rows: ∂lon/∂(x, y), ∂lat/∂(x, y) in deg/m
    dlon = float(np.sqrt((jinv[:, 0, :] ** 2).sum(axis=1)).max())
    dlat = float(np.sqrt((jinv[:, 1, :] ** 2).sum(axis=1)).max())
    return dlon * 1.05, dlat * 1.05


def _buffer_grid_spec(
    bbox: tuple[float, float, float, float], cell_deg: float
) -> tuple[float, float, float, int, int]:
    x0, y0, x1, y1 = bbox
    w = max(x1 - x0, 1e-9)
    h = max(y1 - y0, 1e-9)
    cs = max(cell_deg, 1e-7)
    while math.ceil(w / cs + 2) * math.ceil(h / cs + 2) > MAX_CELLS:
        cs *= 1.25
    nx = math.ceil(w / cs) + 2
    ny = math.ceil(h / cs) + 2
    return x0 - cs, y0 - cs, cs, nx, ny


# --------------------------------------------------------------------------- layer indexes


class _LayerIndex:
    """Common part of the compiled layers (immutable after construction)."""

    kind: str
    name: str
    codes: np.ndarray
    geoms: np.ndarray
    fa: np.ndarray
    ia: np.ndarray

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def nbytes(self) -> int:
        """Bytes held by the packed kernel arrays."""
        return int(self.fa.nbytes + self.ia.nbytes)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {len(self)} features, {self.nbytes} bytes>"


class PolygonLayerIndex(_LayerIndex):
    """A compiled polygon layer (see the module rules). Built by :meth:`SnapIndex.build`."""

    kind = "polygon"

    def __init__(
        self, spec: PolygonLayer, codes: np.ndarray, geoms: np.ndarray, projector: Projector
    ) -> None:
        self.name = spec.name
        self.tiling = bool(spec.tiling)
        self.kind_id = kern.KIND_TILING if self.tiling else kern.KIND_MULTI
        self.codes = _readonly(codes)
        self.geoms = _readonly(geoms)
        self._projector = projector
        self._lock = threading.Lock()
        self._metric_tree: shapely.STRtree | None = None
        order, self.rank = _code_order(self.codes)
        self.rank = _readonly(self.rank)

        ranked = self.geoms[order]
        parts, part_owner = shapely.get_parts(ranked, return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
        n_ring = len(rings)
        ring_ptr = np.zeros(n_ring + 1, dtype=np.int64)
        np.cumsum(np.bincount(ring_of_vertex, minlength=n_ring), out=ring_ptr[1:])
        ring_owner = part_owner[ring_part]
        poly_ring_ptr = np.zeros(len(ranked) + 1, dtype=np.int64)
        np.cumsum(np.bincount(ring_owner, minlength=len(ranked)), out=poly_ring_ptr[1:])
        xs = np.ascontiguousarray(coords[:, 0])
        ys = np.ascontiguousarray(coords[:, 1])
        n_edges = max(len(xs) - n_ring, 1)
        if xs.size:
            bx0, bx1 = float(xs.min()), float(xs.max())
            by0, by1 = float(ys.min()), float(ys.max())
        else:  # an empty layer: one cell far from any point (nothing ever covered)
            bx0 = bx1 = by0 = by1 = 0.0
        w = max(bx1 - bx0, 1e-9)
        h = max(by1 - by0, 1e-9)
        if spec.cell_size_deg is not None:
            cs = float(spec.cell_size_deg)
            if not (math.isfinite(cs) and cs > 0):
                raise GeoError(
                    f"layer {spec.name!r}: cell_size_deg must be > 0", field="cell_size_deg"
                )
        else:
            target = min(max(CELLS_PER_EDGE * n_edges, 256.0), float(MAX_CELLS))
            cs = math.sqrt(w * h / target)
        cs = max(cs, 1e-7, max(w, h) * 1e-7)
        while math.ceil(w / cs + 2) * math.ceil(h / cs + 2) > MAX_CELLS:
            cs *= 1.25
        nx = math.ceil(w / cs) + 2
        ny = math.ceil(h / cs) + 2
        gx0 = bx0 - cs
        gy0 = by0 - cs
        union_ok = np.zeros(0, dtype=np.bool_)
        if self.tiling:
            ux1, uy1, ux2, uy2 = _unshared_edges(xs, ys, ring_ptr)
            union_ok = kern.union_interior_cells(ux1, uy1, ux2, uy2, gx0, gy0, cs, nx, ny)
        cell_val, cx, bedges = kern.build_polygon_grid(
            xs,
            ys,
            ring_ptr,
            poly_ring_ptr,
            order.astype(np.int32),
            gx0,
            gy0,
            cs,
            nx,
            ny,
            self.tiling,
            union_ok,
        )
        self.grid = (gx0, gy0, cs, nx, ny)
        fa = np.zeros(kern._PF_EDGES + bedges.shape[0])
        fa[:4] = (gx0, gy0, 1.0 / cs, cs)
        fa[kern._PF_EDGES :] = bedges
        self.fa = _readonly(fa)
        self.ia = _readonly(_pack([cell_val, cx], [nx, ny], kern._PI_HEADER))
        self.stats = {
            "cells": nx * ny,
            "direct_cells": int(np.count_nonzero(cell_val >= -1)),
            "complex_cells": int(np.count_nonzero(cell_val < -1)),
            "band_edges": int(bedges.shape[0] // kern.EDGE_STRIDE),
            "cell_size_deg": cs,
        }

    # ---- exact fallbacks (rare paths, GEOS)

    def _geos_covering(self, x: float, y: float) -> list[int]:
        """Ids (code order) covering the point per GEOS among the cell's candidates."""
        cands = kern.poly_cell_entries(self.fa, self.ia, x, y)
        if cands.size == 0:
            return []
        hit = shapely.covers(self.geoms[cands], shapely.Point(x, y))
        ids = [int(i) for i in cands[hit]]
        return ids[:1] if self.tiling else ids

    def _tree(self) -> tuple[shapely.STRtree, np.ndarray]:
        with self._lock:
            if self._metric_tree is None:
                tm = self._projector

                def proj(c: np.ndarray) -> np.ndarray:
                    x, y = tm.forward(c[:, 0], c[:, 1])
                    return np.column_stack([x, y])

                metric = shapely.transform(self.geoms, proj)
                self._metric_tree = shapely.STRtree(metric)
            return self._metric_tree, self.rank

    def _nearest(
        self, lon: np.ndarray, lat: np.ndarray, within_m: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest area within ``within_m`` metres: (ids, distances), -1/NaN where none."""
        ids = np.full(lon.shape[0], -1, dtype=np.int32)
        dist = np.full(lon.shape[0], np.nan)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any() or within_m < 0:
            return ids, dist
        sel = np.flatnonzero(ok)
        x, y = self._projector.forward(lon[sel], lat[sel])
        tree, rank = self._tree()
        (inp, idx), d = tree.query_nearest(
            shapely.points(x, y),
            max_distance=max(within_m, 1e-9) * (1 + 1e-9) + 1e-9,
            return_distance=True,
            all_matches=True,
        )
        keep = d <= within_m
        inp, idx, d = inp[keep], idx[keep], d[keep]
        if inp.size:
            o = np.lexsort((rank[idx], d, inp))
            inp, idx, d = inp[o], idx[o], d[o]
            first = np.ones(inp.size, dtype=bool)
            first[1:] = inp[1:] != inp[:-1]
            ids[sel[inp[first]]] = idx[first]
            dist[sel[inp[first]]] = d[first]
        return ids, dist

    # ---- queries

    def covering(self, lon: float, lat: float) -> list[str]:
        """Codes of the areas covering one point per the layer's rule.

        Parameters
        ----------
        lon, lat : float
            Degrees (EPSG:4326).

        Returns
        -------
        list of str
            At most one code for a tiling layer (the smallest covering code),
            every covering code in code order otherwise.
        """
        x, y = _check_point(lon, lat)
        return [self.codes[i] for i in self._ids_one(x, y)]

    def _ids_one(self, x: float, y: float) -> list[int]:
        if self.tiling:
            r = kern.poly_tiling_point(self.fa, self.ia, x, y)
            if r == kern.UNCERTAIN:
                return self._geos_covering(x, y)
            return [] if r < 0 else [r]
        ids, unsure = kern.poly_multi_point(self.fa, self.ia, x, y)
        if unsure:
            return self._geos_covering(x, y)
        return ids.tolist()

    def snap_one(self, lon: float, lat: float, nearest_within_m: float | None = None) -> Hit:
        """Snap one point to this layer (see :meth:`SnapIndex.snap`).

        Returns
        -------
        AreaHit or AreasHit
        """
        x, y = _check_point(lon, lat)
        return self._hit(self._ids_one(x, y), x, y, nearest_within_m)

    def _hit(self, ids: list[int], lon: float, lat: float, nearest_within_m: float | None) -> Hit:
        dist = 0.0
        nearest = False
        if not ids and nearest_within_m is not None:
            nid, nd = self._nearest(np.array([lon]), np.array([lat]), float(nearest_within_m))
            if nid[0] >= 0:
                ids = [int(nid[0])]
                dist = float(nd[0])
                nearest = True
        if not ids:
            dist = math.nan
        if self.tiling:
            i = ids[0] if ids else -1
            return AreaHit(self.codes[i] if ids else None, i, dist, nearest)
        return AreasHit(tuple(self.codes[i] for i in ids), tuple(ids), dist, nearest)

    def snap_many(
        self, lon: np.ndarray, lat: np.ndarray, nearest_within_m: float | None = None
    ) -> AreaArrays | AreaSetArrays:
        """Snap arrays of points (see :meth:`SnapIndex.snap_many`); coordinates must be checked."""
        n = lon.shape[0]
        if self.tiling:
            ids = np.empty(n, dtype=np.int32)
            n_unsure = kern.poly_tiling_many(self.fa, self.ia, lon, lat, ids)
            if n_unsure:
                for k in kern.indices_equal(ids, kern.UNCERTAIN, n_unsure).tolist():
                    got = self._geos_covering(float(lon[k]), float(lat[k]))
                    ids[k] = got[0] if got else -1
            dist = np.zeros(n)
            snapped = np.zeros(n, dtype=bool)
            miss = np.flatnonzero(ids < 0)
            dist[miss] = np.nan
            if nearest_within_m is not None and miss.size:
                nid, nd = self._nearest(lon[miss], lat[miss], float(nearest_within_m))
                got = nid >= 0
                ids[miss[got]] = nid[got]
                dist[miss[got]] = nd[got]
                snapped[miss[got]] = True
            return AreaArrays(ids, dist, snapped, self.codes)
        offsets = np.empty(n + 1, dtype=np.int64)
        ids, unsure = kern.poly_multi_many(self.fa, self.ia, lon, lat, offsets)
        snapped = np.zeros(n, dtype=bool)
        fix: dict[int, list[int]] = {}
        for k in unsure.tolist():
            fix[k] = self._geos_covering(float(lon[k]), float(lat[k]))
        if nearest_within_m is not None:
            counts = np.diff(offsets)
            miss = np.flatnonzero(counts == 0)
            miss = miss[~np.isin(miss, unsure)] if unsure.size else miss
            extra = [k for k, v in fix.items() if not v]
            if extra:
                miss = np.union1d(miss, np.array(extra, dtype=np.int64))
            if miss.size:
                nid, _nd = self._nearest(lon[miss], lat[miss], float(nearest_within_m))
                for k, i in zip(miss.tolist(), nid.tolist(), strict=True):
                    if i >= 0:
                        fix[k] = [i]
                        snapped[k] = True
        if fix:
            offsets, ids = _patch_csr(offsets, ids, fix)
        return AreaSetArrays(offsets, ids, snapped, self.codes)


def _unshared_edges(
    xs: np.ndarray, ys: np.ndarray, ring_ptr: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Edges that appear an odd number of times in the layer (either direction).

    In a true tiling these are the outer boundary of the union (and its holes):
    shared edges between neighbours appear twice and cancel.
    """
    k = np.arange(xs.shape[0] - 1)
    last = np.zeros(xs.shape[0], dtype=bool)
    last[ring_ptr[1:] - 1] = True
    k = k[~last[:-1]]
    x1, y1, x2, y2 = xs[k] + 0.0, ys[k] + 0.0, xs[k + 1] + 0.0, ys[k + 1] + 0.0
    swap = (x2 < x1) | ((x2 == x1) & (y2 < y1))
    a = np.column_stack([np.where(swap, x2, x1), np.where(swap, y2, y1)])
    b = np.column_stack([np.where(swap, x1, x2), np.where(swap, y1, y2)])
    rows = np.ascontiguousarray(np.column_stack([a, b]))
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * 4))).ravel()
    _u, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    odd = (counts[inverse] % 2) == 1
    sel = np.flatnonzero(odd)
    # keep one copy of each odd edge class
    _u2, first = np.unique(inverse[sel], return_index=True)
    sel = sel[first]
    r = rows[sel]
    return (
        np.ascontiguousarray(r[:, 0]),
        np.ascontiguousarray(r[:, 1]),
        np.ascontiguousarray(r[:, 2]),
        np.ascontiguousarray(r[:, 3]),
    )


def _patch_csr(
    offsets: np.ndarray, ids: np.ndarray, fix: dict[int, list[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the rows ``fix`` of a CSR (offsets, ids)."""
    counts = np.diff(offsets)
    rows = np.array(sorted(fix), dtype=np.int64)
    new_counts = counts.copy()
    new_counts[rows] = [len(fix[k]) for k in rows.tolist()]
    new_off = np.zeros_like(offsets)
    np.cumsum(new_counts, out=new_off[1:])
    out = np.empty(int(new_off[-1]), dtype=ids.dtype)
    keep = np.ones(counts.shape[0], dtype=bool)
    keep[rows] = False
    src_rows = np.repeat(keep, counts)
    dst_rows = np.repeat(keep, new_counts)
    out[dst_rows] = ids[src_rows]
    for k in rows.tolist():
        out[new_off[k] : new_off[k + 1]] = fix[k]
    return new_off, out


class LineLayerIndex(_LayerIndex):
    """A compiled line layer (road sections). Built by :meth:`SnapIndex.build`."""

    kind = "line"
    kind_id = kern.KIND_LINE

    def __init__(
        self,
        spec: LineLayer,
        codes: np.ndarray,
        geoms: np.ndarray,
        projector: Projector,
        dpm: tuple[float, float],
    ) -> None:
        self.name = spec.name
        self.tolerance_m = float(spec.tolerance_m)
        if not (math.isfinite(self.tolerance_m) and self.tolerance_m >= 0):
            raise GeoError(f"layer {spec.name!r}: tolerance_m must be ≥ 0", field="tolerance_m")
        self.codes = _readonly(codes)
        self.geoms = _readonly(geoms)
        _order, rank = _code_order(self.codes)
        self.rank = _readonly(rank)
        tm = projector.tm_params
        parts, owner = shapely.get_parts(self.geoms, return_index=True)
        coords, part_of_vertex = shapely.get_coordinates(parts, return_index=True)
        lon = np.ascontiguousarray(coords[:, 0])
        lat = np.ascontiguousarray(coords[:, 1])
        x, y = projector.forward(lon, lat)
        same_part = part_of_vertex[1:] == part_of_vertex[:-1]
        a = np.flatnonzero(same_part)  # segment a → a + 1
        seg_sec = owner[part_of_vertex[a]].astype(np.int32)
        sx1, sy1, sx2, sy2 = x[a], y[a], x[a + 1], y[a + 1]
        seglen = np.sqrt((sx2 - sx1) ** 2 + (sy2 - sy1) ** 2)
        # length of the section before each segment (through the parts in order)
        cum = kern.section_start_lengths(seglen, seg_sec)
        lengths = np.bincount(seg_sec, weights=seglen, minlength=len(self.codes))
        zero = np.flatnonzero(lengths <= 0)
        if zero.size:
            i = int(zero[0])
            raise GeometryError(
                f"layer {spec.name!r}: road section of zero length", row=i, feature=self.codes[i]
            )
        self.lengths_m = _readonly(lengths)
        nseg = a.shape[0]
        dlon, dlat = dpm
        L = np.hypot(lon[a + 1] - lon[a], lat[a + 1] - lat[a])
        reach = self.tolerance_m + GRID_MARGIN_M + CURVATURE_M_PER_DEG2 * L * L
        ext = (lon.min(), lat.min(), lon.max(), lat.max()) if nseg else (0.0, 0.0, 0.0, 0.0)
        bbox = (
            float(ext[0]) - (self.tolerance_m + 10) * dlon,
            float(ext[1]) - (self.tolerance_m + 10) * dlat,
            float(ext[2]) + (self.tolerance_m + 10) * dlon,
            float(ext[3]) + (self.tolerance_m + 10) * dlat,
        )
        cell_m = spec.cell_size_m or max(2.0 * self.tolerance_m, 20.0)
        gx0, gy0, cs, nx, ny = _buffer_grid_spec(bbox, cell_m * dlat)
        cell_ptr, items = kern.build_buffer_grid(
            lon[a],
            lat[a],
            lon[a + 1],
            lat[a + 1],
            np.arange(nseg, dtype=np.int32),
            np.ascontiguousarray(reach * dlon),
            np.ascontiguousarray(reach * dlat),
            gx0,
            gy0,
            cs,
            nx,
            ny,
        )
        self.grid = (gx0, gy0, cs, nx, ny)
        fa = np.zeros(kern._LF_SEG + nseg * kern.SEG_STRIDE)
        fa[:4] = (gx0, gy0, 1.0 / cs, self.tolerance_m)
        fa[kern._LF_TM : kern._LF_TM + tm.shape[0]] = tm
        seg = fa[kern._LF_SEG :].reshape(nseg, kern.SEG_STRIDE)
        seg[:, 0], seg[:, 1], seg[:, 2], seg[:, 3] = sx1, sy1, sx2, sy2
        seg[:, 4] = cum
        seg[:, 5] = seglen
        self.fa = _readonly(fa)
        self.ia = _readonly(_pack([cell_ptr, items, seg_sec, rank], [nx, ny], 16))
        self.stats = {"cells": nx * ny, "segments": nseg, "entries": int(items.shape[0])}

    def snap_one(self, lon: float, lat: float) -> RoadHit:
        """Nearest section within tolerance of one point (see :meth:`SnapIndex.snap`)."""
        lon, lat = _check_point(lon, lat)
        i, d, p = kern.line_point(self.fa, self.ia, lon, lat)
        return RoadHit(self.codes[i] if i >= 0 else None, int(i), d, p)

    def snap_many(self, lon: np.ndarray, lat: np.ndarray) -> RoadArrays:
        """Bulk nearest sections; coordinates must be checked."""
        n = lon.shape[0]
        ids = np.empty(n, dtype=np.int32)
        d = np.empty(n)
        p = np.empty(n)
        kern.line_many(self.fa, self.ia, lon, lat, ids, d, p)
        return RoadArrays(ids, d, p, self.codes)


class ZoneLayerIndex(_LayerIndex):
    """A compiled zone layer (key sites with radii). Built by :meth:`SnapIndex.build`."""

    kind = "zone"
    kind_id = kern.KIND_ZONE

    def __init__(
        self,
        spec: ZoneLayer,
        codes: np.ndarray,
        geoms: np.ndarray,
        projector: Projector,
        dpm: tuple[float, float],
    ) -> None:
        self.name = spec.name
        self.codes = _readonly(codes)
        self.geoms = _readonly(geoms)
        n = len(self.codes)
        radius = np.broadcast_to(np.asarray(spec.radius_m, dtype=np.float64), (n,)).copy()
        bad = np.flatnonzero(~(np.isfinite(radius) & (radius >= 0)))
        if bad.size:
            i = int(bad[0])
            raise GeoError(
                f"layer {spec.name!r}: radius must be a finite number ≥ 0",
                row=i,
                feature=self.codes[i],
                field="radius_m",
            )
        self.radius_m = _readonly(radius)
        _order, rank = _code_order(self.codes)
        self.rank = _readonly(rank)
        tm = projector.tm_params
        kind = (shapely.get_type_id(self.geoms) != 0).astype(np.float64)
        # polygon sites: every ring edge, metric, grouped by site
        poly_idx = np.flatnonzero(kind == 1.0)
        parts, part_owner = shapely.get_parts(self.geoms[poly_idx], return_index=True)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
        rx, ry = projector.forward(coords[:, 0], coords[:, 1])
        e = np.flatnonzero(ring_of_vertex[1:] == ring_of_vertex[:-1])  # edge e → e + 1
        edge_site = poly_idx[part_owner[ring_part[ring_of_vertex[e]]]]
        order_e = np.argsort(edge_site, kind="stable")
        e = e[order_e]
        edge_site = edge_site[order_e]
        edge_lo = np.searchsorted(edge_site, np.arange(n), side="left").astype(np.int32)
        edge_hi = np.searchsorted(edge_site, np.arange(n), side="right").astype(np.int32)
        # point sites: metric coordinates; every site: lon/lat footprint
        b = shapely.bounds(self.geoms)
        is_pt = kind == 0.0
        pts_x, pts_y = projector.forward(b[:, 0], b[:, 1])
        dlon, dlat = dpm
        L = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
        reach = radius + GRID_MARGIN_M + CURVATURE_M_PER_DEG2 * L * L
        cy = (b[:, 1] + b[:, 3]) / 2
        rmax = float(radius.max()) + 10 if n else 10.0
        ext = (b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()) if n else (0.0,) * 4
        bbox = (
            float(ext[0]) - rmax * dlon,
            float(ext[1]) - rmax * dlat,
            float(ext[2]) + rmax * dlon,
            float(ext[3]) + rmax * dlat,
        )
        cell_m = spec.cell_size_m or max(float(np.median(radius)) / 2 if n else 0.0, 20.0)
        gx0, gy0, cs, nx, ny = _buffer_grid_spec(bbox, cell_m * dlat)
        cell_ptr, items = kern.build_buffer_grid(
            np.ascontiguousarray(b[:, 0]),
            np.ascontiguousarray(cy),
            np.ascontiguousarray(b[:, 2]),
            np.ascontiguousarray(cy),
            np.arange(n, dtype=np.int32),
            np.ascontiguousarray(reach * dlon),
            np.ascontiguousarray(reach * dlat + (b[:, 3] - b[:, 1]) / 2),
            gx0,
            gy0,
            cs,
            nx,
            ny,
        )
        self.grid = (gx0, gy0, cs, nx, ny)
        edge_base = kern._ZF_SITE + n * kern.SITE_STRIDE
        fa = np.zeros(edge_base + 4 * e.shape[0])
        fa[:3] = (gx0, gy0, 1.0 / cs)
        fa[kern._ZF_TM : kern._ZF_TM + tm.shape[0]] = tm
        site = fa[kern._ZF_SITE : edge_base].reshape(n, kern.SITE_STRIDE)
        site[:, 0] = kind
        site[:, 1] = radius
        site[:, 2] = np.where(is_pt, pts_x, 0.0)
        site[:, 3] = np.where(is_pt, pts_y, 0.0)
        ed = fa[edge_base:].reshape(-1, 4)
        if e.shape[0]:
            ed[:, 0], ed[:, 1], ed[:, 2], ed[:, 3] = rx[e], ry[e], rx[e + 1], ry[e + 1]
        self.fa = _readonly(fa)
        self.ia = _readonly(_pack([cell_ptr, items, edge_lo, edge_hi, rank], [nx, ny], 16))
        ia = self.ia.copy()
        ia[kern._ZI_EDGEBASE] = edge_base
        self.ia = _readonly(ia)
        self.stats = {"cells": nx * ny, "sites": n, "entries": int(items.shape[0])}

    def snap_one(self, lon: float, lat: float) -> ZonesHit:
        """Zones containing one point, nearest first (see :meth:`SnapIndex.snap`)."""
        lon, lat = _check_point(lon, lat)
        ids, ds = kern.zone_point(self.fa, self.ia, lon, lat)
        il = ids.tolist()
        return ZonesHit(
            tuple((self.codes[i], d) for i, d in zip(il, ds.tolist(), strict=True)), tuple(il)
        )

    def snap_many(self, lon: np.ndarray, lat: np.ndarray) -> ZoneArrays:
        """Bulk zones as CSR; coordinates must be checked."""
        offsets = np.empty(lon.shape[0] + 1, dtype=np.int64)
        ids, ds = kern.zone_many(self.fa, self.ia, lon, lat, offsets)
        return ZoneArrays(offsets, ids, ds, self.codes)


AnyLayerIndex = PolygonLayerIndex | LineLayerIndex | ZoneLayerIndex
_TILING, _MULTI, _LINE = kern.KIND_TILING, kern.KIND_MULTI, kern.KIND_LINE
_UNCERTAIN = kern.UNCERTAIN
_NO_ZONES = ZonesHit((), ())


# --------------------------------------------------------------------------- the index


class SnapIndex:
    """Immutable, thread-safe index snapping lon/lat points to every layer.

    Build with :meth:`build`; query with :meth:`snap` (one point),
    :meth:`snap_many` (arrays) or ``index.layer(name).covering(lon, lat)``.

    Attributes
    ----------
    epsg : int
        Metric CRS used for every distance (CGCS2000 Gauss-Krüger zone).
    names : tuple of str
        Layer names in build order.
    build_seconds : float
        Wall time of :meth:`build`.
    """

    def __init__(self, layers: Sequence[AnyLayerIndex], projector: Projector, seconds: float):
        self._layers: dict[str, AnyLayerIndex] = {lay.name: lay for lay in layers}
        self._projector = projector
        self.epsg = projector.epsg
        self.names = tuple(self._layers)
        self.build_seconds = seconds
        # one float and one int array for all layers (the layers keep views into them),
        # so a full single-point snap is one kernel call; the int array starts with a
        # directory of the layers (see snap_kernels.snap_point_layers)
        if len(layers) > 62:
            raise GeoError("a snap index holds at most 62 layers")
        head = 1 + 5 * len(layers)
        directory = np.zeros(head, dtype=np.int64)
        directory[0] = len(layers)
        fpos, ipos = 0, head
        for k, lay in enumerate(layers):
            directory[1 + 5 * k : 6 + 5 * k] = (
                lay.kind_id,
                fpos,
                fpos + lay.fa.size,
                ipos,
                ipos + lay.ia.size,
            )
            fpos += lay.fa.size
            ipos += lay.ia.size
        if ipos >= 2**31:
            raise GeoError("snap index too large (more than 2^31 entries)")
        all_fa = np.concatenate([np.zeros(0), *(lay.fa for lay in layers)])
        all_ia = np.concatenate([directory.astype(np.int32), *(lay.ia for lay in layers)])
        self._fa = _readonly(all_fa)
        self._ia = _readonly(all_ia)
        for k, lay in enumerate(layers):
            d = directory[1 + 5 * k : 6 + 5 * k]
            lay.fa = self._fa[d[1] : d[2]]
            lay.ia = self._ia[d[3] : d[4]]
        self._local = threading.local()
        self._selections: dict[Any, tuple[list[AnyLayerIndex], int]] = {}

    @classmethod
    def build(cls, layers: Sequence[LayerSpec], *, epsg: int | None = None) -> SnapIndex:
        """Validate the layers and build the index.

        Parameters
        ----------
        layers : sequence of PolygonLayer, LineLayer, ZoneLayer
            Geometries in lon/lat degrees (EPSG:4326); names must be unique.
        epsg : int, optional
            Metric CRS for distances (a transverse Mercator, e.g. 4547). By default
            the CGCS2000 3-degree Gauss-Krüger zone of the median vertex longitude.

        Returns
        -------
        SnapIndex

        Raises
        ------
        GeometryError
            Empty, invalid or wrongly typed geometry (names the layer and feature code).
        DuplicateCodeError
            Two features of a layer share a code.
        GeoError
            Other bad specs (mismatched lengths, negative tolerance/radius, …).
        """
        t0 = time.perf_counter()
        names = [lay.name for lay in layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise GeoError(f"duplicate layer name {sorted(dup)[0]!r}", field="name")
        allowed = {PolygonLayer: (3, 6), LineLayer: (1, 5), ZoneLayer: (0, 3, 6)}
        checked: list[tuple[LayerSpec, np.ndarray, np.ndarray]] = []
        for lay in layers:
            if type(lay) not in allowed:
                raise TypeError(f"not a layer spec: {lay!r}")
            codes = _check_codes(lay.name, lay.codes, len(lay.geoms))
            geoms = _check_geoms(lay.name, codes, lay.geoms, allowed[type(lay)])
            checked.append((lay, codes, geoms))
        if epsg is None:
            lons = [shapely.get_coordinates(g)[::97, 0] for _lay, _c, g in checked]
            lon_all = np.concatenate(lons) if lons else np.zeros(0)
            epsg = metric_epsg_for(lon_all if lon_all.size else 114.0)
        projector = Projector(int(epsg))
        buffered = [(lay, g) for lay, _c, g in checked if not isinstance(lay, PolygonLayer)]
        if projector.tm_params is None and buffered:
            raise GeoError(
                f"metric CRS EPSG:{epsg} is not a transverse Mercator the snap index can compute"
            )
        dpm = (0.0, 0.0)
        if buffered:
            tb = np.array([shapely.total_bounds(g) for _lay, g in buffered if len(g)])
            if not len(tb):
                tb = np.array([[114.0, 34.0, 114.0, 34.0]])
            reach = max(
                [float(lay.tolerance_m) for lay, _g in buffered if isinstance(lay, LineLayer)]
                + [
                    float(np.max(lay.radius_m))
                    for lay, g in buffered
                    if isinstance(lay, ZoneLayer) and len(g)
                ]
                + [0.0]
            )
            pad = 0.2 + 2.0 * reach / 100_000.0  # degrees: the sampled box holds every buffer
            box = (
                float(tb[:, 0].min()) - pad,
                float(max(tb[:, 1].min() - pad, -85.0)),
                float(tb[:, 2].max()) + pad,
                float(min(tb[:, 3].max() + pad, 85.0)),
            )
            dpm = _deg_per_metre(projector.tm_params, box)
        built: list[AnyLayerIndex] = []
        for lay, codes, geoms in checked:
            if isinstance(lay, PolygonLayer):
                built.append(PolygonLayerIndex(lay, codes, geoms, projector))
            elif isinstance(lay, LineLayer):
                built.append(LineLayerIndex(lay, codes, geoms, projector, dpm))
            else:
                built.append(ZoneLayerIndex(lay, codes, geoms, projector, dpm))
        return cls(built, projector, time.perf_counter() - t0)

    # ---- access

    def layer(self, name: str) -> AnyLayerIndex:
        """The compiled layer ``name`` (:class:`PolygonLayerIndex` has ``covering``)."""
        try:
            return self._layers[name]
        except KeyError:
            raise KeyError(f"no layer {name!r}; layers are {list(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._layers

    @property
    def nbytes(self) -> int:
        """Bytes held by all layers' packed arrays."""
        return sum(lay.nbytes for lay in self._layers.values())

    def __repr__(self) -> str:
        return f"<SnapIndex EPSG:{self.epsg} layers={list(self.names)} {self.nbytes} bytes>"

    def _select(self, layers: Sequence[str] | str | None) -> list[AnyLayerIndex]:
        if layers is None:
            return list(self._layers.values())
        if isinstance(layers, str):
            layers = [layers]
        return [self.layer(n) for n in layers]

    def _selection(self, layers: Sequence[str] | str | None) -> tuple[list, int]:
        """Layers in kernel order (the index's) and their bit mask; cached per argument."""
        try:
            got = self._selections.get(layers)  # type: ignore[arg-type]
        except TypeError:  # a list: not hashable
            got = None
        if got is None:
            key = layers if layers is None or isinstance(layers, str) else tuple(layers)
            wanted = {lay.name for lay in self._select(layers)}
            lays = [lay for lay in self._layers.values() if lay.name in wanted]
            mask = sum(1 << k for k, n in enumerate(self.names) if n in wanted)
            got = (lays, mask)
            if len(self._selections) < 64:
                self._selections[key] = got
                if not isinstance(layers, list):
                    self._selections[layers] = got  # type: ignore[index]
        return got

    @staticmethod
    def _within(nearest_within_m: float | Mapping[str, float] | None, name: str) -> float | None:
        if nearest_within_m is None or isinstance(nearest_within_m, int | float):
            return nearest_within_m
        return nearest_within_m.get(name)

    # ---- queries

    def snap(
        self,
        lon: float,
        lat: float,
        *,
        layers: Sequence[str] | str | None = None,
        nearest_within_m: float | Mapping[str, float] | None = None,
    ) -> SnapResult:
        """Snap one point to every (or the selected) layer.

        Parameters
        ----------
        lon, lat : float
            Degrees (EPSG:4326), x then y.
        layers : str or sequence of str, optional
            Layer names; all layers by default.
        nearest_within_m : float or mapping, optional
            For polygon layers: assign a point outside every area to the nearest
            area within this many metres (metric CRS), flagged ``snapped_nearest``.
            A mapping gives it per layer name.

        Returns
        -------
        SnapResult
            Mapping layer name → :class:`AreaHit` / :class:`AreasHit` /
            :class:`RoadHit` / :class:`ZonesHit`, in the index's layer order.

        Raises
        ------
        CoordinateError
            ``lon`` or ``lat`` is NaN or infinite.
        """
        x = float(lon)
        y = float(lat)
        if not (math.isfinite(x) and math.isfinite(y)):
            _check_point(x, y)
        lays, mask = self._selection(layers)
        if len(lays) == 1 and lays[0].kind_id == _TILING:  # one tiling layer: leaner call
            lay = lays[0]
            m = kern.poly_tiling_point(lay.fa, lay.ia, x, y)
            if m >= 0:
                return SnapResult(x, y, {lay.name: AreaHit(lay.codes[m], m, 0.0, False)})
            ids = lay._geos_covering(x, y) if m == _UNCERTAIN else []
            within = self._within(nearest_within_m, lay.name)
            return SnapResult(x, y, {lay.name: lay._hit(ids, x, y, within)})
        buf = getattr(self._local, "buf", None)
        if buf is None:
            buf = self._local.buf = np.empty(256)
        n = kern.snap_point_layers(self._fa, self._ia, mask, x, y, buf)
        if n < 0:
            buf = self._local.buf = np.empty(2 * -n)
            n = kern.snap_point_layers(self._fa, self._ia, mask, x, y, buf)
        vals = buf[:n].tolist()
        hits: dict[str, Hit] = {}
        i = 0
        for lay in lays:
            kind = lay.kind_id
            if kind == _TILING:
                m = int(vals[i])
                i += 1
                if m >= 0:  # the common case: covered, no fallback, no option
                    hits[lay.name] = AreaHit(lay.codes[m], m, 0.0, False)
                    continue
                ids = lay._geos_covering(x, y) if m == _UNCERTAIN else []
                within = self._within(nearest_within_m, lay.name)
                hits[lay.name] = lay._hit(ids, x, y, within)
            elif kind == _MULTI:
                m = int(vals[i])
                if m == _UNCERTAIN:
                    ids = lay._geos_covering(x, y)
                    i += 1
                else:
                    ids = [int(v) for v in vals[i + 1 : i + 1 + m]]
                    i += 1 + m
                within = self._within(nearest_within_m, lay.name)
                hits[lay.name] = lay._hit(ids, x, y, within)
            elif kind == _LINE:
                r = int(vals[i])
                hits[lay.name] = RoadHit(
                    lay.codes[r] if r >= 0 else None, r, vals[i + 1], vals[i + 2]
                )
                i += 3
            else:
                m = int(vals[i])
                if m == 0:
                    hits[lay.name] = _NO_ZONES
                    i += 1
                    continue
                pairs = vals[i + 1 : i + 1 + 2 * m]
                ids_z = [int(v) for v in pairs[0::2]]
                codes = lay.codes
                hits[lay.name] = ZonesHit(
                    tuple(zip([codes[j] for j in ids_z], pairs[1::2], strict=True)), tuple(ids_z)
                )
                i += 1 + 2 * m
        return SnapResult(x, y, hits)

    def snap_many(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        *,
        layers: Sequence[str] | str | None = None,
        nearest_within_m: float | Mapping[str, float] | None = None,
        on_invalid: OnInvalid = "raise",
    ) -> dict[str, LayerArrays]:
        """Snap arrays of points to every (or the selected) layer.

        Parameters
        ----------
        lon, lat : array-like of float
            Degrees (EPSG:4326), same length.
        layers : str or sequence of str, optional
            Layer names; all layers by default.
        nearest_within_m : float or mapping, optional
            See :meth:`snap`.
        on_invalid : {"raise", "skip"}
            NaN/infinite coordinates raise :class:`CoordinateError` naming the
            first bad row, or ("skip") get no result (-1, NaN, no zones).

        Returns
        -------
        dict
            Layer name → :class:`AreaArrays` (tiling polygon layer),
            :class:`AreaSetArrays` (multi-valued polygon layer),
            :class:`RoadArrays` or :class:`ZoneArrays`. Ids index each layer's
            input order; -1 means none.
        """
        x, y = _as_points(lon, lat)
        if on_invalid not in ("raise", "skip"):
            raise ValueError("on_invalid must be 'raise' or 'skip'")
        if on_invalid == "raise":
            k = kern.first_invalid(x, y)
            if k >= 0:
                bad_field = "lon" if not math.isfinite(x[k]) else "lat"
                n_bad = kern.count_invalid(x, y)
                raise CoordinateError(
                    f"{bad_field} is not a finite number ({[x[k], y[k]][bad_field == 'lat']})"
                    + (f"; {n_bad} rows are invalid" if n_bad > 1 else ""),
                    row=k,
                    field=bad_field,
                    hint="pass on_invalid='skip' to get no result for such rows",
                )
        out: dict[str, LayerArrays] = {}
        for lay in self._select(layers):
            if isinstance(lay, PolygonLayerIndex):
                out[lay.name] = lay.snap_many(x, y, self._within(nearest_within_m, lay.name))
            else:
                out[lay.name] = lay.snap_many(x, y)
        return out


def warm_up() -> float:
    """Compile (or load from numba's on-disk cache) every snapping kernel.

    Builds a tiny index with one layer of each kind near 112.94 E, 33.05 N and
    snaps through the single-point and bulk paths, so a later process finds all
    kernels in the cache. ``make demo`` runs it in the background while it loads
    the demo county.

    Returns
    -------
    float
        Seconds spent (compilation on a cold cache, about 1 s on a warm one).
    """
    t0 = time.perf_counter()
    x0, y0, d = 112.94, 33.05, 0.01
    squares = [
        shapely.box(x0, y0, x0 + d, y0 + d),
        shapely.box(x0 + d, y0, x0 + 2 * d, y0 + d),
    ]
    road = shapely.LineString([(x0, y0 + d / 2), (x0 + 2 * d, y0 + d / 2)])
    site = shapely.Point(x0 + d, y0 + d / 2)
    index = SnapIndex.build(
        [
            PolygonLayer("area", ["A1", "A2"], squares),
            PolygonLayer("multi", ["M1", "M2"], squares, tiling=False),
            LineLayer("road", ["R1"], [road]),
            ZoneLayer("zone", ["Z1"], [site]),
        ]
    )
    lon = np.array([x0 + d / 3, x0 + 1.5 * d, x0 + 3 * d])
    lat = np.array([y0 + d / 3, y0 + d / 2, y0 + 3 * d])
    index.snap_many(lon, lat)
    index.snap_many(lon, lat, nearest_within_m=5000.0)
    for i in range(len(lon)):
        index.snap(float(lon[i]), float(lat[i]), nearest_within_m=5000.0)
    return time.perf_counter() - t0

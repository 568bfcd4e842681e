"""Vectorized H3 binning: a million issue locations into hexagons in a fraction of a second.

h3-py 4.x has no vectorized ``latlng_to_cell`` (``h3.api.numpy_int`` takes
scalars too; a Python loop costs ≈ 1.5 µs a point). :func:`lonlat_to_cells`
reproduces, in numpy, the two steps of H3's own ``latLngToCell`` that decide
which cell a point falls in, and calls h3 only once per distinct cell:

1. **Face**: the icosahedron face whose centre is closest to the point
   (H3 ``_geoToClosestFace``: largest dot product of unit vectors).
2. **Hex lattice position**: the gnomonic projection of the point on that
   face's tangent plane, expressed in the face's hexagonal lattice at the
   resolution and rounded to the nearest lattice point (H3 ``_geoToHex2d`` +
   ``_hex2dToCoordIJK``: the hexagons of a regular lattice are the Voronoi
   cells of its points). The lattice origin is the face centre; its spacing is
   ``RES0_U_GNOMONIC / √7^res``; its orientation (one for Class II even
   resolutions, one rotated by the aperture-7 angle for Class III odd ones) is
   read off h3's own cell centres at resolutions 2 and 1, so no H3 constant
   other than the spacing is transcribed.

H3's cell index is a deterministic function of (face, lattice position,
resolution). So the points are grouped by that key with one ``np.unique``, and
``h3.latlng_to_cell`` is called for **one representative point per group** —
which makes the result exactly h3's, overage across face edges and pentagons
included (points within ~1e-9 of a hexagon edge may round either way, as they
may in h3 itself). The tests compare against the scalar h3 on random points.

The face centres come from h3 too: the 20 resolution-0 cells lying on one face
only and centred at the face's icosahedron centroid.

Everything here takes WGS84 lon/lat (civgrid order); h3 takes lat first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import repeat

import h3
import numpy as np
from h3.api import basic_int as h3_int
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "HexAggregate",
    "aggregate",
    "cell_index",
    "cell_polygons",
    "lonlat_to_cells",
    "resolution_for_zoom",
]

#: H3's RES0_U_GNOMONIC: hex spacing at resolution 0 on the gnomonic plane (tan of the angle).
RES0_U_GNOMONIC = 0.38196601125010500003
_SQRT7 = math.sqrt(7.0)
_CHUNK = 1 << 17
_LATTICE_BITS = 24  # |lattice coordinate| < 2**23 for every resolution ≤ 15


def _unit_vectors(lat_deg: NDArray[np.float64], lng_deg: NDArray[np.float64]) -> NDArray:
    lat = np.radians(lat_deg)
    lng = np.radians(lng_deg)
    cl = np.cos(lat)
    return np.column_stack([cl * np.cos(lng), cl * np.sin(lng), np.sin(lat)])


@dataclass(frozen=True)
class _Face:
    center: NDArray[np.float64]  # unit vector
    e1: NDArray[np.float64]  # tangent-plane basis
    e2: NDArray[np.float64]
    # per class (0 = Class II, even res; 1 = Class III, odd): unit lattice directions u, v (60°)
    dirs: tuple[NDArray[np.float64], NDArray[np.float64]] = field(repr=False)


def _plane(face_center: NDArray, e1: NDArray, e2: NDArray, vecs: NDArray) -> NDArray:
    d = vecs @ face_center
    return np.column_stack([(vecs @ e1) / d, (vecs @ e2) / d])


@lru_cache(maxsize=1)
def _faces() -> tuple[NDArray[np.float64], tuple[_Face, ...]]:
    """The 20 face centres (unit vectors, 20×3) and per-face lattice geometry."""
    pents = [c for c in h3.get_res0_cells() if h3.is_pentagon(c)]
    pent_vecs = {c: _unit_vectors(*map(np.atleast_1d, h3.cell_to_latlng(c)))[0] for c in pents}
    centers = np.empty((20, 3))
    faces: list[_Face] = []
    for f in range(20):
        corners = [v for c, v in pent_vecs.items() if f in h3.get_icosahedron_faces(c)]
        centroid = np.sum(corners, axis=0)
        centroid /= np.linalg.norm(centroid)
        lat = math.degrees(math.asin(centroid[2]))
        lng = math.degrees(math.atan2(centroid[1], centroid[0]))
        cell0 = h3.latlng_to_cell(lat, lng, 0)
        if h3.get_icosahedron_faces(cell0) != [f]:  # pragma: no cover - H3 invariant
            raise RuntimeError(f"no face-centred base cell for face {f}")
        c = _unit_vectors(*map(np.atleast_1d, h3.cell_to_latlng(cell0)))[0]
        centers[f] = c
        axis = np.array([0.0, 0.0, 1.0]) if abs(c[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        e1 = np.cross(axis, c)
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(c, e1)
        dirs = []
        for res in (2, 1):  # Class II, Class III
            center_cell = h3.latlng_to_cell(lat, lng, res)
            ring = list(h3.grid_ring(center_cell, 1))
            ll = np.array([h3.cell_to_latlng(x) for x in ring])
            origin = _plane(
                c, e1, e2, _unit_vectors(*map(np.atleast_1d, h3.cell_to_latlng(center_cell)))
            )[0]
            pts = _plane(c, e1, e2, _unit_vectors(ll[:, 0], ll[:, 1])) - origin
            ang = np.arctan2(pts[:, 1], pts[:, 0])
            u_ang = ang[np.argmin(np.mod(ang, 2 * np.pi))]
            spacing = RES0_U_GNOMONIC / _SQRT7**res
            lens = np.hypot(pts[:, 0], pts[:, 1])
            if np.abs(origin).max() > 1e-12 or np.abs(lens / spacing - 1).max() > 1e-9:
                raise RuntimeError(
                    f"unexpected H3 lattice on face {f} res {res}"
                )  # pragma: no cover
            u = np.array([math.cos(u_ang), math.sin(u_ang)])
            v = np.array([math.cos(u_ang + math.pi / 3), math.sin(u_ang + math.pi / 3)])
            dirs.append(np.column_stack([u, v]))  # 2×2, columns u, v
        faces.append(_Face(c, e1, e2, (dirs[0], dirs[1])))
    return centers, tuple(faces)


def _xyz(lat_deg: NDArray, lng_deg: NDArray) -> tuple[NDArray, NDArray, NDArray]:
    """Unit vectors as three contiguous arrays (column arithmetic, no BLAS threads)."""
    lat = np.radians(lat_deg)
    lng = np.radians(lng_deg)
    cl = np.cos(lat)
    return cl * np.cos(lng), cl * np.sin(lng), np.sin(lat)


def _dot(x: NDArray, y: NDArray, z: NDArray, c: NDArray) -> NDArray:
    return x * c[0] + y * c[1] + z * c[2]


def _closest_face(x: NDArray, y: NDArray, z: NDArray) -> NDArray[np.int64]:
    """Index of the closest face centre per point (H3 ``_geoToClosestFace``).

    Faces are first pruned with a bounding cap of the points (centre ``q``,
    angular radius ``rho``): face *g* can be the closest for some point only
    if its best possible dot, cos(max(θ_g − ρ, 0)), reaches the guaranteed dot
    of the best face, max_f cos(θ_f + ρ). A county keeps one face, and then no
    dot product is computed at all.
    """
    centers, _ = _faces()
    q = np.array([x.sum(), y.sum(), z.sum()])
    norm = np.linalg.norm(q)
    if norm < 1e-9:  # points spread over the whole sphere
        candidates = np.arange(20)
    else:
        q /= norm
        rho = math.acos(float(np.clip(_dot(x, y, z, q).min(), -1.0, 1.0)))
        theta = np.arccos(np.clip(centers @ q, -1.0, 1.0))
        best_guaranteed = np.cos(np.minimum(theta + rho, np.pi)).max()
        reachable = np.cos(np.maximum(theta - rho, 0.0))
        candidates = np.flatnonzero(reachable >= best_guaranteed - 1e-12)
    if candidates.size == 1:
        return np.full(x.shape[0], int(candidates[0]), dtype=np.int64)
    best = np.full(x.shape[0], -np.inf)
    out = np.empty(x.shape[0], dtype=np.int64)
    for f in candidates:
        d = _dot(x, y, z, centers[f])
        better = d > best
        best = np.where(better, d, best)
        out[better] = f
    return out


def _plane_coords(face: _Face, x: NDArray, y: NDArray, z: NDArray) -> tuple[NDArray, NDArray]:
    """Gnomonic coordinates ``(P·e1, P·e2) / (P·c)`` of the points on ``face``'s tangent
    plane: the same at every resolution (only the lattice scales and turns)."""
    inv_d = 1.0 / _dot(x, y, z, face.center)
    return _dot(x, y, z, face.e1) * inv_d, _dot(x, y, z, face.e2) * inv_d


def _lattice(
    face: _Face, px: NDArray, py: NDArray, res: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Nearest lattice point (a, b) on ``face``'s hex lattice at ``res`` of each point
    given by its plane coordinates (:func:`_plane_coords`)."""
    basis = face.dirs[res % 2] * (RES0_U_GNOMONIC / _SQRT7**res)
    m = np.linalg.inv(basis)  # plane → lattice coordinates
    a = px * m[0, 0] + py * m[0, 1]
    b = px * m[1, 0] + py * m[1, 1]
    # The axes are 60° apart, so (a, b, −a−b) are cube coordinates of a hexagonal lattice
    # whose hexagons are the Voronoi cells of its points: round each, then recompute the
    # one that moved most from the other two (their sum must stay 0).
    c = -a - b
    ra, rb, rc = np.rint(a), np.rint(b), np.rint(c)
    da, db, dc = np.abs(ra - a), np.abs(rb - b), np.abs(rc - c)
    fix_a = (da > db) & (da > dc)
    fix_b = ~fix_a & (db > dc)
    ra = np.where(fix_a, -rb - rc, ra)
    rb = np.where(fix_b, -ra - rc, rb)
    return ra.astype(np.int64), rb.astype(np.int64)


def _check_res(res: int) -> int:
    res = int(res)
    if not 0 <= res <= 15:
        raise ValueError(f"H3 resolution must be 0–15, got {res}")
    return res


#: Unit vectors x, y, z, closest face, and plane coordinates per face (filled on first use).
_Prepared = tuple[NDArray, NDArray, NDArray, NDArray[np.int64], dict[int, tuple[NDArray, NDArray]]]


def _prepare(lon: NDArray, lat: NDArray) -> _Prepared:
    """Unit vectors and closest face of the points: what every resolution shares."""
    x, y, z = _xyz(lat, lon)
    return x, y, z, _closest_face(x, y, z), {}


def _lattice_points(
    lon: NDArray, lat: NDArray, res: int, prep: _Prepared | None = None
) -> list[tuple[int, NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]]:
    """Per face present: (face, point indices or all, lattice a, lattice b)."""
    x, y, z, face_idx, planes = prep if prep is not None else _prepare(lon, lat)
    _, faces = _faces()
    if face_idx[0] == face_idx[-1] and (face_idx == face_idx[0]).all():  # a county: one face
        f = int(face_idx[0])
        if f not in planes:
            planes[f] = _plane_coords(faces[f], x, y, z)
        a, b = _lattice(faces[f], *planes[f], res)
        return [(f, np.arange(lon.shape[0]), a, b)]
    out = []
    for f in np.unique(face_idx).tolist():
        sel = np.flatnonzero(face_idx == f)
        if f not in planes:
            planes[f] = _plane_coords(faces[f], x[sel], y[sel], z[sel])
        a, b = _lattice(faces[f], *planes[f], res)
        out.append((f, sel, a, b))
    return out


def _groups(a: NDArray[np.int64], b: NDArray[np.int64]) -> tuple[NDArray, NDArray]:
    """Group equal (a, b): (one representative index per group, group of each point).

    Dense bincount-style indexing when the lattice window is small (the usual
    heat-map case, O(n)), a sort (``np.unique``) otherwise.
    """
    n = a.shape[0]
    amin, bmin = int(a.min()), int(b.min())
    na = int(a.max()) - amin + 1
    nb = int(b.max()) - bmin + 1
    if na * nb <= max(4 * n, 1 << 20):
        flat = (a - amin) * nb + (b - bmin)
        rep = np.empty(na * nb, dtype=np.int64)
        rep[flat] = np.arange(n)  # any point of each group will do
        occupied = np.zeros(na * nb, dtype=bool)
        occupied[flat] = True
        compact = np.cumsum(occupied) - 1
        return rep[occupied], compact[flat]
    half = 1 << (_LATTICE_BITS - 1)
    keys = (a + half) << _LATTICE_BITS | (b + half)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    return first, inverse.ravel()


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    x = np.ascontiguousarray(np.asarray(lon, dtype=np.float64).ravel())
    y = np.ascontiguousarray(np.asarray(lat, dtype=np.float64).ravel())
    if x.shape != y.shape:
        raise ValueError("lon and lat must have the same length")
    if x.size and (not np.isfinite(x).all() or not np.isfinite(y).all()):
        raise ValueError("lon/lat contain NaN or infinite values; drop them first")
    if x.size and (np.abs(y).max() > 90 or np.abs(x).max() > 180):
        raise ValueError("lon/lat out of range (lon −180…180, lat −90…90 degrees)")
    return x, y


def _cells_of_groups(
    lon: NDArray,
    lat: NDArray,
    res: int,
    prep: _Prepared | None = None,
    grouped: list[tuple[NDArray[np.int64], NDArray, NDArray]] | None = None,
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Distinct cells (uint64, sorted) and, per point, the index of its cell in that array.

    ``grouped``: the (point indices, representatives, group of each point) per face at
    ``res``, when :func:`_face_groups` computed them already.
    """
    n = lon.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    group_cells: list[NDArray[np.uint64]] = []
    point_group = np.empty(n, dtype=np.int64)
    offset = 0
    for sel, reps, group in grouped if grouped is not None else _face_groups(lon, lat, res, prep):
        pts = sel[reps]
        lat_l = lat[pts].tolist()
        lon_l = lon[pts].tolist()
        cells = np.fromiter(
            map(h3_int.latlng_to_cell, lat_l, lon_l, repeat(res, len(pts))),
            dtype=np.uint64,
            count=len(pts),
        )
        group_cells.append(cells)
        point_group[sel] = group + offset
        offset += len(pts)
    all_cells = np.concatenate(group_cells)
    # distinct lattice points are distinct cells, but a cell may straddle two faces: merge
    uniq_cells, remap = np.unique(all_cells, return_inverse=True)
    return uniq_cells, remap.ravel()[point_group]


def _face_groups(
    lon: NDArray, lat: NDArray, res: int, prep: _Prepared | None = None
) -> list[tuple[NDArray[np.int64], NDArray, NDArray]]:
    """Per face present: (point indices, representative of each group, group of each point)."""
    return [(sel, *_groups(a, b)) for _f, sel, a, b in _lattice_points(lon, lat, res, prep)]


def cell_index(
    lon: ArrayLike, lat: ArrayLike, res: int
) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """The distinct cells of the points and each point's position in them.

    Returns
    -------
    cells : ndarray of uint64
        Sorted distinct H3 cells.
    index : ndarray of int64
        ``cells[index[i]]`` is the cell of point ``i`` — ready for ``np.bincount``.
    """
    res = _check_res(res)
    x, y = _as_arrays(lon, lat)
    return _cells_of_groups(x, y, res)


def _edge_distance(prep: _Prepared) -> float:
    """Smallest angle (radians) from a point to an edge of its face, for points on one
    face (``-1`` when they lie on several).

    The region of a face is its spherical triangle, bounded by the bisectors of its
    centre and its three edge neighbours' (41.8° away); ``p·(c − n)`` is ``|c − n|``
    times the sine of ``p``'s angle to that bisector.
    """
    x, y, z, face_idx, _ = prep
    f = int(face_idx[0])
    if not (face_idx == f).all():
        return -1.0
    centers, _ = _faces()
    c = centers[f]
    near = np.argsort(-(centers @ c))[1:4]
    worst = math.inf
    for g in near.tolist():
        d = c - centers[g]
        worst = min(worst, float(_dot(x, y, z, d).min()) / float(np.linalg.norm(d)))
    return math.asin(max(-1.0, min(1.0, worst)))


def lonlat_to_cells(lon: ArrayLike, lat: ArrayLike, res: int) -> NDArray[np.uint64]:
    """H3 cell (as uint64) of every point, equal to ``h3.latlng_to_cell`` per point.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees, same length (civgrid order: lon first).
    res : int
        H3 resolution 0–15.

    Returns
    -------
    ndarray of uint64
        ``h3.int_to_str`` gives the usual hex string.

    Examples
    --------
    >>> c = lonlat_to_cells([120.1551], [30.2741], 9)
    >>> h3.int_to_str(int(c[0])) == h3.latlng_to_cell(30.2741, 120.1551, 9)
    True
    """
    cells, idx = cell_index(lon, lat, res)
    return cells[idx]


@dataclass
class HexAggregate:
    """Per-cell totals of an aggregation.

    Attributes
    ----------
    res : int
        H3 resolution.
    cells : ndarray of uint64
        Distinct cells, sorted.
    count : ndarray of int64
        Points per cell.
    sums : dict of str → ndarray of float64
        Per-cell sums of each weight column.
    """

    res: int
    cells: NDArray[np.uint64]
    count: NDArray[np.int64]
    sums: dict[str, NDArray[np.float64]]

    def __len__(self) -> int:
        return int(self.cells.shape[0])

    def cell_strings(self) -> list[str]:
        """The cells as h3 hex strings."""
        return [h3.int_to_str(int(c)) for c in self.cells]


def aggregate(
    lon: ArrayLike,
    lat: ArrayLike,
    res: int,
    weights: dict[str, ArrayLike] | None = None,
    *,
    max_cells: int | None = None,
) -> HexAggregate:
    """Count points (and sum weight columns) per H3 cell, vectorized.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 degrees.
    res : int
        H3 resolution 0–15.
    weights : dict of str → array_like, optional
        Columns to sum per cell (e.g. ``{"open": is_open, "recurrences": n}``).
    max_cells : int, optional
        Lower the resolution from ``res`` until the points fill at most this many
        cells (down to 0); the result's ``res`` says which. The cells of a resolution
        are counted without an h3 call when the points lie on one icosahedron face,
        each more than two lattice spacings from its edges (a county, unless an edge
        crosses it): their cells lie wholly on that face, one per lattice point. Near an
        edge a cell may have a lattice point on two faces, and near a vertex a
        pentagon folds two into one, so there the cells themselves are counted.

    Returns
    -------
    HexAggregate

    Examples
    --------
    >>> agg = aggregate([112.95, 112.95, 113.2], [33.05, 33.05, 33.2], 9, {"w": [1, 2, 5]})
    >>> sorted(agg.count.tolist()), sorted(agg.sums["w"].tolist())
    ([1, 2], [3.0, 5.0])
    >>> aggregate([112.95, 112.96, 113.2], [33.05, 33.06, 33.2], 9, max_cells=2).res
    6
    """
    res = _check_res(res)
    x, y = _as_arrays(lon, lat)
    prep = _prepare(x, y) if x.size else None
    grouped = None
    if max_cells is not None and x.size:
        margin = _edge_distance(prep)
        while True:
            grouped = _face_groups(x, y, res, prep)
            if res == 0:
                break
            # a point farther than 2 lattice spacings from its face's edges lies in a
            # cell wholly on that face: one cell per lattice point
            if margin > 2 * RES0_U_GNOMONIC / _SQRT7**res:
                if grouped[0][1].shape[0] <= max_cells:
                    break
            elif _cells_of_groups(x, y, res, prep, grouped)[0].shape[0] <= max_cells:
                break
            res -= 1
    cells, idx = _cells_of_groups(x, y, res, prep, grouped)
    n = cells.shape[0]
    count = np.bincount(idx, minlength=n).astype(np.int64)
    sums: dict[str, NDArray[np.float64]] = {}
    for name, w in (weights or {}).items():
        arr = np.asarray(w, dtype=np.float64).ravel()
        if arr.shape != x.shape:
            raise ValueError(f"weight {name!r} has {arr.shape[0]} values for {x.shape[0]} points")
        sums[name] = np.bincount(idx, weights=arr, minlength=n)
    return HexAggregate(res, cells, count, sums)


def cell_polygons(cells: ArrayLike) -> list[list[tuple[float, float]]]:
    """Closed boundary rings of cells as (lon, lat) lists, WGS84.

    Parameters
    ----------
    cells : array_like of uint64 or str
    """
    out = []
    for c in np.asarray(cells).ravel().tolist():
        boundary = h3.cell_to_boundary(c) if isinstance(c, str) else h3_int.cell_to_boundary(c)
        ring = [(lng, la) for la, lng in boundary]
        ring.append(ring[0])
        out.append(ring)
    return out


def resolution_for_zoom(zoom: float) -> int:
    """A heat-map H3 resolution for a web-map zoom: hexagons a few dozen pixels wide.

    One zoom level halves the ground size of a pixel; one H3 resolution divides
    the hexagon edge by √7 ≈ 2.65 (≈ 1.4 zoom levels), so the resolution steps
    up every second zoom level: zoom 12–13 → 8 (edge ≈ 530 m), 14–15 → 9
    (≈ 200 m), 16–17 → 10 (≈ 76 m), 18+ → 11; 10–11 → 7, 9 → 6, below → 5.

    Examples
    --------
    >>> [resolution_for_zoom(z) for z in (8, 10, 12, 14, 16, 18)]
    [5, 7, 8, 9, 10, 11]
    """
    z = math.floor(float(zoom))
    if z <= 8:
        return 5
    if z == 9:
        return 6
    return int(min(7 + (z - 10) // 2, 11))

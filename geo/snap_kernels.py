"""Numba kernels of the snap index (see :mod:`civgrid.geo.snap` for the rules and the API).

Everything here works on flat numpy arrays: no shapely object, no Python object
per point. Each compiled layer is *packed* into one ``float64`` array ``fa`` and one
``int32`` array ``ia`` whose headers give the offsets of the sub-arrays, so a call
from Python unboxes two arrays (≈ 0.4 µs) whatever the layer's structure.

Polygon layers (coordinates in lon/lat degrees, the stored CRS)
---------------------------------------------------------------
A uniform grid of square cells covers the layer's extent with a margin of one
cell. At build time every edge is rasterized *conservatively*: a cell is marked
for polygon P when one of P's edges touches the cell's closed box expanded by
``EPS_CELL`` cell widths (far more than the rounding of ``floor((x - x0) / cs)``).
A cell with no edge of P is then entirely inside P's interior or entirely
outside P, and its status is that of its centre, found by the parity of the
crossings of the row's centre line with P's edges (the centre is at least half
a cell from every edge, so this needs no robust arithmetic).

For each cell the polygons that cover it entirely (*full*) or have an edge in
it (*boundary*) are listed in ascending code order. For a tiling layer the list
is cut after the first full polygon; a cell whose list is a single full polygon
(or empty) answers directly from ``cell_val`` without any geometric test.

A boundary entry refers to a *band*: P's edges that overlap the cell's row,
sorted by decreasing max-x. The point's location w.r.t. P is GEOS's
``RayCrossingCounter`` over those edges (a horizontal ray to +x, half-open rule
for vertices, horizontal edges only matter when the point is on them), with
GEOS's own orientation filter (Shewchuk's, ``DP_SAFE_EPSILON = 1e-15``). When
the filter cannot certify the sign of an orientation the point is reported as
*uncertain* (``UNCERTAIN``) and the caller resolves it with GEOS itself. When
the filter certifies a sign, GEOS's filter computes the identical expression,
so both agree; exact zeros, vertex hits and points on horizontal edges are
decided by exact comparisons. Hence results equal GEOS ``covers``.

In a tiling layer, a cell inside the union of the layer (no *unshared* edge —
one not repeated by a neighbour — touches it, and the parity of the unshared
edges says inside) needs no test of its last candidate: a point none of the
other candidates covers is covered by it. This relies on GEOS deciding the
shared edge identically for both neighbours, which holds whenever coordinate
differences are exact in floating point (lon/lat values within a factor 2 of
each other — anywhere in China); beyond that it relies on GEOS's double-double
orientation.

Bulk kernels work in batches of :data:`BATCH` points: gather every point's cell
first (independent loads the CPU overlaps), then touch the records those cells
point to, then evaluate, which hides most of the memory latency.

Line and zone layers (distances in the metric CRS, metres)
----------------------------------------------------------
Their grids are in lon/lat too, so a point far from every road or key site is
answered without projecting it. A feature is listed in every cell that can hold
a point within its tolerance/radius: its lon/lat footprint is expanded by the
radius converted with an upper bound of degrees per metre over the layer's
extent, plus a margin for the curvature of the projection. Candidates are then
measured exactly in the projected CRS (transverse Mercator, :mod:`._tmerc`),
with GEOS's point-to-segment distance formula.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from civgrid.geo._tmerc import tm_forward_point

#: Returned for a point whose location could not be certified (resolve with GEOS).
UNCERTAIN = -2
#: Expansion of each cell, in cell widths, when rasterizing edges.
EPS_CELL = 1e-6
#: GEOS ``CGAlgorithmsDD::orientationIndexFilter`` relative error bound.
DP_SAFE_EPSILON = 1e-15

# Packed polygon layer. fa: [x0, y0, inv_cs, cs, 0 * 6, band edges (5 floats each)].
# ia: header [nx, ny, off_cell_val, off_cx, end] then cell_val | cx. A complex cell's
# cx record is [count, (id, lo, hi) * count] in code order; lo/hi index band edges in
# fa (lo = -1: the polygon covers every point of the cell that reaches this entry).
_PF_EDGES = 10
_PI_NX, _PI_NY, _PI_CELL, _PI_CX, _PI_END = range(5)
_PI_HEADER = 16
#: Floats per stored band edge: max(x1, x2), x1, y1, x2, y2.
EDGE_STRIDE = 5
#: Index (in EDGE_STRIDE units of fa) of the first band edge: lo/hi in cx are absolute.
EDGE_BASE = _PF_EDGES // EDGE_STRIDE


# --------------------------------------------------------------------------- helpers


@njit(cache=True, nogil=True, inline="always")
def _grow_i64(a: np.ndarray, n: int) -> np.ndarray:
    if n < a.shape[0]:
        return a
    b = np.empty(max(2 * a.shape[0], n + 1), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True, nogil=True, inline="always")
def _grow_i32(a: np.ndarray, n: int) -> np.ndarray:
    if n < a.shape[0]:
        return a
    b = np.empty(max(2 * a.shape[0], n + 1), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True, nogil=True, inline="always")
def _grow_f64(a: np.ndarray, n: int) -> np.ndarray:
    if n < a.shape[0]:
        return a
    b = np.empty(max(2 * a.shape[0], n + 1), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@njit(cache=True, nogil=True)
def first_invalid(lon: np.ndarray, lat: np.ndarray) -> int:
    """Index of the first row whose lon or lat is NaN or infinite, or -1."""
    for k in range(lon.shape[0]):
        if not (math.isfinite(lon[k]) and math.isfinite(lat[k])):
            return k
    return -1


@njit(cache=True, nogil=True)
def count_invalid(lon: np.ndarray, lat: np.ndarray) -> int:
    """Number of rows whose lon or lat is NaN or infinite."""
    c = 0
    for k in range(lon.shape[0]):
        if not (math.isfinite(lon[k]) and math.isfinite(lat[k])):
            c += 1
    return c


@njit(cache=True, nogil=True)
def indices_equal(a: np.ndarray, value: int, count: int) -> np.ndarray:
    """The first ``count`` indices ``k`` with ``a[k] == value``."""
    out = np.empty(count, dtype=np.int64)
    j = 0
    for k in range(a.shape[0]):
        if a[k] == value:
            if j == count:
                break
            out[j] = k
            j += 1
    return out[:j]


@njit(cache=True, nogil=True, inline="always")
def orientation_filter(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> int:
    """GEOS/Shewchuk orientation of c w.r.t. a→b: 1 left, -1 right, 0 collinear, 2 unsure."""
    detleft = (ax - cx) * (by - cy)
    detright = (ay - cy) * (bx - cx)
    det = detleft - detright
    if detleft > 0.0:
        if detright <= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = detleft + detright
    elif detleft < 0.0:
        if detright >= 0.0:
            return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
        detsum = -detleft - detright
    else:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    errbound = DP_SAFE_EPSILON * detsum
    if det >= errbound or -det >= errbound:
        return 1 if det > 0.0 else (-1 if det < 0.0 else 0)
    return 2


@njit(cache=True, nogil=True)
def locate_in_band(px: float, py: float, ea: np.ndarray, lo: int, hi: int) -> int:
    """GEOS RayCrossingCounter over band edges ``lo:hi`` of ``ea`` (sorted by max-x desc).

    Returns 1 if the point is in the interior or on the boundary, 0 if outside,
    2 if an orientation could not be certified.
    """
    crossings = 0
    unsure = False
    for j in range(lo, hi):
        o = j * EDGE_STRIDE
        if ea[o] < px:  # max(x1, x2) < px: this and every later edge is left of the point
            break
        x1 = ea[o + 1]
        y1 = ea[o + 2]
        x2 = ea[o + 3]
        y2 = ea[o + 4]
        if px == x2 and py == y2:
            return 1
        if px == x1 and py == y1:
            return 1
        if y1 == py and y2 == py:
            if (x1 <= px <= x2) or (x2 <= px <= x1):
                return 1
            continue
        if (y1 > py and y2 <= py) or (y2 > py and y1 <= py):
            s = orientation_filter(x1, y1, x2, y2, px, py)
            if s == 2:
                unsure = True
                continue
            if s == 0:
                return 1
            if y2 < y1:
                s = -s
            if s > 0:
                crossings += 1
    if unsure:
        return 2
    return crossings & 1


@njit(cache=True, nogil=True)
def point_segment_distance(
    px: float, py: float, ax: float, ay: float, bx: float, by: float
) -> tuple[float, float]:
    """GEOS ``Distance::pointToSegment`` and the clamped parameter of the closest point."""
    if ax == bx and ay == by:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy), 0.0
    len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay)
    r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2
    if r <= 0.0:
        dx = px - ax
        dy = py - ay
        return math.sqrt(dx * dx + dy * dy), 0.0
    if r >= 1.0:
        dx = px - bx
        dy = py - by
        return math.sqrt(dx * dx + dy * dy), 1.0
    s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2
    return abs(s) * math.sqrt(len2), r


# --------------------------------------------------------------------------- polygon build


@njit(cache=True, nogil=True)
def _edge_row_range(ya: float, yb: float, gy0: float, inv: float, ny: int) -> tuple[int, int]:
    r0 = math.floor((ya - gy0) * inv - EPS_CELL)
    r1 = math.floor((yb - gy0) * inv + EPS_CELL)
    return max(r0, 0), min(r1, ny - 1)


@njit(cache=True, nogil=True, inline="always")
def _row_clip(x1, y1, x2, y2, ylo, yhi):
    """x-range of segment (x1, y1)-(x2, y2) within ylo ≤ y ≤ yhi (conservative)."""
    if y1 == y2:
        return min(x1, x2), max(x1, x2)
    ta = (ylo - y1) / (y2 - y1)
    tb = (yhi - y1) / (y2 - y1)
    t0 = max(min(ta, tb), 0.0)
    t1 = min(max(ta, tb), 1.0)
    xa = x1 + t0 * (x2 - x1)
    xb = x1 + t1 * (x2 - x1)
    if xa > xb:
        xa, xb = xb, xa
    xa = max(xa, min(x1, x2))
    xb = min(xb, max(x1, x2))
    if xa > xb:  # rounding on a near-degenerate clip: keep the whole edge
        return min(x1, x2), max(x1, x2)
    return xa, xb


@njit(cache=True, nogil=True)
def union_interior_cells(
    ex1: np.ndarray,
    ey1: np.ndarray,
    ex2: np.ndarray,
    ey2: np.ndarray,
    gx0: float,
    gy0: float,
    cs: float,
    nx: int,
    ny: int,
) -> np.ndarray:
    """Cells inside the union of a layer, touched by none of the given edges.

    The edges are the layer's *unshared* edges (those appearing an odd number
    of times). The parity of crossings with them is the XOR of the memberships
    in all polygons, so an odd parity in a cell no unshared edge touches means
    every point of the cell is covered by some polygon.
    """
    inv = 1.0 / cs
    e_deg = EPS_CELL * cs
    ne = ex1.shape[0]
    rowcnt = np.zeros(ny + 1, dtype=np.int64)
    for k in range(ne):
        ra, rb = _edge_row_range(min(ey1[k], ey2[k]), max(ey1[k], ey2[k]), gy0, inv, ny)
        for r in range(ra, rb + 1):
            rowcnt[r + 1] += 1
    for r in range(ny):
        rowcnt[r + 1] += rowcnt[r]
    rowedge = np.empty(rowcnt[ny], dtype=np.int64)
    fill = rowcnt[:ny].copy()
    for k in range(ne):
        ra, rb = _edge_row_range(min(ey1[k], ey2[k]), max(ey1[k], ey2[k]), gy0, inv, ny)
        for r in range(ra, rb + 1):
            rowedge[fill[r]] = k
            fill[r] += 1
    out = np.zeros(nx * ny, dtype=np.bool_)
    mark = np.zeros(nx, dtype=np.bool_)
    cross = np.empty(max(rowcnt[ny], 1), dtype=np.float64)
    for r in range(ny):
        mark[:] = False
        ylo = gy0 + r * cs - e_deg
        yhi = gy0 + (r + 1) * cs + e_deg
        yc = gy0 + (r + 0.5) * cs
        nc = 0
        for q in range(rowcnt[r], rowcnt[r + 1]):
            k = rowedge[q]
            x1 = ex1[k]
            y1 = ey1[k]
            x2 = ex2[k]
            y2 = ey2[k]
            xa, xb = _row_clip(x1, y1, x2, y2, ylo, yhi)
            ca = max(math.floor((xa - gx0) * inv - EPS_CELL), 0)
            cb = min(math.floor((xb - gx0) * inv + EPS_CELL), nx - 1)
            for c in range(ca, cb + 1):
                mark[c] = True
            if (y1 > yc) != (y2 > yc):
                cross[nc] = x1 + (yc - y1) * (x2 - x1) / (y2 - y1)
                nc += 1
        cr = np.sort(cross[:nc])
        ptr = 0
        for c in range(nx):
            xcen = gx0 + (c + 0.5) * cs
            while ptr < nc and cr[ptr] < xcen:
                ptr += 1
            if not mark[c] and (ptr & 1):
                out[r * nx + c] = True
    return out


@njit(cache=True, nogil=True)
def build_polygon_grid(
    xs: np.ndarray,
    ys: np.ndarray,
    ring_ptr: np.ndarray,
    poly_ring_ptr: np.ndarray,
    poly_ids: np.ndarray,
    gx0: float,
    gy0: float,
    cs: float,
    nx: int,
    ny: int,
    tiling: bool,
    union_ok: np.ndarray,
):
    """Rasterize a polygon layer; polygons must be given in ascending code order.

    Parameters
    ----------
    xs, ys : float64 arrays
        Vertices of every closed ring (lon, lat degrees).
    ring_ptr : int64 array
        Ring ``r`` is ``xs[ring_ptr[r]:ring_ptr[r + 1]]`` (first vertex repeated last).
    poly_ring_ptr : int64 array
        Feature ``p`` (in code order) owns rings ``poly_ring_ptr[p]:poly_ring_ptr[p + 1]``.
    poly_ids : int32 array
        The id reported for feature ``p`` (its position in the caller's input).
    gx0, gy0, cs, nx, ny
        Grid origin (degrees), cell size (degrees) and shape.
    tiling : bool
        Keep, per cell, only the candidates up to the first full cover.
    union_ok : bool array
        Tiling layers: cells inside the layer's union (:func:`union_interior_cells`);
        there the last candidate needs no test. Empty otherwise.

    Returns
    -------
    tuple
        ``cell_val`` (int32, per cell), ``cx`` (int32 blob of complex cells) and
        ``band_edges`` (float64, ``EDGE_STRIDE`` per edge), see the module doc.
    """
    inv = 1.0 / cs
    e_deg = EPS_CELL * cs
    npoly = poly_ring_ptr.shape[0] - 1
    cap = 1024
    ent_cell = np.empty(cap, dtype=np.int64)
    ent_id = np.empty(cap, dtype=np.int32)
    ent_lo = np.empty(cap, dtype=np.int32)
    ent_hi = np.empty(cap, dtype=np.int32)
    n_ent = 0
    bedges = np.empty(cap * EDGE_STRIDE, dtype=np.float64)
    n_bedge = 0

    for p in range(npoly):
        v0 = ring_ptr[poly_ring_ptr[p]]
        v1 = ring_ptr[poly_ring_ptr[p + 1]]
        if v1 <= v0:
            continue
        bx0 = xs[v0]
        bx1 = xs[v0]
        by0 = ys[v0]
        by1 = ys[v0]
        for v in range(v0, v1):
            bx0 = min(bx0, xs[v])
            bx1 = max(bx1, xs[v])
            by0 = min(by0, ys[v])
            by1 = max(by1, ys[v])
        ix0 = max(math.floor((bx0 - gx0) * inv - EPS_CELL), 0)
        ix1 = min(math.floor((bx1 - gx0) * inv + EPS_CELL), nx - 1)
        iy0, iy1 = _edge_row_range(by0, by1, gy0, inv, ny)
        w = ix1 - ix0 + 1
        h = iy1 - iy0 + 1
        # edges per row of the window (CSR by counting)
        rowcnt = np.zeros(h + 1, dtype=np.int64)
        for r in range(poly_ring_ptr[p], poly_ring_ptr[p + 1]):
            for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
                ra, rb = _edge_row_range(min(ys[k], ys[k + 1]), max(ys[k], ys[k + 1]), gy0, inv, ny)
                for rr in range(ra, rb + 1):
                    rowcnt[rr - iy0 + 1] += 1
        for rr in range(h):
            rowcnt[rr + 1] += rowcnt[rr]
        rowedge = np.empty(rowcnt[h], dtype=np.int64)
        fill = rowcnt[:h].copy()
        for r in range(poly_ring_ptr[p], poly_ring_ptr[p + 1]):
            for k in range(ring_ptr[r], ring_ptr[r + 1] - 1):
                ra, rb = _edge_row_range(min(ys[k], ys[k + 1]), max(ys[k], ys[k + 1]), gy0, inv, ny)
                for rr in range(ra, rb + 1):
                    rowedge[fill[rr - iy0]] = k
                    fill[rr - iy0] += 1
        mark = np.zeros(w, dtype=np.bool_)
        cross = np.empty(max(rowcnt[h], 1), dtype=np.float64)
        for rr in range(h):
            row = iy0 + rr
            a = rowcnt[rr]
            b = rowcnt[rr + 1]
            mark[:] = False
            ylo = gy0 + row * cs - e_deg
            yhi = gy0 + (row + 1) * cs + e_deg
            yc = gy0 + (row + 0.5) * cs
            nc = 0
            for q in range(a, b):
                k = rowedge[q]
                x1 = xs[k]
                y1 = ys[k]
                x2 = xs[k + 1]
                y2 = ys[k + 1]
                xa, xb = _row_clip(x1, y1, x2, y2, ylo, yhi)
                ca = max(math.floor((xa - gx0) * inv - EPS_CELL), ix0)
                cb = min(math.floor((xb - gx0) * inv + EPS_CELL), ix1)
                for c in range(ca, cb + 1):
                    mark[c - ix0] = True
                if (y1 > yc) != (y2 > yc):
                    cross[nc] = x1 + (yc - y1) * (x2 - x1) / (y2 - y1)
                    nc += 1
            cr = np.sort(cross[:nc])
            band_lo = -1
            band_hi = -1
            ptr = 0
            for c in range(w):
                xcen = gx0 + (ix0 + c + 0.5) * cs
                while ptr < nc and cr[ptr] < xcen:
                    ptr += 1
                cell = row * nx + ix0 + c
                if mark[c]:
                    if band_lo < 0:
                        # store this row's band, sorted by decreasing max-x
                        nb = b - a
                        keys = np.empty(nb, dtype=np.float64)
                        for q in range(a, b):
                            k = rowedge[q]
                            keys[q - a] = -max(xs[k], xs[k + 1])
                        order = np.argsort(keys)
                        bedges = _grow_f64(bedges, (n_bedge + nb) * EDGE_STRIDE)
                        for q in range(nb):
                            k = rowedge[a + order[q]]
                            o = (n_bedge + q) * EDGE_STRIDE
                            bedges[o] = -keys[order[q]]
                            bedges[o + 1] = xs[k]
                            bedges[o + 2] = ys[k]
                            bedges[o + 3] = xs[k + 1]
                            bedges[o + 4] = ys[k + 1]
                        band_lo = n_bedge + EDGE_BASE
                        n_bedge += nb
                        band_hi = n_bedge + EDGE_BASE
                    lo = band_lo
                    hi = band_hi
                elif ptr & 1:
                    lo = -1
                    hi = -1
                else:
                    continue
                ent_cell = _grow_i64(ent_cell, n_ent + 1)
                ent_id = _grow_i32(ent_id, n_ent + 1)
                ent_lo = _grow_i32(ent_lo, n_ent + 1)
                ent_hi = _grow_i32(ent_hi, n_ent + 1)
                ent_cell[n_ent] = cell
                ent_id[n_ent] = poly_ids[p]
                ent_lo[n_ent] = lo
                ent_hi[n_ent] = hi
                n_ent += 1

    # stable counting sort of the entries by cell (keeps code order inside a cell)
    ncell = nx * ny
    start = np.zeros(ncell + 1, dtype=np.int64)
    for e in range(n_ent):
        start[ent_cell[e] + 1] += 1
    for c in range(ncell):
        start[c + 1] += start[c]
    pos = start[:ncell].copy()
    s_id = np.empty(n_ent, dtype=np.int32)
    s_lo = np.empty(n_ent, dtype=np.int32)
    s_hi = np.empty(n_ent, dtype=np.int32)
    for e in range(n_ent):
        c = ent_cell[e]
        s_id[pos[c]] = ent_id[e]
        s_lo[pos[c]] = ent_lo[e]
        s_hi[pos[c]] = ent_hi[e]
        pos[c] += 1

    use_union = tiling and union_ok.shape[0] == ncell
    cell_val = np.full(ncell, -1, dtype=np.int32)
    cx = np.empty(max(4 * n_ent + 16, 16), dtype=np.int32)
    n_cx = 0
    for c in range(ncell):
        a = start[c]
        b = start[c + 1]
        if a == b:
            continue
        implicit_last = False
        if tiling:
            full = False
            for e in range(a, b):
                if s_lo[e] < 0:
                    b = e + 1
                    full = True
                    break
            # inside the union, a point none of the others covers is covered by the last
            implicit_last = (not full) and use_union and union_ok[c]
        if b - a == 1 and (s_lo[a] < 0 or implicit_last):
            cell_val[c] = s_id[a]
            continue
        cell_val[c] = -(n_cx + 2)
        cx[n_cx] = b - a
        n_cx += 1
        for e in range(a, b):
            cx[n_cx] = s_id[e]
            last = implicit_last and e == b - 1
            cx[n_cx + 1] = -1 if last else s_lo[e]
            cx[n_cx + 2] = -1 if last else s_hi[e]
            n_cx += 3
    return cell_val, cx[:n_cx].copy(), bedges[: n_bedge * EDGE_STRIDE].copy()


# --------------------------------------------------------------------------- polygon query


@njit(cache=True, nogil=True, inline="always")
def _poly_cell(fa: np.ndarray, ia: np.ndarray, x: float, y: float) -> int:
    """Cell index of the point, or -1 when it is outside the grid (or NaN)."""
    fx = (x - fa[0]) * fa[2]
    fy = (y - fa[1]) * fa[2]
    nx = ia[_PI_NX]
    if fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ia[_PI_NY]:
        return int(fy) * nx + int(fx)
    return -1


#: Points per batch in the bulk kernels: a first pass gathers every point's cell
#: (independent loads the CPU overlaps), a second touches the records those cells
#: point to, the last evaluates; this hides most memory latency on big layers.
BATCH = 256


@njit(cache=True, nogil=True)
def _poly_resolve(fa: np.ndarray, ia: np.ndarray, x: float, y: float, v: int) -> int:
    if v >= -1:
        return v
    o = ia[_PI_CX] + (-v - 2)
    cnt = ia[o]
    for e in range(cnt):
        q = o + 1 + 3 * e
        lo = ia[q + 1]
        if lo < 0:
            return ia[q]
        s = locate_in_band(x, y, fa, lo, ia[q + 2])
        if s == 1:
            return ia[q]
        if s == 2:
            return UNCERTAIN
    return -1


@njit(cache=True, nogil=True)
def poly_tiling_one(fa: np.ndarray, ia: np.ndarray, x: float, y: float) -> int:
    """Id of the smallest-code polygon covering (x, y), -1 for none, UNCERTAIN if unsure."""
    c = _poly_cell(fa, ia, x, y)
    if c < 0:
        return -1
    return _poly_resolve(fa, ia, x, y, ia[ia[_PI_CELL] + c])


@njit(cache=True, nogil=True)
def poly_tiling_point(fa: np.ndarray, ia: np.ndarray, x: float, y: float) -> int:
    """Single-point entry of :func:`poly_tiling_one`."""
    return poly_tiling_one(fa, ia, x, y)


@njit(cache=True, nogil=True)
def poly_tiling_many(
    fa: np.ndarray, ia: np.ndarray, lon: np.ndarray, lat: np.ndarray, out: np.ndarray
) -> int:
    """Bulk :func:`poly_tiling_one` into ``out`` (int32); returns the number of UNCERTAIN rows.

    Works in batches of :data:`BATCH` points (gather cells, touch records, evaluate);
    the results are identical to calling :func:`poly_tiling_one` per point.
    """
    n = lon.shape[0]
    x0 = fa[0]
    y0 = fa[1]
    inv = fa[2]
    nx = ia[_PI_NX]
    ny = ia[_PI_NY]
    cv = ia[_PI_CELL]
    cxo = ia[_PI_CX]
    n_unsure = 0
    touch = 0.0
    for s in range(0, n, BATCH):
        e = min(s + BATCH, n)
        for k in range(s, e):
            fx = (lon[k] - x0) * inv
            fy = (lat[k] - y0) * inv
            if fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny:
                out[k] = ia[cv + int(fy) * nx + int(fx)]
            else:
                out[k] = -1
        for k in range(s, e):
            v = out[k]
            if v < -1:
                lo = ia[cxo + (-v - 2) + 2]
                if lo >= 0:
                    touch += fa[lo * EDGE_STRIDE]
        for k in range(s, e):
            v = out[k]
            if v < -1:
                r = _poly_resolve(fa, ia, lon[k], lat[k], v)
                out[k] = r
                if r == UNCERTAIN:
                    n_unsure += 1
    if touch == -1.5:  # keeps the touching loads alive; never true for real coordinates
        n_unsure += 0
    return n_unsure


@njit(cache=True, nogil=True)
def poly_cell_entries(fa: np.ndarray, ia: np.ndarray, x: float, y: float) -> np.ndarray:
    """Candidate ids (code order) of the point's cell, for the exact GEOS fallback."""
    c = _poly_cell(fa, ia, x, y)
    if c < 0:
        return np.empty(0, dtype=np.int32)
    v = ia[ia[_PI_CELL] + c]
    if v == -1:
        return np.empty(0, dtype=np.int32)
    if v >= 0:
        out = np.empty(1, dtype=np.int32)
        out[0] = v
        return out
    o = ia[_PI_CX] + (-v - 2)
    cnt = ia[o]
    out = np.empty(cnt, dtype=np.int32)
    for e in range(cnt):
        out[e] = ia[o + 1 + 3 * e]
    return out


@njit(cache=True, nogil=True)
def _poly_multi_one(fa, ia, x, y, buf, n):
    """Append every covering id of (x, y) to ``buf[n:]``; returns (new n, unsure, buf)."""
    c = _poly_cell(fa, ia, x, y)
    if c < 0:
        return n, False, buf
    v = ia[ia[_PI_CELL] + c]
    if v == -1:
        return n, False, buf
    if v >= 0:
        buf = _grow_i32(buf, n + 1)
        buf[n] = v
        return n + 1, False, buf
    o = ia[_PI_CX] + (-v - 2)
    cnt = ia[o]
    n0 = n
    for e in range(cnt):
        q = o + 1 + 3 * e
        lo = ia[q + 1]
        if lo >= 0:
            s = locate_in_band(x, y, fa, lo, ia[q + 2])
            if s == 2:
                return n0, True, buf
            if s == 0:
                continue
        buf = _grow_i32(buf, n + 1)
        buf[n] = ia[q]
        n += 1
    return n, False, buf


@njit(cache=True, nogil=True)
def poly_multi_many(
    fa: np.ndarray, ia: np.ndarray, lon: np.ndarray, lat: np.ndarray, offsets: np.ndarray
):
    """Every covering id per point as CSR: fills ``offsets`` (n + 1), returns ids and unsure rows.

    Rows whose location could not be certified get no ids here; they are
    listed in the returned ``unsure`` array for the GEOS fallback.
    """
    n = lon.shape[0]
    buf = np.empty(max(n // 2, 16), dtype=np.int32)
    unsure = np.empty(16, dtype=np.int64)
    n_unsure = 0
    m = 0
    offsets[0] = 0
    for k in range(n):
        m, u, buf = _poly_multi_one(fa, ia, lon[k], lat[k], buf, m)
        if u:
            unsure = _grow_i64(unsure, n_unsure + 1)
            unsure[n_unsure] = k
            n_unsure += 1
        offsets[k + 1] = m
    return buf[:m].copy(), unsure[:n_unsure].copy()


@njit(cache=True, nogil=True)
def poly_multi_point(fa: np.ndarray, ia: np.ndarray, x: float, y: float):
    """Covering ids of one point (code order) and whether the GEOS fallback is needed."""
    buf = np.empty(8, dtype=np.int32)
    m, u, buf = _poly_multi_one(fa, ia, x, y, buf, 0)
    return buf[:m].copy(), u


# --------------------------------------------------------------------------- lon/lat buffer grids


@njit(cache=True, nogil=True)
def build_buffer_grid(
    ax: np.ndarray,
    ay: np.ndarray,
    bx: np.ndarray,
    by: np.ndarray,
    feat: np.ndarray,
    dx: np.ndarray,
    dy: np.ndarray,
    gx0: float,
    gy0: float,
    cs: float,
    nx: int,
    ny: int,
):
    """Cells (lon/lat grid) reached by each segment a→b expanded by ±dx, ±dy degrees.

    Segment ``i`` belongs to item ``feat[i]`` (a road segment id or a site id);
    a point segment (a == b) is a box. Returns CSR ``(cell_ptr int32 (ncell + 1),
    cell_items int32)`` with each item listed at most once per cell, in
    ascending item order.
    """
    inv = 1.0 / cs
    nseg = ax.shape[0]
    cap = 1024
    p_cell = np.empty(cap, dtype=np.int64)
    p_item = np.empty(cap, dtype=np.int32)
    n = 0
    for i in range(nseg):
        x1 = ax[i]
        y1 = ay[i]
        x2 = bx[i]
        y2 = by[i]
        ex = dx[i]
        ey = dy[i]
        r0 = max(math.floor((min(y1, y2) - ey - gy0) * inv - EPS_CELL), 0)
        r1 = min(math.floor((max(y1, y2) + ey - gy0) * inv + EPS_CELL), ny - 1)
        for row in range(r0, r1 + 1):
            ylo = gy0 + row * cs - ey - EPS_CELL * cs
            yhi = gy0 + (row + 1) * cs + ey + EPS_CELL * cs
            if y1 == y2:
                xa = min(x1, x2)
                xb = max(x1, x2)
            else:
                ta = (ylo - y1) / (y2 - y1)
                tb = (yhi - y1) / (y2 - y1)
                t0 = max(min(ta, tb), 0.0)
                t1 = min(max(ta, tb), 1.0)
                xa = x1 + t0 * (x2 - x1)
                xb = x1 + t1 * (x2 - x1)
                if xa > xb:
                    xa, xb = xb, xa
                xa = max(xa, min(x1, x2))
                xb = min(xb, max(x1, x2))
                if xa > xb:
                    xa = min(x1, x2)
                    xb = max(x1, x2)
            ca = max(math.floor((xa - ex - gx0) * inv - EPS_CELL), 0)
            cb = min(math.floor((xb + ex - gx0) * inv + EPS_CELL), nx - 1)
            for c in range(ca, cb + 1):
                p_cell = _grow_i64(p_cell, n + 1)
                p_item = _grow_i32(p_item, n + 1)
                p_cell[n] = row * nx + c
                p_item[n] = feat[i]
                n += 1
    # sort by (cell, item) and drop duplicates
    mult = np.int64(1)
    for i in range(nseg):
        mult = max(mult, np.int64(feat[i]) + 1)
    key = np.unique(p_cell[:n] * mult + p_item[:n])
    ncell = nx * ny
    cell_ptr = np.zeros(ncell + 1, dtype=np.int32)
    items = np.empty(key.shape[0], dtype=np.int32)
    for j in range(key.shape[0]):
        c = key[j] // mult
        items[j] = key[j] - c * mult
        cell_ptr[c + 1] += 1
    for c in range(ncell):
        cell_ptr[c + 1] += cell_ptr[c]
    return cell_ptr, items


# Packed line layer. fa: [x0, y0, inv_cs, tol, 0...] + tm params at 8 (18 floats) +
# segments from 32 (7 floats each: ax, ay, bx, by, cum, seglen, unused) in metres.
# ia: header [nx, ny, off_cell_ptr, off_items, off_seg_sec, off_sec_rank, end] ...
_LF_TM = 8
_LF_SEG = 32
SEG_STRIDE = 7
_LI_NX, _LI_NY, _LI_CELL, _LI_ITEMS, _LI_SEGSEC, _LI_SECRANK = range(6)


@njit(cache=True, nogil=True, inline="always")
def _grid_cell(fa: np.ndarray, nx: int, ny: int, x: float, y: float) -> int:
    fx = (x - fa[0]) * fa[2]
    fy = (y - fa[1]) * fa[2]
    if fx >= 0.0 and fy >= 0.0 and fx < nx and fy < ny:
        return int(fy) * nx + int(fx)
    return -1


@njit(cache=True, nogil=True, inline="always")
def _cell_range(fa: np.ndarray, ia: np.ndarray, lon: float, lat: float) -> tuple[int, int]:
    """Candidate range ``items[a:b]`` of a buffer-grid layer (lines, zones) for a point."""
    nx = ia[_LI_NX]
    c = _grid_cell(fa, nx, ia[_LI_NY], lon, lat)
    if c < 0:
        return 0, 0
    cp = ia[_LI_CELL]
    return ia[cp + c], ia[cp + c + 1]


@njit(cache=True, nogil=True)
def _line_eval(
    fa: np.ndarray, ia: np.ndarray, lon: float, lat: float, a: int, b: int
) -> tuple[int, float, float]:
    if a == b:
        return -1, math.nan, math.nan
    x, y = tm_forward_point(fa[_LF_TM:], lon, lat)
    tol = fa[3]
    items = ia[_LI_ITEMS]
    segsec = ia[_LI_SEGSEC]
    secrank = ia[_LI_SECRANK]
    best_d = math.inf
    best_rank = 2147483647
    best_sec = -1
    best_pos = math.nan
    for j in range(a, b):
        s = ia[items + j]
        o = _LF_SEG + s * SEG_STRIDE
        d, t = point_segment_distance(x, y, fa[o], fa[o + 1], fa[o + 2], fa[o + 3])
        if d > tol:
            continue
        sec = ia[segsec + s]
        rank = ia[secrank + sec]
        if t <= 0.0:
            pos = fa[o + 4]
        elif t >= 1.0:
            pos = fa[o + 4] + fa[o + 5]
        else:
            pos = fa[o + 4] + t * fa[o + 5]
        if d < best_d or (
            d == best_d and (rank < best_rank or (rank == best_rank and pos < best_pos))
        ):
            best_d = d
            best_rank = rank
            best_sec = sec
            best_pos = pos
    if best_sec < 0:
        return -1, math.nan, math.nan
    return best_sec, best_d, best_pos


@njit(cache=True, nogil=True)
def line_one(fa: np.ndarray, ia: np.ndarray, lon: float, lat: float) -> tuple[int, float, float]:
    """Nearest section within tolerance: (id or -1, distance m, position along m)."""
    a, b = _cell_range(fa, ia, lon, lat)
    return _line_eval(fa, ia, lon, lat, a, b)


@njit(cache=True, nogil=True)
def line_point(fa: np.ndarray, ia: np.ndarray, lon: float, lat: float) -> tuple[int, float, float]:
    """Single-point entry of :func:`line_one`."""
    return line_one(fa, ia, lon, lat)


@njit(cache=True, nogil=True)
def line_many(
    fa: np.ndarray,
    ia: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    out_id: np.ndarray,
    out_d: np.ndarray,
    out_pos: np.ndarray,
) -> None:
    """Bulk :func:`line_one` into the three output arrays (batched like ``poly_tiling_many``)."""
    n = lon.shape[0]
    a_buf = np.empty(BATCH, dtype=np.int32)
    b_buf = np.empty(BATCH, dtype=np.int32)
    items = ia[_LI_ITEMS]
    touch = 0.0
    for s in range(0, n, BATCH):
        e = min(s + BATCH, n)
        for k in range(s, e):
            a, b = _cell_range(fa, ia, lon[k], lat[k])
            a_buf[k - s] = a
            b_buf[k - s] = b
        for k in range(s, e):
            a = a_buf[k - s]
            if a < b_buf[k - s]:
                touch += fa[_LF_SEG + ia[items + a] * SEG_STRIDE]
        for k in range(s, e):
            i, d, p = _line_eval(fa, ia, lon[k], lat[k], a_buf[k - s], b_buf[k - s])
            out_id[k] = i
            out_d[k] = d
            out_pos[k] = p
    if touch == -1.5:
        out_d[0] = out_d[0]


# Packed zone layer. fa: [x0, y0, inv_cs, 0...] + tm params at 8 + site data from 32:
# per site: [kind(0 point / 1 polygon), radius, x, y] then polygon edges (4 floats each).
# ia: header [nx, ny, off_cell_ptr, off_items, off_site_off, off_site_edge_lo,
#            off_site_edge_hi, off_site_rank]
_ZF_TM = 8
_ZF_SITE = 32
SITE_STRIDE = 4
_ZI_NX, _ZI_NY, _ZI_CELL, _ZI_ITEMS, _ZI_EDGELO, _ZI_EDGEHI, _ZI_RANK, _ZI_EDGEBASE = range(8)


@njit(cache=True, nogil=True)
def _site_distance(fa: np.ndarray, ia: np.ndarray, s: int, x: float, y: float) -> float:
    o = _ZF_SITE + s * SITE_STRIDE
    if fa[o] == 0.0:
        dx = x - fa[o + 2]
        dy = y - fa[o + 3]
        return math.sqrt(dx * dx + dy * dy)
    lo = ia[ia[_ZI_EDGELO] + s]
    hi = ia[ia[_ZI_EDGEHI] + s]
    base = ia[_ZI_EDGEBASE]
    best = math.inf
    crossings = 0
    for j in range(lo, hi):
        q = base + 4 * j
        x1 = fa[q]
        y1 = fa[q + 1]
        x2 = fa[q + 2]
        y2 = fa[q + 3]
        d, _t = point_segment_distance(x, y, x1, y1, x2, y2)
        if d < best:
            best = d
        if (y1 > y and y2 <= y) or (y2 > y and y1 <= y):
            o2 = orientation_filter(x1, y1, x2, y2, x, y)
            if o2 == 0:
                return 0.0
            if y2 < y1:
                o2 = -o2
            if o2 == 1:
                crossings += 1
    if best == 0.0:
        return 0.0
    if crossings & 1:
        return 0.0
    return best


@njit(cache=True, nogil=True)
def _zone_eval(fa, ia, lon, lat, a, b, ids, ds, n):
    """Append (site id, distance) of every zone containing the point; returns (n, ids, ds)."""
    if a == b:
        return n, ids, ds
    x, y = tm_forward_point(fa[_ZF_TM:], lon, lat)
    items = ia[_ZI_ITEMS]
    rank = ia[_ZI_RANK]
    n0 = n
    for j in range(a, b):
        s = ia[items + j]
        d = _site_distance(fa, ia, s, x, y)
        if d <= fa[_ZF_SITE + s * SITE_STRIDE + 1]:
            ids = _grow_i32(ids, n + 1)
            ds = _grow_f64(ds, n + 1)
            # insertion sort by (distance, code rank)
            q = n
            rs = ia[rank + s]
            while q > n0 and (ds[q - 1] > d or (ds[q - 1] == d and ia[rank + ids[q - 1]] > rs)):
                ids[q] = ids[q - 1]
                ds[q] = ds[q - 1]
                q -= 1
            ids[q] = s
            ds[q] = d
            n += 1
    return n, ids, ds


@njit(cache=True, nogil=True)
def zone_point(fa: np.ndarray, ia: np.ndarray, lon: float, lat: float):
    """Zones containing one point: (site ids, distances m), nearest first."""
    ids = np.empty(4, dtype=np.int32)
    ds = np.empty(4, dtype=np.float64)
    a, b = _cell_range(fa, ia, lon, lat)
    n, ids, ds = _zone_eval(fa, ia, lon, lat, a, b, ids, ds, 0)
    return ids[:n].copy(), ds[:n].copy()


@njit(cache=True, nogil=True)
def zone_many(
    fa: np.ndarray, ia: np.ndarray, lon: np.ndarray, lat: np.ndarray, offsets: np.ndarray
):
    """Zones containing each point as CSR: fills ``offsets`` (n + 1), returns ids and distances."""
    n = lon.shape[0]
    ids = np.empty(max(n // 4, 16), dtype=np.int32)
    ds = np.empty(max(n // 4, 16), dtype=np.float64)
    a_buf = np.empty(BATCH, dtype=np.int32)
    b_buf = np.empty(BATCH, dtype=np.int32)
    m = 0
    offsets[0] = 0
    for s in range(0, n, BATCH):
        e = min(s + BATCH, n)
        for k in range(s, e):
            a, b = _cell_range(fa, ia, lon[k], lat[k])
            a_buf[k - s] = a
            b_buf[k - s] = b
        for k in range(s, e):
            m, ids, ds = _zone_eval(fa, ia, lon[k], lat[k], a_buf[k - s], b_buf[k - s], ids, ds, m)
            offsets[k + 1] = m
    return ids[:m].copy(), ds[:m].copy()


# --------------------------------------------------------------------------- all layers, one point

KIND_TILING, KIND_MULTI, KIND_LINE, KIND_ZONE = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def snap_point_layers(
    all_fa: np.ndarray, all_ia: np.ndarray, mask: int, x: float, y: float, out: np.ndarray
) -> int:
    """Snap one point to the layers selected by ``mask`` in a single call.

    ``all_ia`` starts with a directory: ``[n_layers, (kind, fa_start, fa_stop,
    ia_start, ia_stop) * n_layers]``; layer ``s`` is selected when bit ``s`` of
    ``mask`` is set. Results go to ``out`` as one flat record per selected layer:
    tiling ``[id]`` (``UNCERTAIN`` when GEOS must decide); multi-valued
    ``[n, ids…]`` or ``[UNCERTAIN]``; line ``[id, distance, position]``; zone
    ``[n, (id, distance)…]``. Returns the length written, or ``-needed`` when
    ``out`` is too small (call again with a bigger one).
    """
    n = 0
    cap = out.shape[0]
    for s in range(all_ia[0]):
        if not (mask >> s) & 1:
            continue
        d = 1 + 5 * s
        kind = all_ia[d]
        fa = all_fa[all_ia[d + 1] : all_ia[d + 2]]
        ia = all_ia[all_ia[d + 3] : all_ia[d + 4]]
        if kind == KIND_TILING:
            if n + 1 <= cap:
                out[n] = poly_tiling_one(fa, ia, x, y)
            n += 1
        elif kind == KIND_MULTI:
            buf = np.empty(8, dtype=np.int32)
            m, unsure, buf = _poly_multi_one(fa, ia, x, y, buf, 0)
            if unsure:
                if n + 1 <= cap:
                    out[n] = UNCERTAIN
                n += 1
            else:
                if n + 1 + m <= cap:
                    out[n] = m
                    for q in range(m):
                        out[n + 1 + q] = buf[q]
                n += 1 + m
        elif kind == KIND_LINE:
            i, dist, p = line_one(fa, ia, x, y)
            if n + 3 <= cap:
                out[n] = i
                out[n + 1] = dist
                out[n + 2] = p
            n += 3
        else:
            a, b = _cell_range(fa, ia, x, y)
            if a == b:
                if n + 1 <= cap:
                    out[n] = 0
                n += 1
                continue
            ids = np.empty(4, dtype=np.int32)
            ds = np.empty(4, dtype=np.float64)
            m, ids, ds = _zone_eval(fa, ia, x, y, a, b, ids, ds, 0)
            if n + 1 + 2 * m <= cap:
                out[n] = m
                for q in range(m):
                    out[n + 1 + 2 * q] = ids[q]
                    out[n + 2 + 2 * q] = ds[q]
            n += 1 + 2 * m
    return n if n <= cap else -n


@njit(cache=True, nogil=True)
def section_start_lengths(seglen: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """Length of a section before each of its segments (sequential sums, as GEOS does)."""
    out = np.empty(seglen.shape[0], dtype=np.float64)
    acc = 0.0
    for i in range(seglen.shape[0]):
        if i == 0 or sec[i] != sec[i - 1]:
            acc = 0.0
        out[i] = acc
        acc += seglen[i]
    return out

"""Property tests: the snap index equals brute-force oracles on random data (hypothesis).

Polygons are random wiggly tilings on an integer lattice mapped to dyadic lon/lat
(lon = 114 + i·2⁻¹⁶), so vertices, midpoints of segments and points on
axis-aligned edges are exact doubles lying exactly on the boundary. The oracle
is GEOS ``covers`` over every polygon followed by the smallest-code tie-break.
Roads and zones are checked against shapely distances in the same projected
CRS (the projection itself is checked against pyproj in ``test_snap.py``).
"""

from __future__ import annotations

import os

import numpy as np
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civgrid.geo.metric import Projector
from civgrid.geo.snap import LineLayer, PolygonLayer, SnapIndex, ZoneLayer

UNIT = 2.0**-16  # degrees per lattice unit (≈ 1.5 m east, 1.8 m north)
LON0, LAT0 = 114.0, 34.0
#: More examples for a thorough local run: CIVGRID_HYPOTHESIS_EXAMPLES=2000 pytest ...
EXAMPLES = int(os.environ.get("CIVGRID_HYPOTHESIS_EXAMPLES", "80"))
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def to_lonlat(ij: np.ndarray) -> np.ndarray:
    return np.column_stack([LON0 + ij[:, 0] * UNIT, LAT0 + ij[:, 1] * UNIT])


def ll(geom):
    """Lattice geometry → lon/lat geometry (exact: dyadic)."""
    return shapely.transform(geom, lambda c: to_lonlat(c))


def random_codes(rng: np.random.Generator, n: int) -> list[str]:
    """Unique codes whose order is unrelated to position or input order."""
    letters = np.array(list("abcdefghij"))
    out: set[str] = set()
    while len(out) < n:
        out.add("".join(rng.choice(letters, rng.integers(1, 4))))
    codes = sorted(out)
    rng.shuffle(codes)
    return codes


def wiggly_cells(rng: np.random.Generator, nx: int, ny: int, spacing: int = 64) -> np.ndarray:
    """Faces of a jittered lattice whose edges are wiggly polylines shared by both sides."""
    nodes = np.zeros((nx + 1, ny + 1, 2), dtype=np.int64)
    for i in range(nx + 1):
        for j in range(ny + 1):
            jx = 0 if i in (0, nx) else rng.integers(-8, 9)
            jy = 0 if j in (0, ny) else rng.integers(-8, 9)
            nodes[i, j] = (i * spacing + jx, j * spacing + jy)

    def edge(a: np.ndarray, b: np.ndarray) -> shapely.LineString:
        if rng.random() < 0.25:  # straight (axis-aligned on the outline)
            return shapely.LineString([a, b])
        d = b - a
        nrm = np.array([-d[1], d[0]], dtype=float) / max(np.hypot(*d), 1.0)
        pts = [a]
        for t in (0.25, 0.5, 0.75):
            off = rng.integers(-5, 6)
            pts.append(np.round(a + t * d + off * nrm).astype(np.int64))
        pts.append(b)
        return shapely.LineString(np.array(pts))

    lines = []
    for i in range(nx + 1):
        for j in range(ny + 1):
            if i < nx:
                lines.append(edge(nodes[i, j], nodes[i + 1, j]))
            if j < ny:
                lines.append(edge(nodes[i, j], nodes[i, j + 1]))
    faces = shapely.get_parts(shapely.polygonize(lines))
    return faces


@st.composite
def tilings(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    nx = draw(st.integers(1, 6))
    ny = draw(st.integers(1, 6))
    n_labels = draw(st.integers(1, 12))
    drop = draw(st.floats(0.0, 0.4))
    overlap = draw(st.booleans())
    rng = np.random.default_rng(seed)
    faces = wiggly_cells(rng, nx, ny)
    labels = rng.integers(0, n_labels, len(faces))
    geoms = []
    uniq = np.unique(labels)
    for lab in uniq:
        if rng.random() < drop and (geoms or lab != uniq[-1]):
            continue  # a gap: points there get no area (at least one area is kept)
        geoms.append(ll(shapely.coverage_union_all(faces[labels == lab])))
    if overlap:  # a non-tiling extra area overlapping the others
        x0, y0 = rng.integers(0, 64 * nx, 2)
        w, h = rng.integers(8, 96, 2)
        geoms.append(ll(shapely.box(x0, y0, x0 + w, y0 + h)))
    geoms = [g for g in geoms if g.is_valid and not g.is_empty]
    return rng, geoms, random_codes(rng, len(geoms))


def boundary_and_random_points(rng, geoms, n_random=300):
    coords = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(geoms)))
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    pad = 0.1 * max(x1 - x0, y1 - y0)
    rand = np.column_stack(
        [rng.uniform(x0 - pad, x1 + pad, n_random), rng.uniform(y0 - pad, y1 + pad, n_random)]
    )
    i = rng.integers(0, len(coords) - 1, 200)
    verts = coords[i]
    mids = (coords[i] + coords[i + 1]) / 2  # dyadic: exactly on the segment
    frac = rng.integers(1, 8, 200)[:, None] / 8.0
    along = coords[i] + frac * (coords[i + 1] - coords[i])  # exact on axis-aligned edges
    ulp = np.column_stack([np.spacing(verts[:, 0]), np.spacing(verts[:, 1])])
    nudged = verts + rng.integers(-1, 2, verts.shape) * ulp
    nudged_mid = mids + rng.integers(-1, 2, mids.shape) * ulp
    pts = np.concatenate([rand, verts, mids, along, nudged, nudged_mid])
    return pts[:, 0].copy(), pts[:, 1].copy()


def oracle_areas(geoms, codes, lon, lat, tiling=True):
    """Brute force: GEOS covers over every polygon, then the smallest code."""
    pts = shapely.points(lon, lat)
    cover = np.column_stack([shapely.covers(g, pts) for g in geoms])
    order = sorted(range(len(codes)), key=codes.__getitem__)
    if not tiling:
        return [[i for i in order if cover[k, i]] for k in range(len(lon))]
    out = np.full(len(lon), -1)
    for i in reversed(order):
        out[cover[:, i]] = i
    return out


@SETTINGS
@given(tilings())
def test_tiling_layer_equals_bruteforce(case) -> None:
    rng, geoms, codes = case
    index = SnapIndex.build([PolygonLayer("g", codes, geoms)])
    lon, lat = boundary_and_random_points(rng, geoms)
    want = oracle_areas(geoms, codes, lon, lat)
    got = index.snap_many(lon, lat)["g"].ids
    np.testing.assert_array_equal(got, want)
    for k in rng.choice(len(lon), 40, replace=False):
        hit = index.snap(lon[k], lat[k])["g"]
        assert hit.id == want[k]
        assert hit.code == (codes[want[k]] if want[k] >= 0 else None)


@SETTINGS
@given(tilings(), st.integers(1, 64))
def test_tiling_with_custom_cell_size(case, cells_across) -> None:
    """Any grid resolution (one cell up to very fine) gives the same exact answers."""
    rng, geoms, codes = case
    x0, y0, x1, y1 = shapely.total_bounds(geoms)
    cs = max(x1 - x0, y1 - y0) / cells_across
    index = SnapIndex.build([PolygonLayer("g", codes, geoms, cell_size_deg=cs)])
    lon, lat = boundary_and_random_points(rng, geoms, n_random=100)
    np.testing.assert_array_equal(
        index.snap_many(lon, lat)["g"].ids, oracle_areas(geoms, codes, lon, lat)
    )


@st.composite
def overlapping_areas(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 10))
    rng = np.random.default_rng(seed)
    geoms = []
    for _ in range(n):
        x0, y0 = rng.integers(0, 200, 2)
        w, h = rng.integers(4, 120, 2)
        g = shapely.box(x0, y0, x0 + w, y0 + h)
        if rng.random() < 0.3 and w > 12 and h > 12:  # with a hole
            g = g.difference(shapely.box(x0 + 4, y0 + 4, x0 + w - 4, y0 + h // 2))
        if rng.random() < 0.3:  # a second part far away
            g = shapely.union(g, shapely.box(x0 + 300, y0, x0 + 300 + w // 2, y0 + h))
        geoms.append(ll(g))
    return rng, geoms, random_codes(rng, n)


@SETTINGS
@given(overlapping_areas())
def test_multi_valued_layer_equals_bruteforce(case) -> None:
    rng, geoms, codes = case
    index = SnapIndex.build([PolygonLayer("s", codes, geoms, tiling=False)])
    lon, lat = boundary_and_random_points(rng, geoms, n_random=200)
    want = oracle_areas(geoms, codes, lon, lat, tiling=False)
    out = index.snap_many(lon, lat)["s"]
    got = [out.ids[out.offsets[k] : out.offsets[k + 1]].tolist() for k in range(len(lon))]
    assert got == want
    layer = index.layer("s")
    for k in rng.choice(len(lon), 30, replace=False):
        assert layer.covering(lon[k], lat[k]) == [codes[i] for i in want[k]]


# --------------------------------------------------------------------------- roads, zones


def project(geoms, projector: Projector):
    def f(c: np.ndarray) -> np.ndarray:
        x, y = projector.forward(c[:, 0], c[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, f)


@st.composite
def road_networks(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 12))
    tol = draw(st.sampled_from([5.0, 30.0, 80.0]))
    rng = np.random.default_rng(seed)
    lines = []
    prev_end = None
    for _ in range(n):
        k = rng.integers(2, 6)
        start = prev_end if prev_end is not None and rng.random() < 0.5 else rng.integers(0, 400, 2)
        steps = rng.integers(-60, 61, (k - 1, 2))
        pts = np.vstack([start, start + np.cumsum(steps, axis=0)])
        if len(np.unique(pts, axis=0)) < 2:
            pts[-1] += 1
        prev_end = pts[-1]
        lines.append(ll(shapely.LineString(pts)))
    return rng, lines, random_codes(rng, n), tol


@SETTINGS
@given(road_networks())
def test_roads_equal_bruteforce(case) -> None:
    rng, lines, codes, tol = case
    index = SnapIndex.build([LineLayer("road", codes, lines, tolerance_m=tol)])
    projector = Projector(index.epsg)
    metric = project(np.array(lines, dtype=object), projector)
    coords = shapely.get_coordinates(np.array(lines, dtype=object))
    x0, y0, x1, y1 = shapely.total_bounds(np.array(lines, dtype=object))
    i = rng.integers(0, len(coords), 300)
    near = coords[i] + rng.normal(0, 3e-4, (300, 2))
    rand = np.column_stack([rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)])
    pts = np.concatenate([near, rand, coords[i[:50]]])  # vertices: distance 0, shared ends tie
    lon, lat = pts[:, 0].copy(), pts[:, 1].copy()
    px, py = projector.forward(lon, lat)
    pm = shapely.points(px, py)
    dist = np.column_stack([shapely.distance(g, pm) for g in metric])
    rank = np.argsort(np.argsort(np.array(codes)))
    out = index.snap_many(lon, lat)["road"]
    for k in range(len(lon)):
        ok = np.flatnonzero(dist[k] <= tol)
        if ok.size == 0:
            assert out.ids[k] == -1
            continue
        best = ok[dist[k, ok] == dist[k, ok].min()]
        want = int(best[np.argmin(rank[best])])
        assert out.ids[k] == want, (k, out.ids[k], want, dist[k, ok])
        assert out.distance_m[k] == dist[k, want]
        pos = shapely.line_locate_point(metric[want], pm[k])
        assert abs(out.position_m[k] - pos) <= 1e-9 * max(1.0, pos)
    for k in rng.choice(len(lon), 20, replace=False):
        hit = index.snap(lon[k], lat[k])["road"]
        assert hit.id == out.ids[k]


@st.composite
def key_sites(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(1, 15))
    rng = np.random.default_rng(seed)
    geoms = []
    for _ in range(n):
        x, y = rng.integers(0, 800, 2)
        if rng.random() < 0.3:
            w, h = rng.integers(2, 80, 2)
            g = shapely.box(x, y, x + w, y + h)
            if rng.random() < 0.5:
                g = shapely.union(g, shapely.box(x + w + 100, y, x + 2 * w + 100, y + h))
            geoms.append(ll(g))
        else:
            geoms.append(ll(shapely.Point(x, y)))
    radius = rng.choice([0.0, 50.0, 200.0, 400.0, 600.0], n)
    return rng, geoms, random_codes(rng, n), radius


@SETTINGS
@given(key_sites())
def test_zones_equal_bruteforce(case) -> None:
    rng, geoms, codes, radius = case
    index = SnapIndex.build([ZoneLayer("site", codes, geoms, radius_m=radius)])
    projector = Projector(index.epsg)
    metric = project(np.array(geoms, dtype=object), projector)
    g = np.array(geoms, dtype=object)
    x0, y0, x1, y1 = shapely.total_bounds(g)
    pad = 0.01
    site_pts = shapely.get_coordinates(g)[rng.integers(0, len(shapely.get_coordinates(g)), 50)]
    rand = np.column_stack(
        [rng.uniform(x0 - pad, x1 + pad, 400), rng.uniform(y0 - pad, y1 + pad, 400)]
    )
    pts = np.concatenate([rand, site_pts])
    lon, lat = pts[:, 0].copy(), pts[:, 1].copy()
    px, py = projector.forward(lon, lat)
    pm = shapely.points(px, py)
    dist = np.column_stack([shapely.distance(m, pm) for m in metric])
    rank = np.argsort(np.argsort(np.array(codes)))
    out = index.snap_many(lon, lat)["site"]
    for k in range(len(lon)):
        inside = np.flatnonzero(dist[k] <= radius)
        want = sorted(inside.tolist(), key=lambda i: (dist[k, i], rank[i]))
        got = out.ids[out.offsets[k] : out.offsets[k + 1]].tolist()
        assert got == want
        np.testing.assert_array_equal(
            out.distance_m[out.offsets[k] : out.offsets[k + 1]], dist[k, want]
        )

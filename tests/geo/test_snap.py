"""Hand-made cases for the snap index (civgrid.geo.snap): the rules, one by one."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from civgrid.geo import snap_kernels
from civgrid.geo.errors import CoordinateError, GeoError, GeometryError
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.geo.snap import (
    AreaHit,
    AreasHit,
    DuplicateCodeError,
    LineLayer,
    PolygonLayer,
    RoadHit,
    SnapIndex,
    ZoneLayer,
    ZonesHit,
)

X0, Y0 = 114.0, 34.0
D = 2.0**-8  # a dyadic cell width (≈ 430 m): midpoints of edges are exact doubles


def sq(i: int, j: int, n: int = 1) -> shapely.Polygon:
    """Square of n×n cells with lower-left cell (i, j) on the dyadic lattice."""
    return shapely.box(X0 + i * D, Y0 + j * D, X0 + (i + n) * D, Y0 + (j + n) * D)


def pt(i: float, j: float) -> tuple[float, float]:
    return X0 + i * D, Y0 + j * D


def metric(lon: float, lat: float) -> shapely.Point:
    t = Transformer.from_crs(4326, 4547, always_xy=True)
    return shapely.Point(*t.transform(lon, lat))


def metric_geom(g):
    t = Transformer.from_crs(4326, 4547, always_xy=True)
    return shapely.transform(g, lambda c: np.column_stack(t.transform(c[:, 0], c[:, 1])))


# --------------------------------------------------------------------------- tilings


@pytest.fixture(scope="module")
def grid4() -> SnapIndex:
    """2×2 squares meeting at (1, 1); input order differs from code order."""
    geoms = [sq(1, 1), sq(0, 0), sq(1, 0), sq(0, 1)]
    codes = ["d", "a", "b", "c"]  # a=(0,0) b=(1,0) c=(0,1) d=(1,1)
    return SnapIndex.build([PolygonLayer("grid", codes, geoms)])


def test_interior_points(grid4: SnapIndex) -> None:
    assert grid4.snap(*pt(0.5, 0.5))["grid"] == AreaHit("a", 1, 0.0, False)
    assert grid4.layer("grid").covering(*pt(1.5, 1.5)) == ["d"]
    assert grid4.snap(*pt(1.25, 0.75))["grid"].code == "b"


def test_shared_edge_goes_to_smallest_code(grid4: SnapIndex) -> None:
    # vertical edge x=1 between a|b (y<1) and c|d (y>1); horizontal y=1 between a/c, b/d
    assert grid4.snap(*pt(1.0, 0.5))["grid"].code == "a"
    assert grid4.snap(*pt(1.0, 1.5))["grid"].code == "c"
    assert grid4.snap(*pt(0.5, 1.0))["grid"].code == "a"
    assert grid4.snap(*pt(1.5, 1.0))["grid"].code == "b"


def test_shared_vertex_of_four_goes_to_smallest_code(grid4: SnapIndex) -> None:
    assert grid4.snap(*pt(1.0, 1.0))["grid"].code == "a"
    # outer corners belong to one square each
    assert grid4.snap(*pt(2.0, 2.0))["grid"].code == "d"
    assert grid4.snap(*pt(2.0, 0.0))["grid"].code == "b"


def test_shared_vertex_of_three_and_slanted_edges() -> None:
    # a fan of three triangles around the centre c, with slanted shared edges
    c = pt(1, 1)
    p1, p2, p3 = pt(0, 0), pt(2, 0.5), pt(0.5, 2)
    geoms = [
        shapely.Polygon([c, p1, p2]),
        shapely.Polygon([c, p2, p3]),
        shapely.Polygon([c, p3, p1]),
    ]
    index = SnapIndex.build([PolygonLayer("fan", ["z", "m", "k"], geoms)])
    assert index.snap(*c)["fan"].code == "k"
    # exact midpoints of the slanted shared edges (dyadic: exactly on the segment)
    for a, b, want in [(c, p2, "m"), (c, p3, "k"), (c, p1, "k")]:
        mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
        got = index.snap(*mid)["fan"].code
        assert got == want
        covering = [
            code
            for code, g in zip(["z", "m", "k"], geoms, strict=True)
            if g.covers(shapely.Point(mid))
        ]
        assert got == min(covering)


def test_hole_and_the_polygon_filling_it() -> None:
    outer = shapely.Polygon(sq(0, 0, 3).exterior.coords, [sq(1, 1).exterior.coords])
    island = sq(1, 1)
    only_ring = SnapIndex.build([PolygonLayer("a", ["ring"], [outer])])
    assert only_ring.snap(*pt(1.5, 1.5))["a"].code is None
    assert only_ring.snap(*pt(1.5, 1.5))["a"].id == -1
    assert only_ring.snap(*pt(1.0, 1.5))["a"].code == "ring"  # on the hole's boundary
    assert only_ring.snap(*pt(0.5, 0.5))["a"].code == "ring"
    both = SnapIndex.build([PolygonLayer("a", ["ring", "fill"], [outer, island])])
    assert both.snap(*pt(1.5, 1.5))["a"].code == "fill"
    assert both.snap(*pt(1.0, 1.5))["a"].code == "fill"  # "fill" < "ring"
    assert both.snap(*pt(2.0, 2.0))["a"].code == "fill"
    assert both.snap(*pt(2.5, 2.5))["a"].code == "ring"


def test_multipolygon() -> None:
    mp = shapely.MultiPolygon([sq(0, 0), sq(3, 0)])
    index = SnapIndex.build([PolygonLayer("m", ["two", "mid"], [mp, sq(1, 0)])])
    assert index.snap(*pt(0.5, 0.5))["m"].code == "two"
    assert index.snap(*pt(3.5, 0.5))["m"].code == "two"
    assert index.snap(*pt(1.5, 0.5))["m"].code == "mid"
    assert index.snap(*pt(2.5, 0.5))["m"].code is None
    assert index.snap(*pt(1.0, 0.5))["m"].code == "mid"  # "mid" < "two"


def test_outside_and_nearest_within() -> None:
    index = SnapIndex.build([PolygonLayer("g", ["a", "b"], [sq(0, 0), sq(1, 0)])])
    lon, lat = pt(0.5, 1.0)
    lat += 1e-4  # ≈ 11 m north of a
    plain = index.snap(lon, lat)["g"]
    assert plain.code is None and math.isnan(plain.distance_m) and not plain.snapped_nearest
    near = index.snap(lon, lat, nearest_within_m=50)["g"]
    expected = metric_geom(sq(0, 0)).distance(metric(lon, lat))
    assert near.code == "a" and near.snapped_nearest
    assert near.distance_m == pytest.approx(expected, abs=1e-6)
    assert 10 < near.distance_m < 12
    assert index.snap(lon, lat, nearest_within_m=5)["g"].code is None
    assert index.snap(lon, lat, nearest_within_m={"other": 50})["g"].code is None
    # exactly above the shared corner: equidistant to a and b → smallest code
    lon2, lat2 = pt(1.0, 1.0)
    tie = index.snap(lon2, lat2 + 1e-4, nearest_within_m=50)["g"]
    assert tie.code == "a" and tie.snapped_nearest
    # covered points are not flagged
    inside = index.snap(*pt(0.5, 0.5), nearest_within_m=50)["g"]
    assert inside == AreaHit("a", 0, 0.0, False)
    bulk = index.snap_many(
        [lon, lon2, pt(0.5, 0.5)[0]], [lat, lat2 + 1e-4, pt(0.5, 0.5)[1]], nearest_within_m=50
    )["g"]
    assert bulk.ids.tolist() == [0, 0, 0]
    assert bulk.snapped_nearest.tolist() == [True, True, False]
    assert bulk.distance_m[0] == pytest.approx(expected, abs=1e-6)
    assert bulk.distance_m[2] == 0.0


def test_multi_valued_layer_returns_every_covering_area() -> None:
    geoms = [sq(0, 0, 2), sq(1, 1, 2), sq(5, 5)]
    index = SnapIndex.build([PolygonLayer("sup", ["s2", "s1", "s3"], geoms, tiling=False)])
    layer = index.layer("sup")
    assert layer.covering(*pt(1.5, 1.5)) == ["s1", "s2"]  # code order
    assert layer.covering(*pt(0.5, 0.5)) == ["s2"]
    assert layer.covering(*pt(1.0, 1.0)) == ["s1", "s2"]  # corner of s1 on s2's interior
    assert layer.covering(*pt(4, 4)) == []
    hit = index.snap(*pt(1.5, 1.5))["sup"]
    assert isinstance(hit, AreasHit) and hit.codes == ("s1", "s2") and hit.ids == (1, 0)
    out = index.snap_many(*np.array([pt(1.5, 1.5), pt(4, 4), pt(0.5, 0.5)]).T)["sup"]
    assert out.offsets.tolist() == [0, 2, 2, 3]
    assert out.ids.tolist() == [1, 0, 0]
    near = index.snap_many(*np.array([pt(4, 4), pt(1.5, 1.5)]).T, nearest_within_m=1000)["sup"]
    assert near.offsets.tolist() == [0, 1, 3] and near.snapped_nearest.tolist() == [True, False]


# --------------------------------------------------------------------------- roads


@pytest.fixture(scope="module")
def roads() -> SnapIndex:
    r1 = shapely.LineString([pt(0, 0), pt(1, 0), pt(1, 1)])  # an L: east then north
    r2 = shapely.LineString([pt(1, 1), pt(2, 1)])  # continues east from r1's end
    r3 = shapely.LineString([pt(0, 2), pt(2, 2)])
    return SnapIndex.build([LineLayer("road", ["r2", "r1", "r3"], [r2, r1, r3], tolerance_m=30.0)])


def test_road_distance_and_position(roads: SnapIndex) -> None:
    lon, lat = pt(0.5, 0)
    lat += 1e-4  # ≈ 11 m north of the first leg of r1
    hit = roads.snap(lon, lat)["road"]
    assert isinstance(hit, RoadHit) and hit.code == "r1" and hit.id == 1
    line_m = metric_geom(shapely.LineString([pt(0, 0), pt(1, 0), pt(1, 1)]))
    p = metric(lon, lat)
    assert hit.distance_m == pytest.approx(line_m.distance(p), abs=1e-6)
    assert hit.position_m == pytest.approx(line_m.project(p), abs=1e-6)
    # on the second leg: position includes the first leg's length
    lon2, lat2 = pt(1, 0.5)
    hit2 = roads.snap(lon2 - 1e-4, lat2)["road"]
    assert hit2.code == "r1"
    assert hit2.position_m == pytest.approx(line_m.project(metric(lon2 - 1e-4, lat2)), abs=1e-6)
    assert hit2.position_m > line_m.length / 2


def test_road_tolerance(roads: SnapIndex) -> None:
    lon, lat = pt(0.5, 0)
    assert roads.snap(lon, lat + 2e-4)["road"].code == "r1"  # ≈ 22 m
    far = roads.snap(lon, lat + 4e-4)["road"]  # ≈ 44 m
    assert far == RoadHit(None, -1, far.distance_m, far.position_m)
    assert math.isnan(far.distance_m) and math.isnan(far.position_m)
    loose = SnapIndex.build(
        [LineLayer("road", ["r1"], [shapely.LineString([pt(0, 0), pt(1, 0)])], tolerance_m=60)]
    )
    assert loose.snap(lon, lat + 4e-4)["road"].code == "r1"


def test_road_tie_goes_to_smallest_code(roads: SnapIndex) -> None:
    # beyond the shared vertex (1, 1) of r1 and r2, north-west of it: nearest point of both
    # sections is that vertex, so the distances are exactly equal
    lon, lat = pt(1, 1)
    hit = roads.snap(lon - 1e-4, lat + 1e-4)["road"]
    assert hit.code == "r1"  # "r1" < "r2"
    assert hit.position_m == pytest.approx(
        metric_geom(shapely.LineString([pt(0, 0), pt(1, 0), pt(1, 1)])).length, abs=1e-6
    )
    bulk = roads.snap_many([lon - 1e-4, lon + 1e-4], [lat + 1e-4, lat + 1e-4])["road"]
    assert bulk.ids.tolist() == [1, 0]  # second point is over r2's interior


# --------------------------------------------------------------------------- zones


def test_zones_radius_and_distance() -> None:
    school = shapely.Point(pt(1, 1))
    campus = sq(3, 1)
    index = SnapIndex.build(
        [ZoneLayer("site", ["school", "campus"], [school, campus], radius_m=[400.0, 300.0])]
    )
    lon, lat = pt(1.5, 1)  # ≈ 215 m east of the school, ≈ 645 m west of the campus
    hit = index.snap(lon, lat)["site"]
    assert isinstance(hit, ZonesHit) and [c for c, _ in hit.zones] == ["school"]
    assert hit.zones[0][1] == pytest.approx(metric(*pt(1, 1)).distance(metric(lon, lat)), abs=1e-6)
    inside = index.snap(*pt(3.5, 1.5))["site"]
    assert inside.zones == (("campus", 0.0),)
    edge = index.snap(*pt(2.5, 1.5))["site"]  # ≈ 215 m from campus, ≈ 430 m from school
    assert [c for c, _ in edge.zones] == ["campus"]
    d_campus = metric_geom(campus).distance(metric(*pt(2.5, 1.5)))
    assert edge.zones[0][1] == pytest.approx(d_campus, abs=1e-6)
    both = SnapIndex.build(
        [ZoneLayer("site", ["school", "campus"], [school, campus], radius_m=1000.0)]
    )
    z = both.snap(*pt(1.8, 1.0))["site"]  # ≈ 285 m from the school, ≈ 430 m from the campus
    assert [c for c, _ in z.zones] == ["school", "campus"]  # nearest first
    assert z.zones[0][1] < z.zones[1][1]
    out = both.snap_many(*np.array([pt(1.8, 1.0), pt(9, 9), pt(3.5, 1.5)]).T)["site"]
    assert out.offsets.tolist() == [0, 2, 2, 4]
    assert out.ids[2:].tolist() == [1, 0]
    assert out.distance_m[2] == 0.0


# --------------------------------------------------------------------------- bad input


def test_nan_coordinates() -> None:
    index = SnapIndex.build([PolygonLayer("g", ["a"], [sq(0, 0)])])
    with pytest.raises(CoordinateError) as err:
        index.snap(float("nan"), 34.0)
    assert err.value.field == "lon"
    with pytest.raises(CoordinateError) as err:
        index.snap_many([X0, X0, X0], [Y0, float("inf"), float("nan")])
    assert err.value.row == 1 and err.value.field == "lat" and "row 1" in str(err.value)
    out = index.snap_many(
        [pt(0.5, 0.5)[0], float("nan")], [pt(0.5, 0.5)[1], Y0], on_invalid="skip"
    )["g"]
    assert out.ids.tolist() == [0, -1]
    with pytest.raises(CoordinateError):
        index.snap_many([X0, X0], [Y0])
    full = SnapIndex.build(
        [
            PolygonLayer("g", ["a"], [sq(0, 0)]),
            LineLayer("r", ["x"], [shapely.LineString([pt(0, 0), pt(1, 0)])]),
            ZoneLayer("z", ["s"], [shapely.Point(pt(0, 0))]),
        ]
    )
    lon = [pt(0.5, 0.0)[0], float("inf"), pt(0.0, 0.0)[0]]
    lat = [pt(0.5, 0.0)[1], Y0, float("nan")]
    got = full.snap_many(lon, lat, on_invalid="skip", nearest_within_m=100.0)
    assert got["g"].ids.tolist() == [0, -1, -1]
    assert got["r"].ids.tolist() == [0, -1, -1] and np.isnan(got["r"].distance_m[1:]).all()
    assert got["z"].offsets.tolist() == [0, 1, 1, 1]


def test_duplicate_codes_and_bad_geometries() -> None:
    with pytest.raises(DuplicateCodeError) as err:
        SnapIndex.build(
            [PolygonLayer("community", ["a", "b", "a"], [sq(0, 0), sq(1, 0), sq(2, 0)])]
        )
    assert err.value.feature == "a" and "community" in str(err.value)
    with pytest.raises(GeometryError) as err:
        SnapIndex.build([PolygonLayer("community", ["a", "e"], [sq(0, 0), shapely.Polygon()])])
    assert err.value.feature == "e" and "empty" in str(err.value) and "community" in str(err.value)
    bowtie = shapely.Polygon([pt(0, 0), pt(1, 1), pt(1, 0), pt(0, 1)])
    with pytest.raises(GeometryError) as err:
        SnapIndex.build([PolygonLayer("unit", ["x"], [bowtie])])
    assert err.value.feature == "x" and "invalid" in str(err.value)
    with pytest.raises(GeometryError):
        SnapIndex.build([PolygonLayer("unit", ["x"], [shapely.Point(pt(0, 0))])])
    with pytest.raises(GeometryError) as err:
        SnapIndex.build([LineLayer("road", ["r"], [shapely.LineString()])])
    assert err.value.feature == "r"
    with pytest.raises(GeoError):
        SnapIndex.build([PolygonLayer("g", ["a"], [sq(0, 0), sq(1, 0)])])
    with pytest.raises(GeoError):
        SnapIndex.build([ZoneLayer("z", ["a"], [shapely.Point(pt(0, 0))], radius_m=-1)])
    with pytest.raises(GeoError):
        SnapIndex.build(
            [
                LineLayer(
                    "r", ["a"], [shapely.LineString([pt(0, 0), pt(1, 0)])], tolerance_m=float("nan")
                )
            ]
        )
    with pytest.raises(GeoError):
        SnapIndex.build([PolygonLayer("g", ["a"], [sq(0, 0)], cell_size_deg=0.0)])
    with pytest.raises(GeoError):  # two layers with one name
        SnapIndex.build(
            [PolygonLayer("g", ["a"], [sq(0, 0)]), PolygonLayer("g", ["b"], [sq(1, 0)])]
        )
    with pytest.raises(GeometryError) as err:  # a road of zero length
        SnapIndex.build([LineLayer("road", ["z"], [shapely.LineString([pt(0, 0), pt(0, 0)])])])
    assert err.value.feature == "z"
    assert isinstance(DuplicateCodeError("x"), ValueError)


# --------------------------------------------------------------------------- robustness


def test_near_collinear_points_equal_geos() -> None:
    """Points within an ulp of a long slanted edge hit the uncertain path and still equal GEOS."""
    a, b = (113.9, 34.1), (114.3, 34.7)
    left = shapely.Polygon([a, b, (113.7, 34.7), (113.7, 34.1)])
    right = shapely.Polygon([a, (114.5, 34.1), (114.5, 34.7), b])
    geoms = [left, right]
    codes = ["L", "R"]
    index = SnapIndex.build([PolygonLayer("g", codes, geoms)])
    layer = index.layer("g")
    rng = np.random.default_rng(5)
    t = rng.random(2000)
    lon = a[0] + t * (b[0] - a[0])
    lat = a[1] + t * (b[1] - a[1])
    lat = lat + rng.integers(-2, 3, lon.size) * np.spacing(lat)
    lon = np.r_[lon, a[0], b[0]]  # the shared edge's ends: covered by both
    lat = np.r_[lat, a[1], b[1]]
    raw = np.empty(lon.size, dtype=np.int32)
    n_unsure = snap_kernels.poly_tiling_many(layer.fa, layer.ia, lon, lat, raw)
    assert n_unsure > 0  # the GEOS fallback is exercised
    got = index.snap_many(lon, lat)["g"].ids
    pts = shapely.points(lon, lat)
    cov = np.column_stack([shapely.covers(g, pts) for g in geoms])
    want = np.where(cov[:, 0], 0, np.where(cov[:, 1], 1, -1))
    np.testing.assert_array_equal(got, want)
    assert [index.snap(x, y)["g"].id for x, y in zip(lon[:200], lat[:200], strict=True)] == (
        want[:200].tolist()
    )
    # the same in a multi-valued layer: every covering area, GEOS deciding the unsure ones
    multi = SnapIndex.build([PolygonLayer("m", codes, geoms, tiling=False)])
    out = multi.snap_many(lon, lat)["m"]
    got_sets = [out.ids[out.offsets[k] : out.offsets[k + 1]].tolist() for k in range(lon.size)]
    want_sets = [[i for i in (0, 1) if cov[k, i]] for k in range(lon.size)]
    assert got_sets == want_sets
    assert any(len(w) == 2 for w in want_sets)  # points exactly on the shared edge
    layer_m = multi.layer("m")
    for k in range(0, lon.size, 50):
        assert layer_m.covering(lon[k], lat[k]) == [codes[i] for i in want_sets[k]]


def test_snap_many_equals_snap_and_is_thread_safe() -> None:
    geoms = [sq(i, j) for i in range(4) for j in range(4)]
    codes = [f"c{(7 * k) % 16:02d}" for k in range(16)]
    index = SnapIndex.build(
        [
            PolygonLayer("g", codes, geoms),
            LineLayer("r", ["x"], [shapely.LineString([pt(0, 2), pt(4, 2.1)])]),
            ZoneLayer("z", ["s"], [shapely.Point(pt(2, 2))], radius_m=300),
        ]
    )
    rng = np.random.default_rng(3)
    lon = X0 + rng.uniform(-0.5, 4.5, 5000) * D
    lat = Y0 + rng.uniform(-0.5, 4.5, 5000) * D
    bulk = index.snap_many(lon, lat)
    for k in range(0, 5000, 97):
        one = index.snap(lon[k], lat[k])
        assert one["g"].id == bulk["g"].ids[k]
        assert one["r"].id == bulk["r"].ids[k]
        z = bulk["z"]
        assert list(one["z"].ids) == z.ids[z.offsets[k] : z.offsets[k + 1]].tolist()
    results = []

    def work() -> None:
        results.append(index.snap_many(lon, lat)["g"].ids)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for r in results:
        np.testing.assert_array_equal(r, bulk["g"].ids)
    layer = index.layer("g")
    assert not layer.fa.flags.writeable and not layer.ia.flags.writeable


def test_empty_layers() -> None:
    index = SnapIndex.build(
        [
            PolygonLayer("a", [], []),
            PolygonLayer("m", [], [], tiling=False),
            LineLayer("r", [], []),
            ZoneLayer("z", [], []),
        ]
    )
    hit = index.snap(X0, Y0)
    assert hit["a"].code is None and hit["m"].codes == () and hit["r"].id == -1
    assert hit["z"].zones == ()
    out = index.snap_many([X0, X0 + 1], [Y0, Y0])
    assert out["a"].ids.tolist() == [-1, -1] and out["z"].offsets.tolist() == [0, 0, 0]


def test_result_to_dict_is_json_ready() -> None:
    index = SnapIndex.build(
        [
            PolygonLayer("g", ["a"], [sq(0, 0)]),
            LineLayer("r", ["x"], [shapely.LineString([pt(0, 0), pt(1, 0)])]),
            ZoneLayer("z", ["s"], [shapely.Point(pt(0, 0))]),
        ]
    )
    d = index.snap(*pt(0.5, 0.5)).to_dict()
    assert d["layers"]["g"] == {"code": "a", "distance_m": 0.0, "snapped_nearest": False}
    assert d["layers"]["r"]["code"] is None and d["layers"]["r"]["distance_m"] is None
    assert d["layers"]["z"]["zones"][0]["code"] == "s"  # ≈ 282 m < 400 m


# --------------------------------------------------------------------------- metric


def test_numba_projection_agrees_with_pyproj() -> None:
    rng = np.random.default_rng(1)
    lon = rng.uniform(73.0, 135.0, 20000)
    lat = rng.uniform(18.0, 54.0, 20000)
    for cm in (75, 102, 114, 132):
        epsg = metric_epsg_for(cm)
        p = Projector(epsg)
        assert p.tm_params is not None
        sel = np.abs(lon - cm) <= 1.6
        x, y = p.forward(lon[sel], lat[sel])
        ex, ey = Transformer.from_crs(4326, epsg, always_xy=True).transform(lon[sel], lat[sel])
        assert np.abs(x - ex).max() <= 1e-6 and np.abs(y - ey).max() <= 1e-6
    sx, sy = Projector(4547).forward(114.3, 34.8)
    assert isinstance(sx, float)
    ex, ey = Transformer.from_crs(4326, 4547, always_xy=True).transform(114.3, 34.8)
    assert abs(sx - ex) <= 1e-6 and abs(sy - ey) <= 1e-6
    assert Projector(4547, fast=False).tm_params is None
    assert metric_epsg_for(114.3) == 4547

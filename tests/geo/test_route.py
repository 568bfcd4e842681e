"""Daily route: exactness on small instances, improvement over nearest neighbour, outputs."""

import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civgrid.geo.errors import CoordinateError
from civgrid.geo.metric import Projector
from civgrid.geo.route import plan_route, route_to_geojson, route_to_gpx

BASE = (112.94, 33.05)
GPX = "{http://www.topografix.com/GPX/1/1}"


def _stops(rng, n, spread=0.04):
    return np.column_stack(
        [BASE[0] + rng.uniform(-spread, spread, n), BASE[1] + rng.uniform(-spread, spread, n)]
    )


def _len(base, stops, order, epsg):
    pts = np.vstack([base, stops[list(order)]])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def _brute(stops, epsg):
    """Shortest open path from the base by enumerating every order (metres)."""
    pts = np.vstack([BASE, stops])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    n = len(stops)
    best = np.inf
    for p in itertools.permutations(range(1, n + 1)):
        total = d[0, p[0]] + sum(d[a, b] for a, b in itertools.pairwise(p))
        best = min(best, total)
    return float(best)


@pytest.mark.parametrize("seed", range(12))
def test_small_instances_against_enumeration(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 8))  # 2..7 stops (enumeration ≤ 5040 paths)
    stops = _stops(rng, n)
    exact = plan_route(BASE, stops)  # auto → exact for ≤ 9 stops
    heur = plan_route(BASE, stops, method="heuristic")
    best = _brute(stops, exact.epsg)
    assert sorted(exact.order) == list(range(n))
    assert exact.total_m == pytest.approx(best, rel=1e-9)
    assert _len(BASE, stops, exact.order, exact.epsg) == pytest.approx(exact.total_m)
    assert heur.total_m <= best * 1.10 + 1e-6


@pytest.mark.slow
def test_nine_stops_exact():
    rng = np.random.default_rng(99)
    stops = _stops(rng, 9)
    r = plan_route(BASE, stops)
    assert r.total_m == pytest.approx(_brute(stops, r.epsg), rel=1e-9)
    assert plan_route(BASE, stops, method="heuristic").total_m <= r.total_m * 1.10


def test_collinear_stops_are_visited_in_order():
    # stops on a line east of the base, shuffled: the optimum is west→east
    stops = [(BASE[0] + 0.01 * k, BASE[1]) for k in (3, 1, 4, 2, 5)]
    for method in ("exact", "heuristic"):
        r = plan_route(BASE, stops, method=method)
        assert r.order == [1, 3, 0, 2, 4]
        assert r.total_m == pytest.approx(r.legs_m[0] * 5, rel=1e-3)


@pytest.mark.parametrize("seed", range(5))
def test_heuristic_beats_nearest_neighbour_on_50_stops(seed):
    rng = np.random.default_rng(100 + seed)
    stops = _stops(rng, 50, spread=0.08)
    nn = plan_route(BASE, stops, method="nearest")
    r = plan_route(BASE, stops)
    assert sorted(r.order) == list(range(50))
    assert r.total_m < nn.total_m
    assert _len(BASE, stops, r.order, r.epsg) == pytest.approx(r.total_m)


@pytest.mark.parametrize("seed", range(20))
def test_never_worse_than_nearest_neighbour(seed):
    rng = np.random.default_rng(200 + seed)
    stops = _stops(rng, int(rng.integers(3, 30)))
    nn = plan_route(BASE, stops, method="nearest")
    r = plan_route(BASE, stops, method="heuristic")
    assert r.total_m <= nn.total_m + 1e-6


def test_single_stop_and_legs():
    r = plan_route(BASE, [(BASE[0], BASE[1] + 0.01)])
    assert r.order == [0]
    assert r.total_m == pytest.approx(1109, abs=5)  # 0.01° latitude ≈ 1.11 km
    assert r.legs_m == [r.total_m]


def test_bad_input_names_the_stop():
    with pytest.raises(CoordinateError, match="stop 2") as exc:
        plan_route(BASE, [(112.95, 33.05), (112.96, 33.06), (np.nan, 33.0)])
    assert exc.value.row == 2
    with pytest.raises(CoordinateError, match="stop 1"):
        plan_route(BASE, [(112.95, 33.05), (112.95, 95.2)])
    with pytest.raises(CoordinateError, match="base"):
        plan_route((np.inf, 33.0), [(112.95, 33.05)])
    with pytest.raises(CoordinateError, match="no stops"):
        plan_route(BASE, [])


def test_gpx_output():
    stops = [(112.95, 33.05), (112.96, 33.06)]
    r = plan_route(BASE, stops)
    root = ET.fromstring(route_to_gpx(BASE, stops, r, names=["甲 & 乙", "丙"]))
    pts = root.findall(f".//{GPX}rtept")
    assert len(pts) == 3
    assert pts[0].find(f"{GPX}name").text == "出发点"
    names = [p.find(f"{GPX}name").text for p in pts[1:]]
    assert names == [["甲 & 乙", "丙"][i] for i in r.order]
    assert float(pts[1].attrib["lon"]) == stops[r.order[0]][0]


def test_geojson_output():
    stops = [(112.95, 33.05), (112.96, 33.06)]
    r = plan_route(BASE, stops)
    gj = route_to_geojson(BASE, stops, r)
    coords = gj["geometry"]["coordinates"]
    assert coords[0] == list(BASE)
    assert coords[1:] == [list(stops[i]) for i in r.order]
    assert gj["properties"]["total_m"] == pytest.approx(sum(r.legs_m))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-0.05, 0.05), st.floats(-0.05, 0.05)), min_size=1, max_size=7))
def test_property_exact_equals_enumeration_and_heuristic_within_10pct(offsets):
    stops = np.array([(BASE[0] + dx, BASE[1] + dy) for dx, dy in offsets])
    exact = plan_route(BASE, stops)
    best = _brute(stops, exact.epsg)
    assert exact.total_m == pytest.approx(best, rel=1e-9, abs=1e-6)
    heur = plan_route(BASE, stops, method="heuristic")
    assert sorted(heur.order) == list(range(len(stops)))
    assert heur.total_m <= best * 1.10 + 1e-6
    nn = plan_route(BASE, stops, method="nearest")
    assert heur.total_m <= nn.total_m + 1e-6


def _brute_fast(stops, epsg):
    """Shortest open path by enumerating every order, vectorised (9! = 362 880 paths)."""
    pts = np.vstack([BASE, stops])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    n = len(stops)
    perms = np.array(list(itertools.permutations(range(1, n + 1))), dtype=np.int8)
    total = d[0, perms[:, 0]] + d[perms[:, :-1], perms[:, 1:]].sum(axis=1)
    return float(total.min())


@pytest.mark.parametrize(("n", "seed"), [(n, s) for n in (8, 9) for s in range(3)])
def test_eight_and_nine_stops_against_enumeration(n, seed):
    rng = np.random.default_rng(1000 * n + seed)
    stops = _stops(rng, n, spread=0.06)
    exact = plan_route(BASE, stops)  # auto → exact (Held–Karp) up to 9 stops
    best = _brute_fast(stops, exact.epsg)
    assert sorted(exact.order) == list(range(n))
    assert exact.total_m == pytest.approx(best, rel=1e-9)
    heur = plan_route(BASE, stops, method="heuristic")
    assert sorted(heur.order) == list(range(n))
    assert heur.total_m <= best * 1.10 + 1e-6
    assert _len(BASE, stops, heur.order, heur.epsg) == pytest.approx(heur.total_m)

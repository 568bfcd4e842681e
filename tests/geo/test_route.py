import itertools
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from civgrid.geo.errors import CoordinateError
from civgrid.geo.route import plan_route, route_to_gpx

BASE = (112.94, 33.05)


def test_optimal_vs_bruteforce():
    rng = np.random.default_rng(1)
    stops = np.column_stack(
        [112.94 + rng.uniform(-0.02, 0.02, 6), 33.05 + rng.uniform(-0.02, 0.02, 6)]
    )
    r = plan_route(BASE, stops)
    assert sorted(r.order) == list(range(6))
    best = min(_len(BASE, stops, p, r.epsg) for p in itertools.permutations(range(6)))
    assert r.total_m <= best * 1.05 + 1e-6


def _len(base, stops, order, epsg):
    from civgrid.geo.metric import Projector

    pts = np.vstack([base, stops[list(order)]])
    x, y = Projector(epsg).forward(pts[:, 0], pts[:, 1])
    return float(np.hypot(np.diff(x), np.diff(y)).sum())


def test_gpx_and_bad_input():
    stops = [(112.95, 33.05), (112.96, 33.06)]
    r = plan_route(BASE, stops)
    root = ET.fromstring(route_to_gpx(BASE, stops, r))
    assert len(root.findall(".//{http://www.topografix.com/GPX/1/1}rtept")) == 3
    with pytest.raises(CoordinateError):
        plan_route(BASE, [(np.nan, 33.0)])
    with pytest.raises(CoordinateError):
        plan_route(BASE, [])


def test_geojson():
    from civgrid.geo.route import route_to_geojson

    stops = [(112.95, 33.05), (112.96, 33.06)]
    r = plan_route(BASE, stops)
    gj = route_to_geojson(BASE, stops, r)
    assert len(gj["geometry"]["coordinates"]) == 3
    assert r.total_m == pytest.approx(sum(r.legs_m))

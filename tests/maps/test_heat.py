"""Hexagon scores, ranking and hotspots of the heat map (arrays in → GeoJSON out)."""

from __future__ import annotations

import h3
import numpy as np

from civgrid.geo.crs import haversine_m, wgs84_to_gcj02
from civgrid.maps.heat import IssueArrays, density_points, hexbin_geojson

A = (112.9500, 33.0500)
B = (112.9800, 33.0700)


def arrays():
    # 5 issues at A: 3 open, 2 of them recurrences; 6 at B: all closed, 1 recurrence
    lon = [A[0]] * 5 + [B[0]] * 6
    lat = [A[1]] * 5 + [B[1]] * 6
    return IssueArrays.from_columns(
        lon,
        lat,
        open=[1, 1, 1, 0, 0] + [0] * 6,
        overdue=[1, 0, 0, 0, 0] + [0] * 6,
        recurrence=[1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0],
        category=["dumping", "dumping", "dog_nuisance", "dumping", "dumping"] + ["taxi"] * 6,
        community=["C1"] * 5 + [None] * 6,
    )


def test_scores_rank_and_hotspots():
    fc = hexbin_geojson(
        arrays(),
        9,
        category_names={"dumping": "乱堆乱倒"},
        community_names={"C1": "望东庄村"},
        top=5,
    )
    assert fc["issues"] == 11 and len(fc["features"]) == 2
    first, second = (f["properties"] for f in fc["features"])
    assert first["cell"] == h3.latlng_to_cell(A[1], A[0], 9)
    assert (first["count"], first["open"], first["overdue"], first["recurrences"]) == (5, 3, 1, 2)
    assert first["score"] == 3 + 2 * 2 and first["rank"] == 1
    assert first["top_category"] == "dumping" and first["top_category_name"] == "乱堆乱倒"
    assert first["community_name"] == "望东庄村"
    assert second["score"] == 2 and second["rank"] == 2 and second["community"] is None
    assert [h["rank"] for h in fc["hotspots"]] == [1, 2]
    assert fc["max_score"] == 7
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7


def test_weights_change_the_order():
    fc = hexbin_geojson(arrays(), 9, w_open=0.0, w_recurrence=1.0)
    assert [f["properties"]["score"] for f in fc["features"]] == [2, 1]
    fc = hexbin_geojson(arrays(), 9, w_open=1.0, w_recurrence=0.0)
    assert fc["features"][1]["properties"]["score"] == 0
    assert len(fc["hotspots"]) == 1  # zero-score cells are not hotspots


def test_hexagons_follow_the_display_crs():
    w = hexbin_geojson(arrays(), 9)["features"][0]["geometry"]["coordinates"][0]
    g = hexbin_geojson(arrays(), 9, display_crs="gcj02")["features"][0]["geometry"]["coordinates"][
        0
    ]
    gx, gy = wgs84_to_gcj02(np.array(w)[:, 0], np.array(w)[:, 1])
    assert haversine_m(np.array(g)[:, 0], np.array(g)[:, 1], gx, gy).max() < 0.2


def test_empty_and_density_points():
    empty = IssueArrays.from_columns([], [])
    assert hexbin_geojson(empty, 9)["features"] == []
    assert density_points(empty, 11)["points"] == []
    rng = np.random.default_rng(1)
    data = IssueArrays.from_columns(
        rng.normal(112.95, 0.05, 50_000), rng.normal(33.05, 0.05, 50_000)
    )
    d = density_points(data, 12, max_points=2_000)
    assert 0 < len(d["points"]) <= 2_000 and d["res"] < 12
    lat, lon, w = d["points"][0]
    assert 32 < lat < 34 and 112 < lon < 114 and w >= 1
    assert sum(p[2] for p in d["points"]) == 50_000

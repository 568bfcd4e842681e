"""Basemap presets and the GCJ-02 display shift (pure functions)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from civgrid.geo.crs import haversine_m, wgs84_to_gcj02
from civgrid.maps.basemaps import PRESETS, BasemapError, basemap_from_settings, resolve_basemap
from civgrid.maps.display import (
    bbox_from_display,
    check_display_crs,
    from_display_geom,
    shift_geojson,
    to_display_geoms,
)

SHEQI = (112.9472, 33.056)


def test_presets_and_display_crs():
    tdt = resolve_basemap("tianditu:abc123")
    assert tdt.crs == "cgcs2000" and tdt.display_crs == "wgs84"
    assert [t.name for t in tdt.tiles] == ["天地图矢量", "天地图注记"]
    assert "vec_w/wmts" in tdt.tiles[0].url and "TILEMATRIXSET=w" in tdt.tiles[0].url
    assert "cva_w/wmts" in tdt.tiles[1].url and tdt.tiles[1].overlay
    assert all(t.url.endswith("tk=abc123") for t in tdt.tiles)
    assert resolve_basemap("tianditu-img:k").tiles[0].url.count("img_w") == 1
    for name in ("amap", "amap-img", "tencent"):
        assert resolve_basemap(name).display_crs == "gcj02", name
    off = resolve_basemap(None)
    assert off.offline and off.tiles == () and off.display_crs == "wgs84"
    assert resolve_basemap("none").offline
    intranet = resolve_basemap(
        "http://10.0.0.5/tiles/{z}/{x}/{y}.png", crs="gcj02", attribution="县大数据中心"
    )
    assert intranet.key == "intranet" and intranet.display_crs == "gcj02"
    assert intranet.tiles[0].attribution == "县大数据中心"
    assert set(PRESETS) >= {"tianditu", "amap", "intranet", "none"}


@pytest.mark.parametrize(
    "value, kwargs",
    [
        ("tianditu", {}),
        ("baidu", {}),
        ("http://x/{z}/{x}.png", {}),
        ("http://x/{z}/{x}/{y}.png", {"crs": "bd09"}),
    ],
)
def test_bad_basemaps_are_refused(value, kwargs):
    with pytest.raises(BasemapError):
        resolve_basemap(value, **kwargs)


def test_basemap_from_settings_reads_optional_fields():
    class S:
        basemap_url = "amap"
        basemap_attribution = ""
        basemap_crs = "wgs84"

    assert basemap_from_settings(S()).key == "amap"

    class T(S):
        basemap_preset = "tianditu"
        tianditu_key = "k1"

    assert basemap_from_settings(T()).tiles[0].url.endswith("tk=k1")


def test_display_crs_names():
    assert check_display_crs(None) == "wgs84"
    assert check_display_crs("CGCS2000") == "wgs84"
    assert check_display_crs("GCJ-02") == "gcj02"
    with pytest.raises(ValueError):
        check_display_crs("bd09")


def test_geometry_shift_matches_the_point_conversion_and_inverts():
    rng = np.random.default_rng(3)
    lon = rng.uniform(112.8, 113.1, 50)
    lat = rng.uniform(32.9, 33.2, 50)
    poly = shapely.Polygon(np.column_stack([lon[:10], lat[:10]])).convex_hull
    shifted = to_display_geoms(poly, "gcj02")
    glon, glat = wgs84_to_gcj02(
        np.asarray(poly.exterior.coords)[:, 0], np.asarray(poly.exterior.coords)[:, 1]
    )
    np.testing.assert_allclose(np.asarray(shifted.exterior.coords), np.column_stack([glon, glat]))
    assert to_display_geoms(poly, "wgs84") is poly
    back = from_display_geom(shifted, "gcj02")
    b = np.asarray(back.exterior.coords)
    p = np.asarray(poly.exterior.coords)
    err = haversine_m(b[:, 0], b[:, 1], p[:, 0], p[:, 1])
    assert err.max() < 0.01


def test_shift_geojson_feature_collection():
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"a": 1},
                "geometry": {"type": "Point", "coordinates": list(SHEQI)},
            },
            {"type": "Feature", "properties": {}, "geometry": None},
        ],
    }
    out = shift_geojson(fc, "gcj02")
    gx, gy = wgs84_to_gcj02(*SHEQI)
    x, y = out["features"][0]["geometry"]["coordinates"]
    assert haversine_m(x, y, gx, gy) < 0.1
    assert out["features"][0]["properties"] == {"a": 1}
    assert out["features"][1]["geometry"] is None
    assert fc["features"][0]["geometry"]["coordinates"] == list(SHEQI)  # input untouched
    assert shift_geojson(fc, "wgs84")["features"][0]["geometry"]["coordinates"] == list(SHEQI)


def test_display_bbox_back_to_wgs84_covers_the_area():
    gx, gy = wgs84_to_gcj02(*SHEQI)
    box = bbox_from_display((gx - 0.01, gy - 0.01, gx + 0.01, gy + 0.01), "gcj02")
    assert box[0] < SHEQI[0] < box[2] and box[1] < SHEQI[1] < box[3]
    # the offset is several hundred metres: the unshifted box would be wrong by that much
    assert abs((box[0] + box[2]) / 2 - SHEQI[0]) < 1e-4

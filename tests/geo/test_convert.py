"""WKB ↔ shapely ↔ GeoJSON conversions, the only place they happen."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from civgrid.geo import convert
from civgrid.geo.errors import GeometryError

SQUARE = Polygon([(112.94, 33.05), (112.95, 33.05), (112.95, 33.06), (112.94, 33.06)])
POINT = Point(115.6564, 34.4145)


@pytest.mark.parametrize("geom", [POINT, SQUARE, MultiPolygon([SQUARE])], ids=str)
def test_wkb_round_trip(geom):
    assert convert.from_wkb(convert.to_wkb(geom)).equals_exact(geom, 0)
    assert convert.to_shapely(convert.to_wkb(geom, hex=True)).equals_exact(geom, 0)


def test_ewkb_carries_srid():
    data = convert.to_wkb(POINT, srid=4326)
    assert shapely.get_srid(convert.from_wkb(data)) == 4326
    hexed = convert.to_wkb(POINT, srid=4326, hex=True)
    assert hexed.upper().startswith("0101000020E6100000")  # PostGIS EWKB, SRID 4326
    assert shapely.get_srid(convert.to_shapely(hexed)) == 4326
    assert shapely.get_srid(convert.from_wkb(convert.to_wkb(POINT))) == 0


def test_to_shapely_accepts_every_representation():
    as_dict = {"type": "Point", "coordinates": [115.6564, 34.4145]}
    for obj in (
        POINT,
        convert.to_wkb(POINT),
        memoryview(convert.to_wkb(POINT)),
        convert.to_wkb(POINT, hex=True),
        as_dict,
        json.dumps(as_dict),
        {"type": "Feature", "properties": {}, "geometry": as_dict},
        "POINT (115.6564 34.4145)",
    ):
        assert convert.to_shapely(obj).equals(POINT), obj


def test_geojson_round_trip_and_rounding():
    g = Point(115.123456789, 34.987654321)
    d = convert.to_geojson_geometry(g)
    assert d == {"type": "Point", "coordinates": [115.1234568, 34.9876543]}
    assert convert.to_geojson_geometry(g, decimals=None)["coordinates"] == [
        115.123456789,
        34.987654321,
    ]
    back = convert.from_geojson_geometry(convert.to_geojson_geometry(SQUARE))
    assert back.equals(SQUARE)
    assert isinstance(convert.to_geojson_geometry(SQUARE)["coordinates"][0], list)


def test_round_coordinates_is_centimetre_precision():
    g = Point(115.123456789, 34.987654321)
    r = convert.round_coordinates(g)
    assert (r.x, r.y) == (115.1234568, 34.9876543)
    arr = convert.round_coordinates(np.array([g, g]), 3)
    assert arr[1].x == 115.123


def test_empty_geometry_serialises_with_empty_coordinates():
    assert convert.to_geojson_geometry(Polygon()) == {"type": "Polygon", "coordinates": []}
    assert convert.from_geojson_geometry({"type": "Polygon", "coordinates": []}).is_empty


def test_feature_and_collection():
    f = convert.feature(SQUARE, {"code": "411421001", "n": np.int64(3), "x": np.nan}, id=7)
    assert f["type"] == "Feature" and f["id"] == 7
    assert f["properties"] == {"code": "411421001", "n": 3, "x": None}
    assert f["geometry"]["type"] == "Polygon"
    json.dumps(f)  # serialisable
    assert convert.feature(None, {"a": 1})["geometry"] is None
    fc = convert.feature_collection([f, (POINT, {"b": 2}), POINT], name="test")
    assert fc["type"] == "FeatureCollection" and fc["name"] == "test"
    assert [x["geometry"]["type"] for x in fc["features"]] == ["Polygon", "Point", "Point"]
    assert fc["features"][1]["properties"] == {"b": 2}


def test_wkb_arrays():
    geoms = np.array([POINT, SQUARE, None], dtype=object)
    wkb = convert.to_wkb_array(geoms, srid=4326)
    assert wkb.shape == (3,) and wkb[2] is None
    back = convert.from_wkb_array(wkb)
    assert back[0].equals(POINT) and back[1].equals(SQUARE) and back[2] is None
    assert shapely.get_srid(back[1]) == 4326
    hexed = convert.to_wkb_array(geoms, hex=True)
    assert isinstance(hexed[0], str)


def test_errors_name_the_feature():
    with pytest.raises(GeometryError) as info:
        convert.from_wkb_array([convert.to_wkb(POINT), b"\x01\x02garbage"])
    assert info.value.feature == 1 and "WKB" in str(info.value)
    with pytest.raises(GeometryError, match=r"^feature 1: not a shapely geometry: int"):
        convert.to_wkb_array([POINT, 3])
    with pytest.raises(GeometryError, match="feature 'x'"):
        convert.from_geojson_geometry({"type": "Polygon", "coordinates": [[1, 2]]}, feature="x")
    with pytest.raises(GeometryError, match="unknown GeoJSON geometry type 'Circle'"):
        convert.to_shapely({"type": "Circle", "coordinates": [1, 2]})
    with pytest.raises(GeometryError, match="no 'coordinates'"):
        convert.to_shapely({"type": "Point"})
    with pytest.raises(GeometryError, match="null geometry") as info:
        convert.to_shapely(None, feature=4)
    assert info.value.to_dict()["feature"] == 4
    with pytest.raises(GeometryError, match="not WKT, WKB hex or GeoJSON"):
        convert.to_shapely("hello world")
    with pytest.raises(GeometryError, match="not valid JSON"):
        convert.from_geojson_geometry("{oops")
    with pytest.raises(GeometryError):
        convert.to_shapely(42)


def test_to_json_value():
    assert convert.to_json_value(np.float32(1.5)) == 1.5
    assert convert.to_json_value(float("inf")) is None
    assert convert.to_json_value(np.array([1, 2])) == [1, 2]
    assert convert.to_json_value(b"\xe6\xb0\x91") == "民"

"""File IO: formats, encodings, CRS handling and error messages that name the fix."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

from civgrid.geo import convert, crs, io
from civgrid.geo.errors import (
    CoordinateError,
    FileFormatError,
    GeometryError,
    UnknownCRSError,
)
from civgrid.geo.metric import Projector, metric_epsg_for

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
COUNTIES = REAL / "shangqiu_411400_counties.geojson"

NAMES = ["梁园区", "民权县", "睢县"]


def _square(lon: float, lat: float, d: float = 0.01) -> Polygon:
    return Polygon([(lon, lat), (lon + d, lat), (lon + d, lat + d), (lon, lat + d)])


@pytest.fixture
def polygons():
    """Three small polygons near Minquan (one MultiPolygon) with Chinese attributes."""
    geoms = [
        _square(115.10, 34.60),
        MultiPolygon([_square(115.12, 34.60), _square(115.14, 34.60)]),
        _square(115.16, 34.60),
    ]
    props = [
        {"code": "411421001", "name": name, "area_rank": i + 1, "share": 0.5 * i}
        for i, name in enumerate(NAMES)
    ]
    return geoms, props


@pytest.fixture
def points():
    geoms = [Point(115.6564, 34.4145), Point(115.1481, 34.6482)]
    props = [{"name": "商丘", "kind": "city"}, {"name": "民权", "kind": None}]
    return geoms, props


def metric_shift_m(a, b) -> np.ndarray:
    """Vertex-by-vertex distance in metres between two geometry arrays (GK projection)."""
    ca = shapely.get_coordinates(a)
    cb = shapely.get_coordinates(b)
    proj = Projector(metric_epsg_for(ca[:, 0]))
    xa, ya = proj.forward(ca[:, 0], ca[:, 1])
    xb, yb = proj.forward(cb[:, 0], cb[:, 1])
    return np.hypot(xa - xb, ya - yb)


def hausdorff_m(a, b) -> float:
    """Largest Hausdorff distance in metres between paired geometries (GK projection)."""
    proj = Projector(metric_epsg_for(shapely.get_coordinates(a)[:, 0]))

    def fwd(g):
        return shapely.transform(g, lambda xy: np.column_stack(proj.forward(xy[:, 0], xy[:, 1])))

    return float(np.max(shapely.hausdorff_distance(fwd(np.asarray(a)), fwd(np.asarray(b)))))


def _same_geoms(a, b, tol: float = 1e-7) -> bool:
    return all(
        shapely.equals_exact(shapely.normalize(x), shapely.normalize(y), tol)
        for x, y in zip(a, b, strict=True)
    )


# --------------------------------------------------------------------------- round trips


def test_geojson_round_trip(tmp_path, polygons):
    path = io.write_geojson(tmp_path / "g.geojson", polygons, name="grids")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["name"] == "grids" and "民权县" in path.read_text(encoding="utf-8")
    t = io.read_features(path)
    assert len(t) == 3 and t.driver == "GeoJSON" and t.source_crs == "wgs84"
    assert _same_geoms(t.geometries, polygons[0])
    assert t.properties == polygons[1]
    assert t.fields == ["code", "name", "area_rank", "share"]
    # a FeatureTable and a FeatureCollection dict are accepted too
    io.write_geojson(tmp_path / "g2.geojson", t)
    io.write_geojson(tmp_path / "g3.geojson", t.to_geojson())
    assert io.read_features(tmp_path / "g3.geojson").properties == polygons[1]


def test_gpkg_round_trip_with_layers(tmp_path, polygons, points):
    path = tmp_path / "grids.gpkg"
    io.write_gpkg(path, polygons, layer="community")
    io.write_gpkg(path, points, layer="key_site")
    t = io.read_features(path, layer="community")
    assert t.driver == "GPKG" and t.layer == "community" and t.source_crs == "wgs84"
    # mixed Polygon/MultiPolygon are written as MultiPolygon: same shapes, one type
    assert {g.geom_type for g in t.geometries} == {"MultiPolygon"}
    assert all(shapely.equals(t.geometries, polygons[0]))
    assert t.properties == polygons[1]
    p = io.read_features(path, layer="key_site")
    assert p.properties == points[1]  # null stays None
    with pytest.raises(FileFormatError, match="2 layers: community, key_site") as info:
        io.read_features(path)
    assert "--layer" in str(info.value)
    with pytest.raises(FileFormatError, match="did you mean 'community'"):
        io.read_features(path, layer="comunity")


def test_shapefile_round_trip(tmp_path, polygons):
    path = io.write_shapefile(tmp_path / "grids.shp", polygons)
    assert (tmp_path / "grids.cpg").read_text().strip() == "UTF-8"
    assert (tmp_path / "grids.prj").exists()
    t = io.read_features(path)
    assert t.driver == "ESRI Shapefile" and t.encoding == "UTF-8"
    assert _same_geoms(t.geometries, polygons[0], tol=0)
    assert [p["name"] for p in t.properties] == NAMES
    assert [p["area_rank"] for p in t.properties] == [1, 2, 3]
    assert t.fields[:2] == ["code", "name"]


def test_csv_round_trip_points(tmp_path, points):
    path = io.write_csv(tmp_path / "sites.csv", points)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "name,kind,lon,lat"
    t = io.read_features(path)
    assert t.driver == "CSV" and t.fields == ["name", "kind"]
    assert _same_geoms(t.geometries, points[0])
    assert t.properties == points[1]


def test_csv_round_trip_polygons_as_wkt(tmp_path, polygons):
    path = io.write_csv(tmp_path / "grids.csv", polygons, bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel-friendly
    t = io.read_features(path)
    assert _same_geoms(t.geometries, polygons[0])
    # CSV values come back as text: codes keep their leading zeros
    assert t.properties[1] == {
        "code": "411421001",
        "name": "民权县",
        "area_rank": "2",
        "share": "0.5",
    }


def test_csv_attribute_clashing_with_coordinate_column(tmp_path):
    with pytest.raises(FileFormatError, match="'lon'"):
        io.write_csv(tmp_path / "x.csv", ([Point(115, 34)], [{"lon": 1}]))


def test_shapefile_cannot_mix_geometry_types(tmp_path):
    with pytest.raises(GeometryError, match="one geometry type"):
        io.write_shapefile(tmp_path / "x.shp", ([Point(115, 34), _square(115, 34)], [{}, {}]))


# --------------------------------------------------------------------------- encodings


@pytest.fixture
def gbk_shapefile(tmp_path, polygons) -> Path:
    """A Shapefile with GBK attributes, as old Chinese desktop GIS writes them."""
    path = io.write_shapefile(tmp_path / "gbk.shp", polygons, encoding="GBK")
    assert (tmp_path / "gbk.cpg").read_text().strip() == "GBK"
    assert "民权县".encode("gbk") in (tmp_path / "gbk.dbf").read_bytes()
    return path


def test_gbk_shapefile_with_cpg(gbk_shapefile):
    t = io.read_features(gbk_shapefile)
    assert [p["name"] for p in t.properties] == NAMES
    assert t.encoding == "GBK"


def test_gbk_shapefile_without_cpg_and_explicit_encoding(gbk_shapefile):
    gbk_shapefile.with_suffix(".cpg").unlink()
    t = io.read_features(gbk_shapefile, encoding="gbk")
    assert [p["name"] for p in t.properties] == NAMES


def test_gbk_shapefile_read_wrongly_names_the_fix(gbk_shapefile):
    gbk_shapefile.with_suffix(".cpg").unlink()
    # GDAL falls back to ISO-8859-1: mojibake, which must not be imported silently
    with pytest.raises(FileFormatError) as info:
        io.read_features(gbk_shapefile)
    err = info.value
    assert "--encoding gbk" in str(err)
    assert err.field == "name" and err.feature == 0
    assert "梁园区" in str(err)  # shows what the text would read as
    # the explicit encoding overrides a .cpg, and a wrong one is caught as well
    with pytest.raises(FileFormatError, match="--encoding gbk") as info:
        io.read_features(gbk_shapefile, encoding="utf-8")
    assert info.value.field == "name"


def test_encoding_overrides_a_wrong_cpg(gbk_shapefile):
    gbk_shapefile.with_suffix(".cpg").write_text("UTF-8")
    with pytest.raises(FileFormatError, match="--encoding gbk"):
        io.read_features(gbk_shapefile)
    t = io.read_features(gbk_shapefile, encoding="gbk")
    assert t.properties[1]["name"] == "民权县"


def test_gbk_csv(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes("名称,经度,纬度\n民权县,115.1481,34.6482\n".encode("gbk"))
    with pytest.raises(FileFormatError, match="--encoding gbk"):
        io.read_features(path)
    t = io.read_features(path, encoding="GBK")
    assert t.properties == [{"名称": "民权县"}] and t.encoding == "gbk"


def test_unknown_encoding(tmp_path, polygons):
    path = io.write_geojson(tmp_path / "g.geojson", polygons)
    with pytest.raises(FileFormatError, match="unknown encoding 'klingon'"):
        io.read_features(path, encoding="klingon")


# --------------------------------------------------------------------------- the real sample


@pytest.fixture(scope="module")
def shangqiu():
    return io.read_features(COUNTIES, crs="gcj02", required_fields=("adcode", "name"))


def test_real_sample_gcj02(shangqiu, record_property):
    t = shangqiu
    assert len(t) == 9
    assert t.source_crs == "gcj02"
    names = t.column("name")
    assert "民权县" in names and "永城市" in names
    assert all(g.geom_type == "MultiPolygon" and g.is_valid for g in t.geometries)
    shift = metric_shift_m(t.geometries, t.raw_geometries)
    record_property("shangqiu_shift_m", (float(shift.min()), float(shift.max())))
    print(f"Shangqiu GCJ-02 -> WGS84 shift: {shift.min():.1f}–{shift.max():.1f} m")
    assert shift.min() > 500 and shift.max() < 600
    # the vertex count is unchanged and the converted polygons are really moved
    assert len(shapely.get_coordinates(t.geometries)) == 7246
    # WGS84 geometries sit south-west of the GCJ-02 ones
    dx = shapely.get_coordinates(t.geometries) - shapely.get_coordinates(t.raw_geometries)
    assert np.all(dx[:, 0] < 0) and np.all(dx[:, 1] > -0.01)


def test_real_sample_matches_crs_module(shangqiu):
    raw = shapely.get_coordinates(shangqiu.raw_geometries)
    lon, lat = crs.gcj02_to_wgs84(raw[:, 0], raw[:, 1])
    assert np.allclose(shapely.get_coordinates(shangqiu.geometries), np.column_stack([lon, lat]))


def test_real_sample_without_crs_notes_the_assumption():
    t = io.read_features(COUNTIES)
    assert t.source_crs == "wgs84"
    notes = " ".join(t.notes)
    assert "--crs gcj02" in notes  # the file's own "crs" attribute says GCJ-02
    assert _same_geoms(t.geometries, t.raw_geometries, tol=0)


def test_missing_required_field_suggests_close_match():
    with pytest.raises(FileFormatError) as info:
        io.read_features(COUNTIES, required_fields=("nmae",))
    err = info.value
    assert err.field == "nmae"
    assert "did you mean 'name'?" in str(err)
    assert "adcode, name, level" in str(err)  # lists the available fields
    assert err.to_dict()["hint"] == "did you mean 'name'?"
    with pytest.raises(FileFormatError, match="did you mean 'adcode'"):
        io.read_features(COUNTIES, required_fields=("adcod",))


# --------------------------------------------------------------------------- CRS of files


def test_projected_shapefile_is_unprojected(tmp_path, polygons):
    proj = Projector(4547)  # CGCS2000 / 3-degree GK CM 114E, metres
    projected = [
        shapely.transform(g, lambda xy: np.column_stack(proj.forward(xy[:, 0], xy[:, 1])))
        for g in polygons[0]
    ]
    assert shapely.bounds(projected[0])[0] > 100_000  # metres
    # write_shapefile always declares EPSG:4326: write with the real CRS
    pyogrio.raw.write(
        tmp_path / "gk2.shp",
        convert.to_wkb_array(np.array(projected, dtype=object)),
        [np.array(NAMES, dtype=object)],
        ["name"],
        geometry_type="MultiPolygon",
        promote_to_multi=True,
        crs="EPSG:4547",
        driver="ESRI Shapefile",
    )
    t = io.read_features(tmp_path / "gk2.shp")
    assert t.source_crs == "EPSG:4547"
    assert any("reprojected from EPSG:4547" in n for n in t.notes)
    assert hausdorff_m(t.geometries, polygons[0]) < 0.01


def test_file_without_crs_is_assumed_wgs84(tmp_path, points):
    path = tmp_path / "noprj.shp"
    io.write_shapefile(path, points)
    path.with_suffix(".prj").unlink()
    t = io.read_features(path)
    assert t.source_crs == "wgs84"
    assert any("declares no coordinate system; assumed WGS84" in n for n in t.notes)
    t = io.read_features(path, crs="bd09")
    assert t.source_crs == "bd09"
    assert 600 < metric_shift_m(t.geometries, t.raw_geometries).min() < 1500


def test_metres_without_prj_is_an_unknown_crs(tmp_path):
    path = tmp_path / "metres.shp"
    io.write_shapefile(path, ([Point(115.6, 34.4), Point(500_000, 3_800_000)], [{}, {}]))
    path.with_suffix(".prj").unlink()
    with pytest.raises(UnknownCRSError, match="not lon/lat degrees") as info:
        io.read_features(path)
    assert info.value.feature == 1
    assert ".prj" in str(info.value)


def test_broken_prj_is_an_unknown_crs(tmp_path, points):
    path = io.write_shapefile(tmp_path / "bad.shp", points)
    path.with_suffix(".prj").write_text('PROJCS["nonsense",GEOGCS["x"]]')
    with pytest.raises(UnknownCRSError, match=r"bad\.prj cannot be understood"):
        io.read_features(path)


def test_unknown_declared_crs(tmp_path, points):
    path = io.write_geojson(tmp_path / "p.geojson", points)
    with pytest.raises(UnknownCRSError, match="unknown coordinate system 'EPSG:3857'"):
        io.read_features(path, crs="EPSG:3857")


# --------------------------------------------------------------------------- CSV input


def test_csv_detects_chinese_columns_and_converts(tmp_path):
    path = tmp_path / "sites.csv"
    path.write_text("名称,经度,纬度\n民权,115.153961940,34.647259139\n", encoding="utf-8")
    t = io.read_features(path, crs="gcj02")
    assert t.fields == ["名称"] and t.source_crs == "gcj02"
    # the reference pair: GCJ-02 (115.153961940, 34.647259139) is WGS84 (115.1481, 34.6482)
    g = t.geometries[0]
    assert crs.haversine_m(g.x, g.y, 115.1481, 34.6482) < 0.1
    assert t.raw_geometries[0].equals(Point(115.153961940, 34.647259139))


def test_csv_explicit_columns_and_semicolons(tmp_path):
    path = tmp_path / "pts.csv"
    path.write_text("id;E;N\n1;115.6;34.4\n2;115.7;34.5\n", encoding="utf-8")
    t = io.read_features(path, lon_field="E", lat_field="N")
    assert [g.x for g in t.geometries] == [115.6, 115.7]
    assert t.properties == [{"id": "1"}, {"id": "2"}]


def test_csv_bad_rows_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "name,lon,lat\nok,115.6,34.4\nnan,115.7,NaN\nempty,,34.5\nswapped,34.6,115.2\n",
        encoding="utf-8",
    )
    with pytest.raises(CoordinateError) as info:
        io.read_features(path)
    err = info.value
    assert (err.row, err.field) == (1, "lat")
    assert str(err).startswith("row 1, field 'lat': not a number (NaN) (CSV line 3)")
    assert [(p["row"], p["problem"]) for p in err.problems] == [
        (1, "not_finite"),
        (2, "not_finite"),
        (3, "swapped"),
    ]
    assert err.problems[1]["field"] == "lon"


def test_csv_swapped_row(tmp_path):
    path = tmp_path / "swapped.csv"
    path.write_text("name,lng,lat\na,115.6,34.4\nb,34.5,115.7\n", encoding="utf-8")
    with pytest.raises(CoordinateError, match="swapped") as info:
        io.read_features(path)
    assert info.value.row == 1
    assert "CSV line 3" in str(info.value)


def test_csv_text_in_number_column(tmp_path):
    path = tmp_path / "text.csv"
    path.write_text("name,lon,lat\na,115.6,34.4\nb,东经115,34.4\n", encoding="utf-8")
    with pytest.raises(CoordinateError, match=r"not a number: '东经115'") as info:
        io.read_features(path)
    assert (info.value.row, info.value.field) == (1, "lon")


def test_csv_missing_coordinate_columns(tmp_path):
    path = tmp_path / "none.csv"
    path.write_text("name,where\na,here\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="no longitude column") as info:
        io.read_features(path)
    assert "--lon-field" in str(info.value)
    path.write_text("name,longitud,lat\na,115.6,34.4\n", encoding="utf-8")
    with pytest.raises(FileFormatError, match="did you mean 'longitud'"):
        io.read_features(path, lon_field="longitude")


# --------------------------------------------------------------------------- bad files


def _write_fc(path: Path, geometries: list) -> Path:
    features = [
        {"type": "Feature", "properties": {"name": f"f{i}"}, "geometry": g}
        for i, g in enumerate(geometries)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_null_geometry_names_the_feature(tmp_path):
    good = {"type": "Point", "coordinates": [115.6, 34.4]}
    path = _write_fc(tmp_path / "null.geojson", [good, good, None])
    with pytest.raises(GeometryError, match="null geometry") as info:
        io.read_features(path)
    assert info.value.feature == 2
    assert str(info.value).startswith("feature 2: null geometry")


def test_empty_geometry_names_the_feature(tmp_path):
    good = {"type": "Polygon", "coordinates": [[[115, 34], [115.1, 34], [115.1, 34.1], [115, 34]]]}
    empty = {"type": "MultiPolygon", "coordinates": []}
    path = _write_fc(tmp_path / "empty.geojson", [good, empty])
    with pytest.raises(GeometryError, match=r"(empty|null) geometry") as info:
        io.read_features(path)
    assert info.value.feature == 1


def test_required_value_empty_names_feature_and_field(tmp_path, points):
    path = io.write_geojson(tmp_path / "p.geojson", points)
    with pytest.raises(FileFormatError) as info:
        io.read_features(path, required_fields=("kind",))
    assert (info.value.feature, info.value.field) == (1, "kind")
    assert "required field 'kind' is empty" in str(info.value)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{this is not json")
    with pytest.raises(FileFormatError, match=r"cannot read bad\.geojson"):
        io.read_features(bad)
    with pytest.raises(FileFormatError, match="no such file"):
        io.read_features(tmp_path / "missing.gpkg")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty"):
        io.read_features(empty)


def test_table_column_unknown_field(shangqiu):
    with pytest.raises(FileFormatError, match="did you mean 'adcode'"):
        shangqiu.column("adcod")
    minx, miny, maxx, maxy = shangqiu.bounds
    assert 114.8 < minx < maxx < 116.7 and 33.7 < miny < maxy < 34.9


def test_layer_without_geometry_and_bad_layer_number(tmp_path):
    path = tmp_path / "table.gpkg"
    pyogrio.raw.write(path, None, [np.array(["a"], dtype=object)], ["name"], driver="GPKG")
    with pytest.raises(FileFormatError, match="no geometry column"):
        io.read_features(path)
    with pytest.raises(FileFormatError, match="no layer number 3"):
        io.read_features(COUNTIES, layer=3)


def test_importing_geo_stays_light():
    code = (
        "import sys, civgrid.geo.io, civgrid.geo.validate, civgrid.geo.convert; "
        "print(sorted(m for m in ('pyogrio', 'geopandas', 'pandas', 'fastapi', 'sqlalchemy') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

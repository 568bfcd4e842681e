"""Layer validation with handmade geometries: built in metres, fed in as lon/lat.

Shapes are drawn in the CGCS2000 Gauss-Krüger zone around Sheqi (112.94E 33.05N)
so their areas are known exactly, then unprojected to WGS84 lon/lat, which is
what validate_layer receives.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

from civgrid.geo import io
from civgrid.geo.metric import Projector, metric_epsg_for
from civgrid.geo.validate import (
    DEFAULT_SLIVER_RATIO,
    ValidationReport,
    compactness,
    validate_layer,
)

ORIGIN = (112.94, 33.05)
EPSG = metric_epsg_for(ORIGIN[0])
PROJ = Projector(EPSG)
X0, Y0 = (float(v) for v in PROJ.forward(*ORIGIN))

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"


def to_lonlat(geom_m):
    """Unproject a geometry drawn in metres relative to ORIGIN to WGS84 lon/lat."""
    return shapely.transform(
        geom_m, lambda xy: np.column_stack(PROJ.inverse(xy[:, 0] + X0, xy[:, 1] + Y0))
    )


def rect(x0, y0, x1, y1):
    """Lon/lat polygon of a rectangle given in metres relative to ORIGIN."""
    return to_lonlat(box(x0, y0, x1, y1))


def lonlat_of(x, y):
    lon, lat = PROJ.inverse(x + X0, y + Y0)
    return float(lon), float(lat)


def assert_near(finding, x, y, tol_m=60.0):
    """The finding's lon/lat lies within tol_m of the metric point (x, y)."""
    fx, fy = PROJ.forward(finding.lon, finding.lat)
    assert np.hypot(fx - X0 - x, fy - Y0 - y) < tol_m


# --------------------------------------------------------------------------- clean layers


def test_valid_tiling_is_ok():
    parent = {"411721": rect(0, 0, 2000, 1000)}
    geoms = [rect(0, 0, 1000, 1000), rect(1000, 0, 2000, 500), rect(1000, 500, 2000, 1000)]
    codes = ["411721001", "411721002", "411721003"]
    report = validate_layer(geoms, codes, parent_geoms=parent)
    assert report.ok, report.to_text()
    assert report.findings == [] and report.summary() == {} and report.repaired == {}
    assert report.metric_epsg == EPSG == 4547
    assert report.to_text().endswith("OK")


def test_valid_top_layer_is_ok():
    geoms = [rect(0, 0, 1000, 1000), rect(1000, 0, 2000, 1000)]
    assert validate_layer(geoms, ["a", "b"]).ok


# --------------------------------------------------------------------------- invalid geometry


def test_bowtie_is_repaired_and_reported():
    bowtie_m = Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])
    assert not bowtie_m.is_valid
    report = validate_layer([to_lonlat(bowtie_m)], ["bowtie"], tiling=False)
    [finding] = report.by_kind("invalid_geometry")
    assert finding.severity == "warning" and finding.codes == ("bowtie",)
    assert "Self-intersection" in finding.message
    assert_near(finding, 500, 500, tol_m=1)  # the crossing point, from is_valid_reason
    fixed = report.repaired["bowtie"]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    # two triangles of 250,000 m² each
    fixed_m = shapely.transform(fixed, lambda xy: np.column_stack(PROJ.forward(*xy.T)))
    assert fixed_m.area == pytest.approx(500_000, rel=1e-6)
    assert report.ok  # repaired: a warning, not an error


def test_unclosed_ring_is_closed_and_reported():
    ring = [list(c) for c in rect(0, 0, 1000, 1000).exterior.coords][:-1]  # drop the closing point
    geojson = {"type": "Polygon", "coordinates": [ring]}
    report = validate_layer([geojson], ["open"], tiling=False)
    [finding] = report.by_kind("invalid_geometry")
    assert "Unclosed ring" in finding.message
    assert report.repaired["open"].is_valid


def test_unrepairable_and_missing_geometries_are_errors():
    collapsed = to_lonlat(Polygon([(0, 0), (10, 0), (10, 0), (0, 0)]))  # too few points
    collinear = to_lonlat(Polygon([(0, 0), (1, 1), (2, 2), (0, 0)]))  # "valid", ~0 m²
    report = validate_layer(
        [rect(0, 0, 100, 100), None, Polygon(), collapsed, collinear, shapely.Point(ORIGIN)],
        ["ok", "null", "empty", "flat", "thin", "point"],
        tiling=False,
    )
    kinds = {f.codes[0]: f.kind for f in report.errors}
    assert kinds == {
        "null": "null_geometry",
        "empty": "empty_geometry",
        "flat": "invalid_geometry",
        "thin": "degenerate_geometry",
        "point": "not_polygonal",
    }
    [flat] = [f for f in report.errors if f.codes == ("flat",)]
    assert "cannot be repaired" in flat.message and "Too few points" in flat.message
    assert not report.ok


# --------------------------------------------------------------------------- overlaps


def test_overlapping_siblings_area_within_one_percent():
    a = rect(0, 0, 1000, 1000)
    b = rect(900, 0, 1900, 1000)  # overlaps a by 100 m x 1000 m
    report = validate_layer([a, b], ["411721001", "411721002"])
    [finding] = report.by_kind("overlap")
    assert finding.severity == "error" and not report.ok
    assert finding.codes == ("411721001", "411721002")
    assert finding.area_m2 == pytest.approx(100_000, rel=0.01)
    assert_near(finding, 950, 500, tol_m=510)
    # the spot is the overlap strip, in lon/lat
    assert finding.geometry.within(shapely.buffer(shapely.intersection(a, b), 1e-7))
    assert "overlap by 100,000 m²" in finding.message


def test_overlap_in_a_non_tiling_layer_is_a_warning():
    report = validate_layer(
        [rect(0, 0, 800, 800), rect(400, 400, 1200, 1200)], ["z1", "z2"], tiling=False
    )
    [finding] = report.by_kind("overlap")
    assert finding.severity == "warning" and report.ok
    assert finding.area_m2 == pytest.approx(160_000, rel=0.01)


def test_shared_edges_and_tiny_overlaps_are_not_reported():
    geoms = [rect(0, 0, 1000, 1000), rect(1000, 0, 2000, 1000), rect(1999.9995, 0, 2500, 1000)]
    report = validate_layer(geoms, ["a", "b", "c"], min_area_m2=1.0)
    assert report.by_kind("overlap") == []  # 0.0005 m x 1000 m = 0.5 m² < 1 m²


# --------------------------------------------------------------------------- gaps and parents


def test_gap_inside_parent():
    parent = {"411721001": rect(0, 0, 3000, 1000)}
    geoms = [rect(0, 0, 1000, 1000), rect(1500, 0, 3000, 1000)]
    report = validate_layer(geoms, ["411721001001", "411721001002"], parent_geoms=parent)
    [gap] = report.by_kind("gap")
    assert gap.severity == "error" and gap.codes == ("411721001",)
    assert gap.area_m2 == pytest.approx(500_000, rel=0.01)
    assert_near(gap, 1250, 500, tol_m=300)
    assert not report.ok


def test_gap_in_top_layer_outline_is_a_warning():
    # four features around an uncovered 1 km square: a hole in the layer's outline
    frame = [
        rect(0, 0, 3000, 1000),
        rect(0, 2000, 3000, 3000),
        rect(0, 1000, 1000, 2000),
        rect(2000, 1000, 3000, 2000),
    ]
    report = validate_layer(frame, ["s", "n", "w", "e"])
    [gap] = report.by_kind("gap")
    # without a parent a hole may be an enclave of another jurisdiction: a warning
    assert gap.severity == "warning" and gap.codes == ()
    assert_near(gap, 1500, 1500, tol_m=500)
    assert gap.area_m2 == pytest.approx(1_000_000, rel=0.01)
    assert report.ok


def test_child_outside_parent():
    parent = {"411721001": rect(0, 0, 2000, 1000)}
    geoms = [rect(0, 0, 1000, 1000), rect(1000, 0, 2200, 1000)]  # 200 m past the east edge
    report = validate_layer(geoms, ["411721001001", "411721001002"], parent_geoms=parent)
    [out] = report.by_kind("outside_parent")
    assert out.codes == ("411721001002", "411721001")
    assert out.area_m2 == pytest.approx(200_000, rel=0.01)
    assert_near(out, 2100, 500, tol_m=120)
    assert "16.7%" in out.message  # 200,000 of 1,200,000 m²
    assert report.by_kind("gap") == []


def test_parents_by_code_prefix_and_unknown_parent():
    parents = {"411721001": rect(0, 0, 1000, 1000), "411721002": rect(1000, 0, 2000, 1000)}
    geoms = [rect(0, 0, 1000, 1000), rect(1000, 0, 2000, 1000), rect(0, 1000, 100, 1100)]
    codes = ["411721002001", "411721001001", "411721009001"]  # first two swapped on purpose
    report = validate_layer(geoms, codes, parent_geoms=parents)
    outside = {f.codes[0] for f in report.by_kind("outside_parent")}
    assert outside == {"411721002001", "411721001001"}
    [unknown] = report.by_kind("unknown_parent")
    assert unknown.codes == ("411721009001",)
    # with an explicit mapping the same layer is clean (except the stray one)
    mapping = {"411721002001": "411721001", "411721001001": "411721002"}
    report = validate_layer(geoms[:2], codes[:2], parent_geoms=parents, parent_of=mapping)
    assert report.ok, report.to_text()


# --------------------------------------------------------------------------- slivers, codes


def test_sliver_is_reported():
    sliver = rect(0, 0, 1000, 5)  # 1000 m x 5 m
    street_block = rect(0, 100, 1000, 200)  # 1000 m x 100 m: elongated but no sliver
    report = validate_layer([sliver, street_block], ["thin", "block"], tiling=False)
    [finding] = report.by_kind("sliver")
    assert finding.codes == ("thin",) and finding.severity == "warning"
    assert finding.area_m2 == pytest.approx(5_000, rel=0.01)
    assert "mean width 5.0 m" in finding.message
    assert (
        compactness(box(0, 0, 1000, 5)) < DEFAULT_SLIVER_RATIO < compactness(box(0, 0, 1000, 100))
    )


def test_sliver_part_of_a_multipolygon():
    geom = rect(0, 0, 1000, 1000).union(rect(1100, 0, 1101, 800))  # a 1 m wide stray part
    report = validate_layer([geom], ["main"], tiling=False)
    [finding] = report.by_kind("sliver")
    assert finding.area_m2 == pytest.approx(800, rel=0.01)


def test_duplicate_and_missing_codes():
    geoms = [
        rect(0, 0, 100, 100),
        rect(100, 0, 200, 100),
        rect(200, 0, 300, 100),
        rect(0, 100, 10, 110),
    ]
    report = validate_layer(geoms, ["a", "b", "a", None])
    [dup] = report.by_kind("duplicate_code")
    assert dup.codes == ("a",) and dup.features == (0, 2)
    assert len(report.by_kind("missing_code")) == 1
    assert not report.ok


# --------------------------------------------------------------------------- report output


@pytest.fixture
def messy_report() -> ValidationReport:
    parent = {"411721001": rect(0, 0, 3000, 1000)}
    geoms = [
        rect(0, 0, 1000, 1000),
        rect(900, 0, 1900, 1000),
        Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]),  # degree-sized bowtie, far away
    ]
    return validate_layer(
        geoms, ["411721001001", "411721001002", "411721001003"], parent_geoms=parent
    )


def test_report_outputs(messy_report):
    r = messy_report
    summary = r.summary()
    assert summary["overlap"] == 1 and summary["gap"] >= 1 and summary["invalid_geometry"] == 1
    assert r.findings[0].severity == "error"  # errors first
    fc = r.to_geojson()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == len(r.findings)
    json.dumps(fc)
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert {"overlap", "gap", "invalid_geometry"} <= kinds
    overlap = next(f for f in fc["features"] if f["properties"]["kind"] == "overlap")
    assert overlap["geometry"]["type"] == "Polygon"
    assert overlap["properties"]["codes"] == ["411721001001", "411721001002"]
    text = r.to_text()
    assert text.splitlines()[0].startswith("3 features checked:")
    assert "ERROR" in text and "overlap" in text and "m²" in text
    assert "repaired geometries: 411721001003" in text


def test_length_mismatch_raises():
    from civgrid.geo.errors import GeometryError

    with pytest.raises(GeometryError, match="2 geometries but 1 codes"):
        validate_layer([rect(0, 0, 1, 1), rect(1, 0, 2, 1)], ["a"])


# --------------------------------------------------------------------------- real data


def test_real_counties_tile_their_prefecture():
    counties = io.read_features(REAL / "shangqiu_411400_counties.geojson", crs="gcj02")
    prefecture = io.read_features(REAL / "shangqiu_411400_prefecture.geojson", crs="gcj02")
    report = validate_layer(
        counties.geometries,
        counties.column("adcode"),
        parent_geoms={"4114": prefecture.geometries[0]},
    )
    assert report.ok, report.to_text()
    assert report.by_kind("overlap") == [] and report.by_kind("gap") == []

"""Chinese coordinate systems: published reference pairs, exact inverses, validation."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from civgrid.geo import crs
from civgrid.geo.errors import CoordinateError, GeoError, UnknownCRSError
from civgrid.geo.metric import Projector, metric_epsg_for

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "data" / "reference"
OFFSETS_CSV = REFERENCE / "china_offsets.csv"

# Mainland China, roughly; every point here is inside the apps' offset rectangle.
CHINA_LON = (73.6, 134.7)
CHINA_LAT = (18.2, 53.5)


def _reference_rows() -> list[dict[str, str]]:
    with OFFSETS_CSV.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


REFERENCE_ROWS = _reference_rows()


def metric_error_m(lon1, lat1, lon2, lat2) -> float:
    """Largest distance in metres between two lon/lat arrays, in a local GK zone."""
    proj = Projector(metric_epsg_for(lon1))
    x1, y1 = proj.forward(lon1, lat1)
    x2, y2 = proj.forward(lon2, lat2)
    return float(np.max(np.hypot(np.asarray(x1) - x2, np.asarray(y1) - y2)))


def _f(row: dict[str, str], key: str) -> float:
    return float(row[key])


# --------------------------------------------------------------------------- reference pairs


def test_reference_file_has_twelve_points():
    assert len(REFERENCE_ROWS) == 12


@pytest.mark.parametrize("row", REFERENCE_ROWS, ids=lambda r: r["place"])
def test_forward_conversions_match_reference_within_10cm(row):
    wlon, wlat = _f(row, "wgs84_lon"), _f(row, "wgs84_lat")
    glon, glat = _f(row, "gcj02_lon"), _f(row, "gcj02_lat")
    blon, blat = _f(row, "bd09_lon"), _f(row, "bd09_lat")

    got = crs.wgs84_to_gcj02(wlon, wlat)
    assert crs.haversine_m(*got, glon, glat) < 0.1
    assert metric_error_m(got[0], got[1], glon, glat) < 0.1

    got = crs.gcj02_to_bd09(glon, glat)
    assert crs.haversine_m(*got, blon, blat) < 0.1

    got = crs.wgs84_to_bd09(wlon, wlat)
    assert crs.haversine_m(*got, blon, blat) < 0.1

    # the generic entry points agree
    assert crs.from_wgs84(wlon, wlat, "GCJ-02") == crs.wgs84_to_gcj02(wlon, wlat)
    assert crs.haversine_m(*crs.to_wgs84(blon, blat, "bd09ll"), wlon, wlat) < 0.1


def test_forward_vectorized_matches_reference():
    w = np.array([[_f(r, "wgs84_lon"), _f(r, "wgs84_lat")] for r in REFERENCE_ROWS])
    g = np.array([[_f(r, "gcj02_lon"), _f(r, "gcj02_lat")] for r in REFERENCE_ROWS])
    b = np.array([[_f(r, "bd09_lon"), _f(r, "bd09_lat")] for r in REFERENCE_ROWS])
    glon, glat = crs.wgs84_to_gcj02(w[:, 0], w[:, 1])
    assert glon.shape == (12,)
    assert np.max(crs.haversine_m(glon, glat, g[:, 0], g[:, 1])) < 0.1
    blon, blat = crs.wgs84_to_bd09(w[:, 0], w[:, 1])
    assert np.max(crs.haversine_m(blon, blat, b[:, 0], b[:, 1])) < 0.1
    # inverses recover WGS84 from the published GCJ-02 / BD-09 values
    wlon, wlat = crs.gcj02_to_wgs84(g[:, 0], g[:, 1])
    assert np.max(crs.haversine_m(wlon, wlat, w[:, 0], w[:, 1])) < 0.1
    wlon, wlat = crs.bd09_to_wgs84(b[:, 0], b[:, 1])
    assert np.max(crs.haversine_m(wlon, wlat, w[:, 0], w[:, 1])) < 0.1


def test_offset_in_henan_is_500_to_600_m():
    row = next(r for r in REFERENCE_ROWS if r["place"] == "Sheqi county town")
    g = crs.wgs84_to_gcj02(_f(row, "wgs84_lon"), _f(row, "wgs84_lat"))
    assert 500 < crs.haversine_m(_f(row, "wgs84_lon"), _f(row, "wgs84_lat"), *g) < 650


# --------------------------------------------------------------------------- round trips


@pytest.fixture(scope="module")
def random_china_points():
    rng = np.random.default_rng(20261123)
    lon = rng.uniform(*CHINA_LON, 10_000)
    lat = rng.uniform(*CHINA_LAT, 10_000)
    return lon, lat


def test_gcj02_round_trip_10k_points(random_china_points, record_property):
    lon, lat = random_china_points
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert np.min(crs.haversine_m(lon, lat, glon, glat)) > 1.0  # really shifted
    back_lon, back_lat = crs.gcj02_to_wgs84(glon, glat)
    err = crs.haversine_m(lon, lat, back_lon, back_lat)
    max_err = float(np.max(err))
    record_property("gcj02_round_trip_max_error_m", max_err)
    print(f"gcj02 round trip over 10k points: max error {max_err:.3e} m")
    assert max_err < 0.5
    assert max_err < 1e-3  # the iteration is in fact exact to well under a millimetre


def test_bd09_round_trip_10k_points(random_china_points, record_property):
    lon, lat = random_china_points
    blon, blat = crs.wgs84_to_bd09(lon, lat)
    back_lon, back_lat = crs.bd09_to_wgs84(blon, blat)
    max_err = float(np.max(crs.haversine_m(lon, lat, back_lon, back_lat)))
    record_property("bd09_round_trip_max_error_m", max_err)
    print(f"bd09 round trip over 10k points: max error {max_err:.3e} m")
    assert max_err < 0.5
    # and the GCJ-02 <-> BD-09 step alone
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    g2 = crs.bd09_to_gcj02(*crs.gcj02_to_bd09(glon, glat))
    assert float(np.max(crs.haversine_m(glon, glat, *g2))) < 0.5


def test_iterative_inverse_beats_the_rough_published_one(random_china_points):
    lon, lat = random_china_points
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    # the one-step published inverse: subtract the offset computed at the GCJ-02 point
    o_lon, o_lat = crs.wgs84_to_gcj02(glon, glat)
    one_step = (glon - (o_lon - glon), glat - (o_lat - glat))
    rough_err = float(np.max(crs.haversine_m(lon, lat, *one_step)))
    exact_err = float(np.max(crs.haversine_m(lon, lat, *crs.gcj02_to_wgs84(glon, glat))))
    assert rough_err > 0.5  # the rough inverse is off by metres somewhere in China
    assert exact_err < 1e-3


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(min_value=CHINA_LON[0], max_value=CHINA_LON[1]),
    lat=st.floats(min_value=CHINA_LAT[0], max_value=CHINA_LAT[1]),
    system=st.sampled_from(["gcj02", "bd09", "wgs84", "cgcs2000"]),
)
def test_round_trip_property(lon, lat, system):
    there = crs.from_wgs84(lon, lat, system)
    back = crs.to_wgs84(*there, system)
    assert crs.haversine_m(lon, lat, *back) < 0.5
    # converting from the other side is also exact
    rev = crs.from_wgs84(*crs.to_wgs84(lon, lat, system), system)
    assert crs.haversine_m(lon, lat, *rev) < 0.5


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(min_value=-180, max_value=180),
    lat=st.floats(min_value=-90, max_value=90),
)
def test_round_trip_property_worldwide(lon, lat):
    # Within ~0.02 degrees of the apps' rectangle edge the offset can move a point across
    # it (no inverse exists there, as in the apps); those edges lie in sea or desert.
    edge = 0.05
    assume(not any(abs(lon - e) < edge for e in (72.004, 137.8347)))
    assume(not any(abs(lat - e) < edge for e in (0.8293, 55.8271)))
    for system in ("gcj02", "bd09"):
        back = crs.to_wgs84(*crs.from_wgs84(lon, lat, system), system)
        assert crs.haversine_m(lon, lat, *back) < 0.5


# --------------------------------------------------------------------------- outside China


@pytest.mark.parametrize(
    ("lon", "lat"),
    [(2.3522, 48.8566), (-74.006, 40.7128), (139.6917, 35.6895), (151.2093, -33.8688)],
    ids=["paris", "new-york", "tokyo", "sydney"],
)
def test_no_offset_outside_china_both_ways(lon, lat):
    for fn in (
        crs.wgs84_to_gcj02,
        crs.gcj02_to_wgs84,
        crs.gcj02_to_bd09,
        crs.bd09_to_gcj02,
        crs.wgs84_to_bd09,
        crs.bd09_to_wgs84,
    ):
        assert fn(lon, lat) == (lon, lat), fn.__name__
    assert crs.out_of_china(lon, lat)


def test_mixed_array_only_shifts_points_in_china():
    lon = np.array([2.3522, 115.6564, np.nan])
    lat = np.array([48.8566, 34.4145, 34.0])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    assert (glon[0], glat[0]) == (lon[0], lat[0])
    assert crs.haversine_m(lon[1], lat[1], glon[1], glat[1]) > 500
    assert np.isnan(glon[2])
    wlon, wlat = crs.gcj02_to_wgs84(glon, glat)
    assert np.allclose(wlon[:2], lon[:2], atol=1e-9) and np.allclose(wlat, lat, atol=1e-9)


def test_shapes_are_preserved():
    lon = np.full((3, 4), 115.6)
    lat = np.full((3, 4), 34.4)
    for fn in (crs.wgs84_to_gcj02, crs.gcj02_to_wgs84, crs.wgs84_to_bd09, crs.bd09_to_wgs84):
        a, b = fn(lon, lat)
        assert a.shape == (3, 4) and b.shape == (3, 4)
    a, b = crs.to_wgs84(115.6, 34.4, "gcj02")
    assert isinstance(a, float) and isinstance(b, float)


def test_cgcs2000_is_wgs84():
    assert crs.to_wgs84(115.6, 34.4, "EPSG:4490") == (115.6, 34.4)
    assert crs.from_wgs84(115.6, 34.4, "cgcs2000") == (115.6, 34.4)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wgs84", "wgs84"),
        ("WGS-84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("4326", "wgs84"),
        (4326, "wgs84"),
        ("CRS84", "wgs84"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "wgs84"),
        ("EPSG:4490", "cgcs2000"),
        ("CGCS2000", "cgcs2000"),
        (4490, "cgcs2000"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("gcj_02", "gcj02"),
        ("amap", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("bd09ll", "bd09"),
        ("Baidu", "bd09"),
    ],
)
def test_normalize_crs_aliases(name, expected):
    assert crs.normalize_crs(name) == expected


@pytest.mark.parametrize("name", ["EPSG:3857", "bd09mc", "utm50", "", None, 3.5, "gcj03"])
def test_unknown_crs_raises(name):
    with pytest.raises(UnknownCRSError) as info:
        crs.normalize_crs(name)
    assert isinstance(info.value, GeoError) and isinstance(info.value, ValueError)
    with pytest.raises(UnknownCRSError):
        crs.to_wgs84(115.6, 34.4, name)


def test_unknown_crs_message_lists_the_known_names():
    with pytest.raises(UnknownCRSError, match="gcj02") as info:
        crs.normalize_crs("mercator")
    assert info.value.to_dict()["code"] == "unknown_crs"


# --------------------------------------------------------------------------- validation


def test_check_lonlat_accepts_good_points():
    crs.check_lonlat([115.65, 115.15], [34.41, 34.65])
    crs.check_lonlat(115.65, 34.41)
    assert crs.diagnose_lonlat([115.65], [34.41]) == []


def test_nan_names_row_and_field():
    lon = [115.6, 115.7, np.nan, 115.8]
    lat = [34.4, 34.5, 34.6, np.inf]
    with pytest.raises(CoordinateError) as info:
        crs.check_lonlat(lon, lat)
    err = info.value
    assert err.row == 2 and err.field == "lon"
    assert str(err).startswith("row 2, field 'lon': not a number (NaN)")
    assert [p["row"] for p in err.problems] == [2, 3]
    assert err.problems[1]["field"] == "lat" and err.problems[1]["problem"] == "not_finite"
    d = err.to_dict()
    assert d["row"] == 2 and d["problems"][0]["lon"] is None  # NaN becomes JSON null


def test_swapped_is_detected_with_row():
    lon = [115.65, 115.15, 34.41]
    lat = [34.41, 34.65, 115.65]
    with pytest.raises(CoordinateError, match="swapped") as info:
        crs.check_lonlat(lon, lat, lon_name="经度", lat_name="纬度")
    assert info.value.row == 2
    assert "经度=34.41" in str(info.value)
    assert crs.diagnose_lonlat(lon, lat)[0]["problem"] == "swapped"


def test_out_of_range_names_row_and_field():
    with pytest.raises(CoordinateError) as info:
        crs.check_lonlat([115.0, 200.0], [34.0, 34.0])
    assert (info.value.row, info.value.field) == (1, "lon")
    assert "not in [-180, 180]" in str(info.value)
    with pytest.raises(CoordinateError) as info:
        crs.check_lonlat([115.0, 10.0, 115.0], [34.0, 34.0, -95.0])
    assert (info.value.row, info.value.field) == (2, "lat")


def test_far_outside_jurisdiction_reports_distance():
    bounds = (114.8269, 33.7082, 116.6516, 34.8607)  # Shangqiu prefecture
    lon = [115.6, 116.66, 113.0]  # row 1 is ~700 m east, row 2 ~170 km west
    lat = [34.4, 34.4, 34.4]
    problems = crs.diagnose_lonlat(lon, lat, bounds=bounds, max_outside_m=2_000)
    assert [p["row"] for p in problems] == [2]
    assert problems[0]["problem"] == "outside_bounds"
    assert 160_000 < problems[0]["distance_m"] < 180_000
    with pytest.raises(CoordinateError, match=r"m outside the jurisdiction") as info:
        crs.check_lonlat(lon, lat, bounds=bounds, max_outside_m=2_000, what="issue location")
    assert info.value.row == 2
    # without tolerance the 700 m one is reported too
    rows = [p["row"] for p in crs.diagnose_lonlat(lon, lat, bounds=bounds)]
    assert rows == [1, 2]


def test_diagnose_reports_every_problem_row():
    lon = [np.nan, 115.0, 34.4, 500.0, 115.0]
    lat = [34.0, 34.0, 115.0, 34.0, 34.0]
    problems = crs.diagnose_lonlat(lon, lat)
    assert [(p["row"], p["problem"]) for p in problems] == [
        (0, "not_finite"),
        (2, "swapped"),
        (3, "out_of_range"),
    ]


def test_haversine_sanity():
    # one degree of latitude is about 111.2 km
    assert math.isclose(crs.haversine_m(115.0, 34.0, 115.0, 35.0), 111_195, rel_tol=1e-3)
